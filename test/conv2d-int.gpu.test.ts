/**
 * Integer conv2d / depthwise on WebGPU against the CPU reference: bit-exact,
 * zero mismatches, over seeded random layers, adversarial extremes and every
 * requantization rule.
 */
import { describe, expect, it } from 'vitest';
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { conv2dIntCpu } from '../src/cpu/conv2d-int.js';
import { Prng } from '../src/data/prng.js';
import { conv2dIntGpu } from '../src/gpu/kernels/conv2d-int.js';
import { convGeometry, type Conv2dOptions } from '../src/layers/conv-geometry.js';
import type { IntConvSpec, RequantRule } from '../src/layers/int-conv-spec.js';
import { intConvSpec, planConvQuant, tensorRange, type QuantConfig } from '../src/quant/layer.js';
import { quantizeTensor } from '../src/quant/scheme.js';
import { f32 } from '../src/tensor.js';
import { randomTensor, useGpu } from './helpers.js';

function diffReport(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): string[] {
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad.push(`[${i}] gpu ${a[i]} cpu ${b[i]}`);
  return bad.length <= 10 ? bad : [...bad.slice(0, 5), `... ${bad.length - 10} more ...`, ...bad.slice(-5)];
}

interface LayerCase {
  seed: number;
  depthwise: boolean;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: [number, number];
  opts: Conv2dOptions;
  cfg: QuantConfig;
}

/** A realistic spec: random float layer, calibrated on its own output, input quantized with the plan. */
function layerSpec(c: LayerCase): IntConvSpec {
  const p = new Prng(c.seed);
  const x = randomTensor(p, [1, c.cin, c.h, c.w], -2, 3);
  const w = randomTensor(p, c.depthwise ? [c.cin, 1, ...c.k] : [c.cout, c.cin, ...c.k], -0.5, 0.5);
  const b = randomTensor(p, [c.depthwise ? c.cin : c.cout], -0.2, 0.2);
  const y = c.depthwise
    ? null
    : conv2dCpu(x, w, b, c.opts);
  const g = convGeometry(c.cin, c.depthwise ? c.cin : c.cout, c.h, c.w, c.k[0], c.k[1], c.opts);
  // Output range: from the float conv (dense) or a generous symmetric bound (depthwise, computed by hand).
  const outRange = y ? tensorRange(y, 1) : { lo: Array(c.cin).fill(-4), hi: Array(c.cin).fill(4) };
  // Calibrate on 80 % of the range so that clipping (saturation) is exercised too.
  const shrink = (r: { lo: number[]; hi: number[] }) => ({ lo: r.lo.map((v) => v * 0.8), hi: r.hi.map((v) => v * 0.8) });
  const plan = planConvQuant(w, b, shrink(tensorRange(x, null)), shrink(outRange), c.cfg);
  const xq = Int32Array.from(quantizeTensor(x, plan.input).data);
  return intConvSpec(plan, g, c.depthwise, xq);
}

const CONFIGS: QuantConfig[] = [
  { scheme: 'q8' },
  { scheme: 'q8', scaleType: 'pow2', granularity: 'tensor' },
  { scheme: 'q16' },
  { scheme: 'q16', scaleType: 'linear' },
  { scheme: 'q16', rounding: 'half_away', granularity: 'tensor' },
];

const SHAPES: Omit<LayerCase, 'cfg' | 'seed'>[] = [
  { depthwise: false, cin: 1, cout: 1, h: 1, w: 1, k: [1, 1], opts: {} },
  { depthwise: false, cin: 3, cout: 5, h: 7, w: 13, k: [3, 3], opts: { padding: 'same' } },
  { depthwise: false, cin: 4, cout: 6, h: 9, w: 11, k: [3, 5], opts: { padding: [1, 2, 0, 3], stride: [2, 1], dilation: [1, 2] } },
  { depthwise: true, cin: 6, cout: 6, h: 13, w: 7, k: [3, 3], opts: { padding: 'same', stride: 2 } },
  { depthwise: true, cin: 5, cout: 5, h: 16, w: 15, k: [5, 5], opts: { padding: 'valid', dilation: 2 } },
];

describe('integer conv2d / depthwise: GPU bit-exact with the CPU reference', () => {
  const gpu = useGpu();
  let seed = 100;
  for (const cfg of CONFIGS) {
    for (const shape of SHAPES) {
      const c: LayerCase = { ...shape, cfg, seed: seed++ };
      const name = `seed ${c.seed}: ${JSON.stringify(cfg)} ${c.depthwise ? 'depthwise' : 'conv2d'} ${c.cin}->${c.cout} ${c.h}x${c.w} k${c.k.join('x')} ${JSON.stringify(c.opts)}`;
      it(name, async () => {
        const spec = layerSpec(c);
        const want = conv2dIntCpu(spec);
        const got = await conv2dIntGpu(gpu(), spec);
        expect(diffReport(got.acc, want.acc), 'accumulators').toEqual([]);
        expect(diffReport(got.q, want.q), 'requantized outputs').toEqual([]);
        // Not trivially constant: the quantized output uses many levels.
        expect(new Set(want.q).size).toBeGreaterThan(Math.min(want.q.length, 3) - 1);
      });
    }
  }

  // Q8 dense has two arithmetic paths (packed dot products on hardware, exact f32 chunks on software
  // adapters) and two dot products (the built-in and shifts and masks): every combination, bit-exact.
  for (const [path, emulateDot4] of [['dot4', false], ['dot4', true], ['f32', false]] as const) {
    it(`seed 150: Q8 dense through the ${path} path${path === 'dot4' ? (emulateDot4 ? ' (emulated dot product)' : ' (built-in dot product)') : ''} is bit-exact`, async () => {
      const shapes: Omit<LayerCase, 'seed' | 'cfg'>[] = [
        { depthwise: false, cin: 5, cout: 11, h: 37, w: 70, k: [3, 3], opts: { padding: [2, 0, 1, 3] } },
        { depthwise: false, cin: 4, cout: 6, h: 9, w: 11, k: [3, 5], opts: { padding: [1, 2, 0, 3], stride: [2, 1], dilation: [1, 2] } },
        // 70 input channels x 3x3 = 18 taps of 4 channels ... and 630 terms: several f32 chunks of 64 taps.
        { depthwise: false, cin: 70, cout: 9, h: 12, w: 10, k: [3, 3], opts: { padding: 'same' } },
      ];
      for (const [i, shape] of shapes.entries()) {
        for (const cfg of [{ scheme: 'q8' }, { scheme: 'q8', scaleType: 'pow2', granularity: 'tensor' }] as QuantConfig[]) {
          const spec = layerSpec({ ...shape, cfg, seed: 150 + i });
          const want = conv2dIntCpu(spec);
          const got = await conv2dIntGpu(gpu(), spec, { q8Path: path, emulateDot4 });
          expect(diffReport(got.acc, want.acc), `shape ${i} ${JSON.stringify(cfg)}: accumulators`).toEqual([]);
          expect(diffReport(got.q, want.q), `shape ${i} ${JSON.stringify(cfg)}: outputs`).toEqual([]);
        }
      }
    });
  }

  it('seed 160: a Q16 reduction of 1,152 terms (five exact 32-bit chunks) with zero points is bit-exact', async () => {
    const spec = layerSpec({ seed: 160, depthwise: false, cin: 128, cout: 10, h: 9, w: 13, k: [3, 3], opts: { padding: 'same' }, cfg: { scheme: 'q16', scaleType: 'linear' } });
    spec.inputZero = 3;
    spec.weightZero = spec.weightZero.map((_, i) => (i % 3) - 1);
    const want = conv2dIntCpu(spec);
    const got = await conv2dIntGpu(gpu(), spec);
    expect(diffReport(got.acc, want.acc)).toEqual([]);
    expect(diffReport(got.q, want.q)).toEqual([]);
  });

  it('seed 200: a 224x224 Q8 conv and a 512x512 Q16 depthwise are bit-exact', async () => {
    for (const c of [
      { seed: 200, depthwise: false, cin: 3, cout: 4, h: 224, w: 224, k: [3, 3], opts: { padding: 'same' }, cfg: { scheme: 'q8' } },
      { seed: 201, depthwise: true, cin: 2, cout: 2, h: 512, w: 512, k: [3, 3], opts: { padding: 'same' }, cfg: { scheme: 'q16' } },
    ] as LayerCase[]) {
      const spec = layerSpec(c);
      const want = conv2dIntCpu(spec);
      const got = await conv2dIntGpu(gpu(), spec);
      expect(diffReport(got.q, want.q)).toEqual([]);
      expect(diffReport(got.acc, want.acc)).toEqual([]);
    }
  });

  /** Every operand at its extreme: the accumulator reaches its largest magnitude. */
  function extremeSpec(bits: 8 | 16, rule: RequantRule, cin: number, k: number, value: number, weightValue: number, zero: number): IntConvSpec {
    const g = convGeometry(cin, 2, 6, 6, k, k, { padding: 'valid' });
    return {
      bits, geometry: g, depthwise: false,
      input: new Int32Array(cin * 36).fill(value), inputZero: zero,
      weight: new Int32Array(2 * cin * k * k).fill(weightValue), weightZero: new Int32Array([zero, 255 - zero]),
      bias: new BigInt64Array([bits === 8 ? 1000n : -(1n << 40n), bits === 8 ? -1000n : (1n << 40n) + 1n]),
      rule, multiplier: new Int32Array([1 << 30, 2147483647]), shift: new Int32Array(rule === 'pow2' ? [30, 20] : [-20, -31]),
      outZero: new Int32Array(bits === 8 ? [128, 0] : [0, 0]),
      qmin: bits === 8 ? 0 : -32768, qmax: bits === 8 ? 255 : 32767, rounding: 'half_even',
    };
  }

  it('adversarial: int16 operands all -32768 over a 64 x 5x5 kernel (Q16, both rules)', async () => {
    for (const rule of ['pow2', 'linear64'] as const) {
      // n = 1600 products of 2^30 each: 2^40.6, far past int32, exact in the 64-bit accumulator.
      const spec = extremeSpec(16, rule, 64, 5, -32768, -32768, 0);
      if (rule === 'linear64') spec.bias = new BigInt64Array([0n, 1n]);
      const want = conv2dIntCpu(spec);
      const got = await conv2dIntGpu(gpu(), spec);
      expect(want.acc[0]).toBe(1600n * (1n << 30n) + spec.bias[0]);
      expect(diffReport(got.acc, want.acc)).toEqual([]);
      expect(diffReport(got.q, want.q)).toEqual([]);
    }
  });

  it('adversarial: uint8 operands at 0 and 255 with zero points at the far end (Q8)', async () => {
    // (0 - 255) * (255 - 0): every term is -65025 for channel 0; n = 32 * 3 * 3 = 288.
    const spec = extremeSpec(8, 'gemmlowp', 32, 3, 0, 255, 255);
    spec.weightZero = new Int32Array([0, 255]);
    const want = conv2dIntCpu(spec);
    const got = await conv2dIntGpu(gpu(), spec);
    expect(want.acc[0]).toBe(BigInt(288 * -65025 + 1000));
    expect(diffReport(got.acc, want.acc)).toEqual([]);
    expect(diffReport(got.q, want.q)).toEqual([]);
  });

  it('refuses a Q8 reduction that could overflow int32, naming the bound', async () => {
    const spec = extremeSpec(8, 'gemmlowp', 4000, 3, 0, 255, 255); // n = 36,000 > 33,025
    expect(() => conv2dIntCpu(spec)).toThrow(/beyond the exact int32 accumulator/);
    await expect(conv2dIntGpu(gpu(), spec)).rejects.toThrow(/beyond the exact int32 accumulator/);
  });

  it('quantized zero maps to exactly zero: an all-zero input gives bias-only accumulators', () => {
    const c: LayerCase = { seed: 300, depthwise: false, cin: 2, cout: 3, h: 5, w: 5, k: [3, 3], opts: { padding: 'same' }, cfg: { scheme: 'q8' } };
    const spec = layerSpec(c);
    const zeroInput = quantizeTensor(f32([1, 2, 5, 5]), planConvQuant(
      randomTensor(new Prng(1), [3, 2, 3, 3]), undefined, { lo: [-1], hi: [1] }, { lo: [-1, -1, -1], hi: [1, 1, 1] }, { scheme: 'q8' },
    ).input);
    expect(new Set(zeroInput.data)).toEqual(new Set([spec.inputZero === 0 ? 0 : zeroInput.data[0]]));
    const r = conv2dIntCpu({ ...spec, input: new Int32Array(50).fill(spec.inputZero) });
    for (let co = 0; co < 3; co++) expect(r.acc[co * 25 + 12]).toBe(spec.bias[co]);
  });
});
