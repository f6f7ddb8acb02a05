/**
 * Every shader reflects, every compute entry point compiles on the device,
 * and every entry point is dispatched by its host code with exactly the
 * bindings the shader declares (GpuBatch.dispatch refuses a missing or an
 * unknown binding; here we check each entry point is reached and matches).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { conv2dIntCpu } from '../src/cpu/conv2d-int.js';
import { Prng } from '../src/data/prng.js';
import { GpuBatch, type DispatchSpec, type Kernel, type ShaderSource } from '../src/gpu/context.js';
import { ACCUMULATE_SHADER, CONV2D_SHADER, conv2dGpu } from '../src/gpu/kernels/conv2d.js';
import { createGpu } from '../src/gpu/context.js';
import { CONV2D_INT_SHADER, conv2dIntGpu } from '../src/gpu/kernels/conv2d-int.js';
import { DEPTHWISE_SHADER, depthwiseConv2dGpu } from '../src/gpu/kernels/depthwise-conv2d.js';
import { LSTM_SHADER, lstmGpu } from '../src/gpu/kernels/lstm.js';
import { LSTM_INT_SHADER, lstmIntGpu } from '../src/gpu/kernels/lstm-int.js';
import { computeMetricsGpu, METRICS_SHADER } from '../src/gpu/kernels/metrics.js';
import { dequantizeGpu, minMaxGpu, QUANTIZE_SHADER, quantizeGpu } from '../src/gpu/kernels/quantize.js';
import { reflectShader } from '../src/gpu/reflect.js';
import { convGeometry } from '../src/layers/conv-geometry.js';
import { intConvSpec, planConvQuant } from '../src/quant/layer.js';
import { intLstmSpec, planLstmQuant, quantizeLstmInput } from '../src/quant/lstm-layer.js';
import { quantParamsFromRanges, quantizeTensor } from '../src/quant/scheme.js';
import { randomTensor, useGpu } from './helpers.js';

/** Every kernel shader the host ships; int64.wgsl and requant.wgsl are libraries compiled into the integer ones. */
const SHADERS: Record<string, ShaderSource> = {
  'conv2d.wgsl': CONV2D_SHADER,
  'accumulate.wgsl': ACCUMULATE_SHADER,
  'depthwise-conv2d.wgsl': DEPTHWISE_SHADER,
  'lstm.wgsl': LSTM_SHADER,
  'conv2d-int.wgsl': CONV2D_INT_SHADER,
  'lstm-int.wgsl': LSTM_INT_SHADER,
  'quantize.wgsl': QUANTIZE_SHADER,
  'metrics.wgsl': METRICS_SHADER,
};
const LIBRARIES = ['int64.wgsl', 'requant.wgsl', 'row-block.wgsl', 'dot4-native.wgsl', 'dot4-emulated.wgsl'];

describe('shaders', () => {
  const gpu = useGpu();
  const dispatched = new Map<string, Set<string>>();

  it('every file in shaders/ is a kernel the host ships or a library', () => {
    const files = readdirSync(fileURLToPath(new URL('../shaders', import.meta.url))).filter((f) => f.endsWith('.wgsl')).sort();
    expect(files).toEqual([...Object.keys(SHADERS), ...LIBRARIES].sort());
  });

  for (const [file, shader] of Object.entries(SHADERS)) {
    it(`${file} reflects, and each entry point compiles with its reflected layout`, async () => {
      const r = reflectShader(shader.code, shader.label);
      expect(r.entryPoints.length).toBeGreaterThan(0);
      for (const e of r.entryPoints) {
        const bindings = r.bindings.filter((b) => e.uses.includes(b.name));
        expect(bindings.filter((b) => b.kind === 'uniform').length, `${file}:${e.name} has at most one uniform`).toBeLessThanOrEqual(1);
        expect(bindings.length).toBeLessThanOrEqual(gpu().limits.maxStorageBuffersPerShaderStage + 1);
        gpu().device.pushErrorScope('validation');
        const k = gpu().kernel(shader, e.name);
        const err = await gpu().device.popErrorScope();
        expect(err?.message, `${file}:${e.name}`).toBeUndefined();
        expect(k.bindings.map((b) => b.name).sort()).toEqual(bindings.map((b) => b.name).sort());
      }
    });
  }

  it('every entry point is dispatched by its host code with exactly its bindings', async () => {
    const original = GpuBatch.prototype.dispatch;
    GpuBatch.prototype.dispatch = function (kernel: Kernel, spec: DispatchSpec) {
      const declared = kernel.bindings.filter((b) => b.kind !== 'uniform').map((b) => b.name).sort();
      expect(Object.keys(spec.buffers).sort(), kernel.label).toEqual(declared);
      const [shader, entry] = kernel.label.split('/');
      if (!dispatched.has(shader)) dispatched.set(shader, new Set());
      dispatched.get(shader)!.add(entry);
      return original.call(this, kernel, spec);
    };
    try {
      const ctx = gpu();
      const p = new Prng(50);
      const x = randomTensor(p, [1, 2, 6, 5]);
      await conv2dGpu(ctx, x, randomTensor(p, [3, 2, 3, 3]), randomTensor(p, [3]), { padding: 'same' });
      await depthwiseConv2dGpu(ctx, x, randomTensor(p, [2, 1, 3, 3]));
      const lstm = { input: randomTensor(p, [3, 4]), weightIh: randomTensor(p, [8, 4]), weightHh: randomTensor(p, [8, 2]) };
      await lstmGpu(ctx, lstm);
      const w = randomTensor(p, [3, 2, 3, 3]);
      const plan = planConvQuant(w, undefined, { lo: [-1], hi: [1] }, { lo: [-2, -2, -2], hi: [2, 2, 2] }, { scheme: 'q16' });
      const g = convGeometry(2, 3, 6, 5, 3, 3, { padding: 'same' });
      const spec = intConvSpec(plan, g, false, Int32Array.from(quantizeTensor(x, plan.input).data));
      expect((await conv2dIntGpu(ctx, spec)).q).toEqual(conv2dIntCpu(spec).q);
      const lplan = planLstmQuant(lstm, { input: { lo: [-1], hi: [1] }, hidden: { lo: [-1], hi: [1] } }, { scheme: 'q8' });
      await lstmIntGpu(ctx, intLstmSpec(lplan, quantizeLstmInput(lplan, lstm.input)));
      const qp = quantParamsFromRanges({ lo: [-1, -1], hi: [1, 1] }, 1, { scheme: 'q8' });
      await dequantizeGpu(ctx, await quantizeGpu(ctx, x, qp), qp);
      await minMaxGpu(ctx, x, 1);
      await computeMetricsGpu(ctx, x, randomTensor(p, [1, 2, 6, 5]), { outputRange: { lo: [-0.5], hi: [0.5] } });
      // An input over the binding limit: input-channel groups summed by accumulate.wgsl.
      const small = await createGpu({ maxStorageBindingBytes: 64 * 1024 });
      try {
        await conv2dGpu(small, randomTensor(p, [1, 8, 40, 40]), randomTensor(p, [2, 8, 3, 3]), undefined, { padding: "same" });
      } finally {
        small.dispose();
      }
    } finally {
      GpuBatch.prototype.dispatch = original;
    }
    for (const [file, shader] of Object.entries(SHADERS)) {
      const entries = reflectShader(shader.code, shader.label).entryPoints.map((e) => e.name).sort();
      expect([...(dispatched.get(shader.label) ?? [])].sort(), `${file}: entry points reached by host code`).toEqual(entries);
    }
  });
});
