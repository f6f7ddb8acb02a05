/**
 * Integer LSTM on WebGPU against the CPU reference: bit-exact (zero
 * mismatches in every h_q, the final c and the last step's accumulators) over
 * seeded random layers, every scheme / granularity / rounding, odd sizes,
 * adversarial extremes; plus the activation tables and the distance of the
 * dequantized integer LSTM from the fp32 one.
 */
import { describe, expect, it } from 'vitest';
import { lstmCpu } from '../src/cpu/lstm.js';
import { lstmIntCpu } from '../src/cpu/lstm-int.js';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import { lstmIntGpu, type LstmIntGpuOptions } from '../src/gpu/kernels/lstm-int.js';
import type { LstmInputs } from '../src/layers/lstm-shape.js';
import { tensorRange, type QuantConfig } from '../src/quant/layer.js';
import {
  cellToFloat,
  dequantizeLstmOutput,
  intLstmSpec,
  lstmLuts,
  planLstmQuant,
  quantizeLstmInput,
  type IntLstmResult,
  type IntLstmSpec,
  type LstmQuantPlan,
} from '../src/quant/lstm-layer.js';
import { roundHalfEven } from '../src/quant/rounding.js';
import { f32 } from '../src/tensor.js';
import { randomTensor, useGpu } from './helpers.js';
import { INT_LSTM_Q16_GATE_STEPS, INT_LSTM_Q8_H_STEPS } from './tolerance.js';

function diffReport(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): string[] {
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad.push(`[${i}] gpu ${a[i]} cpu ${b[i]}`);
  if (a.length !== b.length) bad.push(`length gpu ${a.length} cpu ${b.length}`);
  return bad.length <= 10 ? bad : [...bad.slice(0, 5), `... ${bad.length - 10} more ...`, ...bad.slice(-5)];
}

function expectSame(got: IntLstmResult, want: IntLstmResult, H: number): void {
  const at = (i: number) => `t ${Math.floor(i / H)} unit ${i % H}`;
  const hBad = diffReport(got.hq, want.hq).map((s) => s.replace(/^\[(\d+)\]/, (_, i) => `[${i}: ${at(Number(i))}]`));
  expect(hBad, 'hidden states h_q').toEqual([]);
  expect(diffReport(got.c, want.c), 'final cell state c (Q11.20)').toEqual([]);
  expect(diffReport(got.accX, want.accX), 'last-step input-side accumulators (row = gate * H + unit)').toEqual([]);
  expect(diffReport(got.accH, want.accH), 'last-step recurrent accumulators (row = gate * H + unit)').toEqual([]);
}

interface LayerCase {
  seed: number;
  T: number;
  I: number;
  H: number;
  cfg: QuantConfig;
  /** Half-width of the uniform weight distribution; default PyTorch's 1/sqrt(H). */
  weightScale?: number;
  state?: boolean;
}

function makeArgs(c: LayerCase): LstmInputs {
  const p = new Prng(c.seed);
  const k = c.weightScale ?? 1 / Math.sqrt(c.H);
  const args: LstmInputs = {
    input: randomTensor(p, [c.T, c.I], -1, 1),
    weightIh: randomTensor(p, [4 * c.H, c.I], -k, k),
    weightHh: randomTensor(p, [4 * c.H, c.H], -k, k),
    biasIh: randomTensor(p, [4 * c.H], -k, k),
    biasHh: randomTensor(p, [4 * c.H], -k, k),
  };
  if (c.state) {
    args.h0 = randomTensor(p, [c.H], -0.5, 0.5);
    args.c0 = randomTensor(p, [c.H], -2, 2);
  }
  return args;
}

/**
 * Plan from ranges calibrated on the fp32 layer itself (the hidden range covers
 * h0 and every output), scaled by `shrink` (< 1 exercises clipping).
 */
function planFor(args: LstmInputs, cfg: QuantConfig, shrink = 1): LstmQuantPlan {
  const y = tensorRange(lstmCpu(args).output, null);
  const h0 = args.h0 ? tensorRange(args.h0, null) : { lo: [0], hi: [0] };
  const hidden = { lo: [Math.min(y.lo[0], h0.lo[0]) * shrink], hi: [Math.max(y.hi[0], h0.hi[0]) * shrink] };
  const x = tensorRange(args.input, null);
  return planLstmQuant(args, { input: { lo: [x.lo[0] * shrink], hi: [x.hi[0] * shrink] }, hidden }, cfg);
}

function specFor(c: LayerCase, shrink = 0.8): { spec: IntLstmSpec; plan: LstmQuantPlan; args: LstmInputs } {
  const args = makeArgs(c);
  const plan = planFor(args, c.cfg, shrink);
  return { spec: intLstmSpec(plan, quantizeLstmInput(plan, args.input), args.h0, args.c0), plan, args };
}

const CONFIGS: QuantConfig[] = [];
for (const rounding of ['half_even', 'half_away'] as const) {
  for (const granularity of ['channel', 'tensor'] as const) {
    CONFIGS.push({ scheme: 'q8', granularity, rounding });
    CONFIGS.push({ scheme: 'q16', scaleType: 'pow2', granularity, rounding });
    CONFIGS.push({ scheme: 'q16', scaleType: 'linear', granularity, rounding });
  }
}

const SHAPES: Omit<LayerCase, 'cfg' | 'seed'>[] = [
  { T: 1, I: 4, H: 3 },
  { T: 5, I: 3, H: 7, state: true },
  // H above the 256-invocation workgroup: invocations own two units, some one.
  { T: 3, I: 5, H: 300, state: true },
];

describe('integer LSTM: GPU bit-exact with the CPU reference', () => {
  const gpu = useGpu();

  async function both(spec: IntLstmSpec, opts?: LstmIntGpuOptions): Promise<IntLstmResult> {
    const want = lstmIntCpu(spec);
    const got = await lstmIntGpu(gpu(), spec, opts);
    expectSame(got, want, spec.hiddenSize);
    return want;
  }

  let seed = 1000;
  for (const cfg of CONFIGS) {
    for (const shape of SHAPES) {
      const c: LayerCase = { ...shape, cfg, seed: seed++ };
      it(`seed ${c.seed}: ${JSON.stringify(cfg)} T=${c.T} I=${c.I} H=${c.H}${c.state ? ' with h0, c0' : ''}`, async () => {
        const { spec } = specFor(c);
        const want = await both(spec);
        // Not trivially constant: the hidden states use several levels.
        expect(new Set(want.hq).size).toBeGreaterThan(Math.min(want.hq.length, 3) - 1);
      });
    }
  }

  it('seed 2000: T=224, I=224, H=128 (Q16 pow2, per node) is bit-exact', async () => {
    const { spec } = specFor({ seed: 2000, T: 224, I: 224, H: 128, cfg: { scheme: 'q16' } });
    const want = await both(spec);
    expect(new Set(want.hq).size).toBeGreaterThan(100);
  });

  it('seed 2001: the recurrence split over dispatches of 3 steps resumes exactly (Q8, T=20, H=40)', async () => {
    const { spec } = specFor({ seed: 2001, T: 20, I: 8, H: 40, cfg: { scheme: 'q8' }, state: true });
    await both(spec, { maxStepsPerDispatch: 3 });
  });

  /** A planned spec whose operands are then replaced by their extremes. */
  function extremeSpec(cfg: QuantConfig, I: number, H: number, x: number, w: number, zero: number): IntLstmSpec {
    const { spec } = specFor({ seed: 3000, T: 4, I, H, cfg });
    const rows = 4 * H;
    const q8 = cfg.scheme === 'q8';
    return {
      ...spec,
      input: new Int32Array(4 * I).fill(x),
      inputZero: q8 ? zero : 0,
      weightIh: new Int32Array(rows * I).fill(w),
      weightIhZero: new Int32Array(rows).fill(q8 ? 255 - zero : 0),
      weightHh: Int32Array.from({ length: rows * H }, (_, i) => (i % 3 === 0 ? w : q8 ? 255 - w : -w - 1)),
      weightHhZero: Int32Array.from({ length: rows }, (_, r) => (q8 ? (r % 2 ? 0 : 255) : 0)),
      h0: new Int32Array(H).fill(q8 ? 255 - zero : x),
      hiddenZero: q8 ? zero : 0,
      c0: Int32Array.from({ length: H }, (_, j) => (j % 2 ? 2147483647 : -2147483648)),
    };
  }

  it('adversarial: Q8 operands at 0 / 255 with zero points at the far end (terms of 255^2)', async () => {
    // (0 - 255) * (255 - 0) = -65025 per input term; I = 300: |acc_x| ~ 1.95e7 plus the bias.
    const spec = extremeSpec({ scheme: 'q8' }, 300, 5, 0, 255, 255);
    const want = await both(spec);
    for (let r = 0; r < 20; r++) expect(want.accX[r]).toBe(BigInt(300 * -65025) + spec.bias[r]);
  });

  for (const scaleType of ['pow2', 'linear'] as const) {
    it(`adversarial: Q16 ${scaleType} operands all -32768 (products 2^30, sums far past int32)`, async () => {
      const spec = extremeSpec({ scheme: 'q16', scaleType, rounding: 'half_away' }, 64, 9, -32768, -32768, 0);
      const want = await both(spec);
      for (let r = 0; r < 36; r++) expect(want.accX[r]).toBe(64n * (1n << 30n) + spec.bias[r]);
    });
  }

  it('adversarial: gate saturation (weights U(-50, 50): pre-activations far beyond the Q3.12 range +-8)', async () => {
    for (const cfg of [{ scheme: 'q8' }, { scheme: 'q16' }, { scheme: 'q16', scaleType: 'linear' }] as QuantConfig[]) {
      const c: LayerCase = { seed: 3100, T: 6, I: 7, H: 11, cfg, weightScale: 50, state: true };
      const args = makeArgs(c);
      const plan = planFor(args, cfg);
      const spec = intLstmSpec(plan, quantizeLstmInput(plan, args.input), args.h0, args.c0);
      const want = await both(spec);
      // Saturation really happened: many last-step input-side accumulators are beyond +-8 in real terms.
      const sx = plan.input.scale[0];
      let beyond = 0;
      for (let r = 0; r < 4 * c.H; r++) {
        const sw = plan.weightIh.scale[plan.weightIh.scale.length === 1 ? 0 : r];
        if (Math.abs(Number(want.accX[r]) * sx * sw) > 8) beyond++;
      }
      expect(beyond, `gate pre-activations beyond +-8 (${JSON.stringify(cfg)})`).toBeGreaterThan(4 * c.H * 0.25);
    }
  });

  it('adversarial: the cell state saturates at INT32_MAX (c0 at the top of Q11.20, gates i, f, g at +8)', async () => {
    for (const cfg of [{ scheme: 'q8' }, { scheme: 'q16', rounding: 'half_away' }, { scheme: 'q16', scaleType: 'linear' }] as QuantConfig[]) {
      const c: LayerCase = { seed: 3150, T: 6, I: 7, H: 11, cfg };
      const args = makeArgs(c);
      // Unit 0: i, f and g pinned at the top of Q3.12 by their bias (the input weights add at most
      // I / sqrt(H) ~ 2.1) and no recurrent weights, so f = i = 32757 / 2^15, g = 32767 / 2^15 and
      // c = 2^31 - 1 gives f c + i g = c + about 327,000 (units of 2^-20): saturated. Others start beyond +-2048.
      for (const g of [0, 1, 2]) {
        args.biasIh!.data[g * c.H] = 100;
        args.weightHh.data.fill(0, g * c.H * c.H, (g * c.H + 1) * c.H);
      }
      args.c0 = f32([c.H], Array.from({ length: c.H }, (_, j) => (j === 0 ? 2047.9 : j % 2 ? 3000 : -3000)));
      const plan = planFor(args, cfg);
      const spec = intLstmSpec(plan, quantizeLstmInput(plan, args.input), args.h0, args.c0);
      expect([spec.c0[1], spec.c0[2]]).toEqual([2147483647, -2147483648]);
      const want = await both(spec);
      expect(want.c[0], `unit 0's cell state (${JSON.stringify(cfg)})`).toBe(2147483647);
    }
  });

  it('adversarial: a huge input side is not cancelled by a clamped recurrent side (only the sum saturates)', async () => {
    for (const cfg of [{ scheme: 'q8' }, { scheme: 'q16' }, { scheme: 'q16', scaleType: 'linear' }] as QuantConfig[]) {
      const c: LayerCase = { seed: 3160, T: 1, I: 4, H: 11, cfg };
      const args = makeArgs(c);
      // Unit 0: forget gate input side = +100 (bias), recurrent side = 11 * 0.5 * -10 = -55, sum +45: f saturates
      // at sigmoid(8) ~ 1. Input gate at -100 (i ~ 0), so c_1 = f c_0 ~ c_0. Clamping each side to +-8 before
      // the sum (TFLite's rule) would give f = sigmoid(0) = 0.5 and c_1 = c_0 / 2.
      const H = c.H;
      args.biasIh!.data[0] = -100; // i, unit 0
      args.biasIh!.data[H] = 100; // f, unit 0
      args.biasHh!.data[0] = 0;
      args.biasHh!.data[H] = 0;
      args.weightIh.data.fill(0, 0, c.I);
      args.weightIh.data.fill(0, H * c.I, (H + 1) * c.I);
      args.weightHh.data.fill(0, 0, H);
      args.weightHh.data.fill(-10, H * H, (H + 1) * H);
      args.h0 = f32([H], new Array(H).fill(0.5));
      args.c0 = f32([H], new Array(H).fill(1));
      const plan = planFor(args, cfg);
      const spec = intLstmSpec(plan, quantizeLstmInput(plan, args.input), args.h0, args.c0);
      const want = await both(spec);
      expect(cellToFloat(want.c)[0], `unit 0's cell state (${JSON.stringify(cfg)})`).toBeGreaterThan(0.99);
    }
  });

  it('adversarial: an all-zero input gives bias-only input accumulators', async () => {
    for (const cfg of [{ scheme: 'q8' }, { scheme: 'q16' }] as QuantConfig[]) {
      const c: LayerCase = { seed: 3200, T: 4, I: 6, H: 5, cfg };
      const args = makeArgs(c);
      const plan = planFor(args, cfg);
      const xq = quantizeLstmInput(plan, f32([c.T, c.I]));
      expect(new Set(xq)).toEqual(new Set([plan.input.zeroPoint[0]]));
      const want = await both(intLstmSpec(plan, xq));
      expect(Array.from(want.accX)).toEqual(Array.from(plan.biasQ));
    }
  });

  it('refuses a Q8 reduction that could overflow int32, on both paths', async () => {
    // I = 34,000 terms of up to 255^2 = 65,025: 2.2e9 > 2^31.
    const c: LayerCase = { seed: 3300, T: 1, I: 34000, H: 1, cfg: { scheme: 'q8' } };
    const args = makeArgs(c);
    const plan = planFor(args, c.cfg);
    const spec = intLstmSpec(plan, quantizeLstmInput(plan, args.input));
    expect(() => lstmIntCpu(spec)).toThrow(/input \(I terms \+ bias\) gate accumulator could reach .* beyond the exact int32 accumulator/);
    await expect(lstmIntGpu(gpu(), spec)).rejects.toThrow(InputError);
  });
});

describe('integer LSTM: planning, tables and accuracy (CPU)', () => {
  it('the activation tables: sigmoid(0) = 16384, tanh(0) = 0, monotonic, spot values', () => {
    const { sigmoid, tanh } = lstmLuts();
    expect(sigmoid.length).toBe(65536);
    expect(sigmoid[32768]).toBe(16384);
    expect(tanh[32768]).toBe(0);
    for (let i = 1; i < 65536; i++) {
      if (sigmoid[i] < sigmoid[i - 1] || tanh[i] < tanh[i - 1]) throw new Error(`table not monotonic at index ${i}`);
    }
    // Spot values from Math.tanh (an independent formula): sigmoid(x) = (1 + tanh(x / 2)) / 2.
    for (const v of [-32768, -20000, -4096, -1, 1, 409, 4096, 12288, 32767]) {
      const x = v / 4096;
      expect(sigmoid[v + 32768], `sigmoid at Q3.12 ${v}`).toBe(Math.min(roundHalfEven(((1 + Math.tanh(x / 2)) / 2) * 32768), 32767));
      expect(tanh[v + 32768], `tanh at Q3.12 ${v}`).toBe(Math.max(Math.min(roundHalfEven(Math.tanh(x) * 32768), 32767), -32768));
    }
    // The ends: sigmoid(-8) * 2^15 = 10.99, sigmoid(8 - 2^-12) * 2^15 = 32757.0, tanh(-8) -> -32768.
    expect([sigmoid[0], sigmoid[65535], tanh[0], tanh[65535]]).toEqual([11, 32757, -32768, 32767]);
    expect(lstmLuts()).toBe(lstmLuts()); // cached
  });

  it('the plan folds both biases and names a bias beyond int32', () => {
    const c: LayerCase = { seed: 4000, T: 2, I: 3, H: 2, cfg: { scheme: 'q8' } };
    const args = makeArgs(c);
    const plan = planFor(args, c.cfg);
    const r = 5;
    const sw = plan.weightIh.scale[r];
    expect(Number(plan.biasQ[r])).toBe(roundHalfEven((args.biasIh!.data[r] + args.biasHh!.data[r]) / (plan.input.scale[0] * sw)));
    args.biasHh!.data[3] = 1e9;
    expect(() => planFor(args, c.cfg)).toThrow(/lstm bias_ih \+ bias_hh \[3\] = .* beyond the int32 bias/);
    expect(() => planLstmQuant({ ...args, weightHh: f32([8, 3]) }, { input: { lo: [0], hi: [1] }, hidden: { lo: [0], hi: [1] } }, c.cfg)).toThrow(
      /lstm weight_hh must be \[4H, H\]/,
    );
    const plan2 = planFor(makeArgs(c), c.cfg);
    const xq = quantizeLstmInput(plan2, f32([2, 3]));
    expect(() => intLstmSpec(plan2, xq, f32([3]))).toThrow(/lstm h0 must have shape \[2\], got \[3\]/);
    expect(() => intLstmSpec(plan2, xq.slice(1))).toThrow(/5 values, not a non-empty multiple of the input size 3/);
    expect(() => quantizeLstmInput(plan2, f32([2, 4]))).toThrow(/lstm input must be \[T, 3\]/);
  });

  /**
   * A well-calibrated layer (PyTorch's initialisation, ranges from the data and
   * the fp32 output): the dequantized integer output against the fp32 LSTM.
   */
  for (const cfg of [
    { scheme: 'q8' },
    { scheme: 'q8', granularity: 'tensor', rounding: 'half_away' },
    { scheme: 'q16' },
    { scheme: 'q16', scaleType: 'linear', granularity: 'tensor' },
  ] as QuantConfig[]) {
    it(`seed 4100: ${JSON.stringify(cfg)} dequantized output close to fp32 (T=40, I=10, H=24)`, () => {
      const c: LayerCase = { seed: 4100, T: 40, I: 10, H: 24, cfg, state: true };
      const { plan, args, spec } = specFor(c, 1);
      const got = lstmIntCpu(spec);
      const y = dequantizeLstmOutput(plan, got.hq).data;
      const ref = lstmCpu(args);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < y.length; i++) {
        const e = Math.abs(y[i] - ref.output.data[i]);
        if (e > worst) (worst = e), (at = i);
      }
      const sH = plan.hidden.scale[0];
      const bound = cfg.scheme === 'q8' ? INT_LSTM_Q8_H_STEPS * sH : INT_LSTM_Q16_GATE_STEPS * 2 ** -12;
      expect(worst, `max |int - fp32| = ${worst} at t ${Math.floor(at / c.H)} unit ${at % c.H} (s_h = ${sH}, bound ${bound})`).toBeLessThanOrEqual(bound);
      const cWorst = Math.max(...Array.from(cellToFloat(got.c), (v, j) => Math.abs(v - ref.c.data[j])));
      expect(cWorst, `final cell state: max |c_int - c_fp32| = ${cWorst}, bound ${bound}`).toBeLessThanOrEqual(bound);
    });
  }
});
