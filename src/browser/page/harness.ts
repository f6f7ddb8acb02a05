/**
 * Test-harness page (dist/browser/harness.html): runs GPU kernels on the
 * browser's WebGPU for Node-side tests. `window.peirHarness.run(cases)` creates
 * a GpuContext, runs each case through the kernel table, disposes the context
 * and returns JSON. Adding a kernel is one entry in `KERNELS`.
 */
import { createGpu, type GpuContext } from '../../gpu/context.js';
import { conv2dGpu } from '../../gpu/kernels/conv2d.js';
import { depthwiseConv2dGpu } from '../../gpu/kernels/depthwise-conv2d.js';
import { lstmGpu } from '../../gpu/kernels/lstm.js';
import type { Conv2dOptions } from '../../layers/conv-geometry.js';
import type { Tensor } from '../../tensor.js';
import { fromJson, toJson, type HarnessRun, type KernelCase, type KernelResult, type PeirHarness } from '../harness-protocol.js';

/** A case with its tensors decoded. */
interface Operands {
  input: Tensor;
  weight: Tensor;
  bias?: Tensor;
  extra: Record<string, Tensor>;
  opts: Record<string, unknown>;
}

/** A runner returns the main output, or the main output and named secondary ones. */
type KernelRunner = (gpu: GpuContext, c: Operands) => Promise<Tensor | { output: Tensor; extra: Record<string, Tensor> }>;

function need(c: Operands, name: string): Tensor {
  const t = c.extra[name];
  if (!t) throw new Error(`missing extra.${name}`);
  return t;
}

const KERNELS: Record<string, KernelRunner> = {
  conv2d: (gpu, c) => conv2dGpu(gpu, c.input, c.weight, c.bias, c.opts as Conv2dOptions),
  'depthwise-conv2d': (gpu, c) => depthwiseConv2dGpu(gpu, c.input, c.weight, c.bias, c.opts as Conv2dOptions),
  // weight = weight_ih, bias = bias_ih; extra: weightHh (required), biasHh, h0, c0.
  lstm: async (gpu, c) => {
    const { input, weight: weightIh, bias: biasIh, extra } = c;
    const r = await lstmGpu(gpu, { input, weightIh, biasIh, weightHh: need(c, 'weightHh'), biasHh: extra.biasHh, h0: extra.h0, c0: extra.c0 });
    return { output: r.output, extra: { h: r.h, c: r.c } };
  },
};

function decode(c: KernelCase, at: string): Operands {
  const extra: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.extra ?? {})) extra[k] = fromJson(v, `${at}.extra.${k}`);
  return {
    input: fromJson(c.input, `${at}.input`),
    weight: fromJson(c.weight, `${at}.weight`),
    bias: c.bias && fromJson(c.bias, `${at}.bias`),
    extra,
    opts: c.opts ?? {},
  };
}

function encode(r: Awaited<ReturnType<KernelRunner>>): KernelResult {
  if ('shape' in r) return toJson(r);
  const extra: Record<string, ReturnType<typeof toJson>> = {};
  for (const [k, t] of Object.entries(r.extra)) extra[k] = toJson(t);
  return { ...toJson(r.output), extra };
}

async function run(cases: KernelCase[]): Promise<HarnessRun> {
  const gpu = await createGpu();
  try {
    const results: KernelResult[] = [];
    for (const [i, c] of cases.entries()) {
      const at = `case ${i} (${c.kernel})`;
      const runner = KERNELS[c.kernel];
      if (!runner) throw new Error(`${at}: unknown kernel; the harness knows ${Object.keys(KERNELS).join(', ')}`);
      try {
        results.push(encode(await runner(gpu, decode(c, at))));
      } catch (e) {
        const err = e as Error;
        throw new Error(`${at}: ${err.name}: ${err.message}`);
      }
    }
    return { adapter: gpu.adapter, results };
  } finally {
    gpu.dispose();
  }
}

const harness: PeirHarness = { kernels: Object.keys(KERNELS), run };
window.peirHarness = harness;
