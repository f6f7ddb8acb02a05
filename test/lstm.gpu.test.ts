import { describe, expect, it } from 'vitest';
import { lstmCpu } from '../src/cpu/lstm.js';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import { lstmGpu, type LstmGpuOptions } from '../src/gpu/kernels/lstm.js';
import type { LstmInputs, LstmResult } from '../src/layers/lstm-shape.js';
import { f32, type Tensor } from '../src/tensor.js';
import { lstmBadCases } from './bad-inputs.js';
import { randomTensor, useGpu } from './helpers.js';
import { compareWithBound, describeMismatches, lstmSequenceTolerance, lstmStepTolerance } from './tolerance.js';

interface Case {
  seed: number;
  T: number;
  I: number;
  H: number;
  biasIh: boolean;
  biasHh: boolean;
  h0: boolean;
  c0: boolean;
  /** Half-width of the uniform weight distribution; default PyTorch's 1/sqrt(H). */
  weightScale?: number;
  /** Compare the whole sequence with lstmSequenceTolerance (only for contracting weights, see there). */
  sequence: boolean;
  /** Steps k whose single step is compared with lstmStepTolerance from the GPU's own state. */
  stepChecks: 'ends' | 'all';
  gpuOpts?: LstmGpuOptions;
}

const CASES: Case[] = [
  { seed: 1, T: 1, I: 1, H: 1, biasIh: true, biasHh: true, h0: false, c0: false, sequence: true, stepChecks: 'ends' },
  { seed: 2, T: 1, I: 6, H: 5, biasIh: false, biasHh: false, h0: true, c0: true, sequence: true, stepChecks: 'ends' },
  { seed: 3, T: 5, I: 3, H: 7, biasIh: true, biasHh: true, h0: true, c0: true, sequence: true, stepChecks: 'all' },
  { seed: 4, T: 5, I: 3, H: 7, biasIh: false, biasHh: false, h0: false, c0: false, sequence: true, stepChecks: 'all' },
  // H not a multiple of the workgroup size (rounded up to 64 invocations).
  { seed: 5, T: 9, I: 17, H: 33, biasIh: true, biasHh: false, h0: true, c0: false, sequence: true, stepChecks: 'ends' },
  // H above the 256-invocation workgroup: invocations own two units, some one.
  { seed: 6, T: 6, I: 10, H: 300, biasIh: false, biasHh: true, h0: false, c0: true, sequence: true, stepChecks: 'ends' },
  { seed: 7, T: 3, I: 4, H: 257, biasIh: true, biasHh: true, h0: true, c0: true, sequence: true, stepChecks: 'ends' },
  // The recurrence split over dispatches of 3 steps (resuming from output[t0 - 1] and the cell state).
  { seed: 8, T: 20, I: 8, H: 40, biasIh: true, biasHh: true, h0: true, c0: true, sequence: true, stepChecks: 'ends', gpuOpts: { maxStepsPerDispatch: 3 } },
  // Large weights: pre-activations in the hundreds (exp(|x|) would overflow f32); the
  // sequence is chaotic, so only single steps are compared.
  { seed: 9, T: 8, I: 5, H: 9, biasIh: true, biasHh: true, h0: true, c0: true, weightScale: 30, sequence: false, stepChecks: 'all' },
  { seed: 10, T: 224, I: 224, H: 128, biasIh: true, biasHh: true, h0: false, c0: false, sequence: true, stepChecks: 'ends' },
];

function makeArgs(c: Case): LstmInputs {
  const p = new Prng(c.seed);
  const k = c.weightScale ?? 1 / Math.sqrt(c.H);
  const args: LstmInputs = {
    input: randomTensor(p, [c.T, c.I]),
    weightIh: randomTensor(p, [4 * c.H, c.I], -k, k),
    weightHh: randomTensor(p, [4 * c.H, c.H], -k, k),
  };
  if (c.biasIh) args.biasIh = randomTensor(p, [4 * c.H], -k, k);
  if (c.biasHh) args.biasHh = randomTensor(p, [4 * c.H], -k, k);
  if (c.h0) args.h0 = randomTensor(p, [c.H]);
  if (c.c0) args.c0 = randomTensor(p, [c.H], -2, 2);
  return args;
}

/**
 * For each unit, the largest sum of |terms| over its four gate pre-activations
 * at step t when the previous hidden state is `h` (the magnitude in dotTolerance).
 */
function gateMagnitudes(args: LstmInputs, t: number, h: Float32Array | Float64Array): Float64Array {
  const [, I] = args.input.shape;
  const H = h.length;
  const out = new Float64Array(H);
  for (let r = 0; r < 4 * H; r++) {
    let m = Math.abs(args.biasIh?.data[r] ?? 0) + Math.abs(args.biasHh?.data[r] ?? 0);
    for (let k = 0; k < I; k++) m += Math.abs(args.weightIh.data[r * I + k] * args.input.data[t * I + k]);
    for (let k = 0; k < H; k++) m += Math.abs(args.weightHh.data[r * H + k] * h[k]);
    out[r % H] = Math.max(out[r % H], m);
  }
  return out;
}

function rows(t: Tensor, from: number, to: number): Tensor {
  const cols = t.shape[1];
  return f32([to - from, cols], t.data.slice(from * cols, to * cols));
}

function expectWithin(what: string, got: Float32Array, want: Float32Array, tolAt: (i: number) => number): void {
  const bad = compareWithBound(got, want, tolAt);
  expect(bad, `${what}: ${describeMismatches(bad, got.length)}`).toHaveLength(0);
}

describe('LSTM fp32 on WebGPU vs the CPU reference', () => {
  const gpu = useGpu();
  for (const c of CASES) {
    const flags = [c.biasIh && 'bias_ih', c.biasHh && 'bias_hh', c.h0 && 'h0', c.c0 && 'c0'].filter(Boolean).join(' ') || 'no bias/state';
    const extra = `${c.weightScale ? ` weights U(±${c.weightScale})` : ''}${c.gpuOpts ? ` ${JSON.stringify(c.gpuOpts)}` : ''}`;
    it(`seed ${c.seed}: T=${c.T} I=${c.I} H=${c.H}, ${flags}${extra}`, async () => {
      const args = makeArgs(c);
      const { T, I, H } = c;
      const n = I + H + 2;
      const got = await lstmGpu(gpu(), args, c.gpuOpts);
      expect(got.output.shape).toEqual([T, H]);
      expect(got.h.shape).toEqual([H]);
      expect(got.c.shape).toEqual([H]);
      // The same f32 values, not merely close ones.
      expect(Array.from(got.h.data)).toEqual(Array.from(got.output.data.slice((T - 1) * H)));

      // 1. Single steps, started from the GPU's own state after k steps (a GPU run over
      //    the first k inputs): the bound needs no assumption about the dynamics.
      const ks = c.stepChecks === 'all' ? [...Array(T).keys()] : [...new Set([0, Math.floor(T / 2), T - 1])];
      for (const k of ks) {
        let state: { h?: Tensor; c?: Tensor } = { h: args.h0, c: args.c0 };
        if (k > 0) {
          const prefix: LstmResult = await lstmGpu(gpu(), { ...args, input: rows(args.input, 0, k) }, c.gpuOpts);
          state = { h: prefix.h, c: prefix.c };
        }
        const hIn = state.h?.data ?? new Float32Array(H);
        const cIn = state.c?.data ?? new Float32Array(H);
        const want = lstmCpu({ ...args, input: rows(args.input, k, k + 1), h0: state.h, c0: state.c });
        const mags = gateMagnitudes(args, k, hIn);
        const tol = (j: number) => lstmStepTolerance(n, mags[j], Math.abs(cIn[j]));
        expectWithin(`step ${k}, h`, got.output.data.slice(k * H, (k + 1) * H), want.h.data, (j) => tol(j).h);
        if (k === T - 1) expectWithin(`step ${k}, c`, got.c.data, want.c.data, (j) => tol(j).c);
      }

      // 2. The whole sequence against the f64 reference: per-step bounds accumulated.
      if (c.sequence) {
        const want = lstmCpu(args);
        // The magnitudes in each step's bound need the state entering the step: take it
        // from the reference run one step at a time (state rounded to f32 between steps,
        // which changes magnitudes by a relative 2^-24 at most).
        const stepBounds: number[] = [];
        let hPrev = args.h0?.data ?? new Float32Array(H);
        let cPrev = args.c0?.data ?? new Float32Array(H);
        for (let t = 0; t < T; t++) {
          const mags = gateMagnitudes(args, t, hPrev);
          let worst = 0;
          for (let j = 0; j < H; j++) {
            const b = lstmStepTolerance(n, mags[j], Math.abs(cPrev[j]));
            worst = Math.max(worst, b.h, b.c);
          }
          stepBounds.push(worst);
          const next = lstmCpu({ ...args, input: rows(args.input, t, t + 1), h0: f32([H], hPrev), c0: f32([H], cPrev) });
          hPrev = next.h.data;
          cPrev = next.c.data;
        }
        const acc = lstmSequenceTolerance(stepBounds);
        expectWithin('sequence output', got.output.data, want.output.data, (i) => acc[Math.floor(i / H)]);
        expectWithin('final c', got.c.data, want.c.data, () => acc[T - 1]);
      }
    });
  }

  for (const c of lstmBadCases()) {
    it(`rejects bad input before any GPU work: ${c.name}`, async () => {
      const before = gpu().poolStats();
      await expect(lstmGpu(gpu(), c.args)).rejects.toThrow(InputError);
      await expect(lstmGpu(gpu(), c.args)).rejects.toThrow(c.error);
      expect(gpu().poolStats().inUse).toBe(before.inUse);
    });
  }

  it('rejects a maxStepsPerDispatch that is not a positive integer', async () => {
    const args = makeArgs(CASES[2]);
    await expect(lstmGpu(gpu(), args, { maxStepsPerDispatch: 0 })).rejects.toThrow(/maxStepsPerDispatch must be a positive integer/);
  });
});
