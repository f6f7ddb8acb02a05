/**
 * CPU references against small cases worked out by hand, and the input
 * validation they share with the GPU kernels. Pure Node: no GPU.
 */
import { describe, expect, it } from 'vitest';
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { depthwiseConv2dCpu } from '../src/cpu/depthwise-conv2d.js';
import { lstmCpu } from '../src/cpu/lstm.js';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import type { LstmInputs } from '../src/layers/lstm-shape.js';
import { f32, type Tensor } from '../src/tensor.js';
import { depthwiseBadCases, lstmBadCases } from './bad-inputs.js';
import { randomTensor } from './helpers.js';
import { handCheckTolerance } from './tolerance.js';

/** Every value here is a small integer or half-integer, exact in f32: compare exactly. */
function values(t: Tensor): number[] {
  return Array.from(t.data);
}

describe('depthwise conv2d CPU reference, by hand', () => {
  // Channel 0:            Channel 1:
  //   1 2 3  kernel 1 2     1 0 -1  kernel  0 1
  //   4 5 6         3 4     2 0 -2         -1 2
  //   7 8 9                 0 1  0
  const input = f32([1, 2, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, -1, 2, 0, -2, 0, 1, 0]);
  const weight = f32([2, 1, 2, 2], [1, 2, 3, 4, 0, 1, -1, 2]);

  it('stride 1, valid padding, with bias', () => {
    // ch0: out[y][x] = 1 in[y][x] + 2 in[y][x+1] + 3 in[y+1][x] + 4 in[y+1][x+1]
    //   (0,0) 1+4+12+20 = 37   (0,1) 2+6+15+24 = 47   (1,0) 4+10+21+32 = 67   (1,1) 5+12+24+36 = 77, + bias 0.5
    // ch1: out[y][x] = in[y][x+1] - in[y+1][x] + 2 in[y+1][x+1]
    //   (0,0) 0-2+0 = -2   (0,1) -1-0-4 = -5   (1,0) 0-0+2 = 2   (1,1) -2-1+0 = -3, + bias -1
    const out = depthwiseConv2dCpu(input, weight, f32([2], [0.5, -1]));
    expect(out.shape).toEqual([1, 2, 2, 2]);
    expect(values(out)).toEqual([37.5, 47.5, 67.5, 77.5, -3, -6, 1, -4]);
  });

  it('stride 1, padding 1 on every side, no bias', () => {
    // Zero-padded to 5x5; the output is 4x4 and its centre 2x2 is the valid result above.
    // ch0 row 0 sees only input row 0 through the kernel's bottom row (3, 4):
    //   (0,0) 4*1 = 4  (0,1) 3*1+4*2 = 11  (0,2) 3*2+4*3 = 18  (0,3) 3*3 = 9
    // row 1: (1,0) 2*1+4*4 = 18 (1,3) 1*3+3*6 = 21; row 2: (2,0) 2*4+4*7 = 36 (2,3) 1*6+3*9 = 33
    // row 3 sees only input row 2 through the kernel's top row (1, 2):
    //   (3,0) 2*7 = 14  (3,1) 7+2*8 = 23  (3,2) 8+2*9 = 26  (3,3) 9
    // Check: every input pixel meets all four taps, so the sum is 10 * 45 = 450.
    // ch1 (kernel 0 1 / -1 2): row 0: 2*1 = 2, -1+0 = -1, 0+2*(-1) = -2, -(-1) = 1
    //   row 1: 1-0+4 = 5, 0-2+0 = -2, -1-0-4 = -5, 0+2+0 = 2
    //   row 2: 2-0+0 = 2, 0-0+2 = 2, -2-1+0 = -3, 0
    //   row 3 (only the kernel's top-right 1): 0, 1, 0, 0
    // Check: sum = (sum of kernel 2) * (sum of input 1) = 2.
    const out = depthwiseConv2dCpu(input, weight, undefined, { padding: 1 });
    expect(out.shape).toEqual([1, 2, 4, 4]);
    expect(values(out)).toEqual([
      4, 11, 18, 9, 18, 37, 47, 21, 36, 67, 77, 33, 14, 23, 26, 9,
      2, -1, -2, 1, 5, -2, -5, 2, 2, 2, -3, 0, 0, 1, 0, 0,
    ]);
    const sums = [0, 1].map((c) => values(out).slice(16 * c, 16 * c + 16).reduce((a, b) => a + b, 0));
    expect(sums).toEqual([450, 2]);
  });
});

describe('conv2d CPU reference, by hand', () => {
  it('stride 2, padding 1, two output channels', () => {
    // Input 4x4 = 1..16 row-major; padded to 6x6, output floor((6 - 3) / 2) + 1 = 2 per side.
    // Output (oy, ox) reads input rows 2oy-1 .. 2oy+1, columns 2ox-1 .. 2ox+1 (zero outside).
    // co0 = all-ones 3x3 (window sums): (0,0) 1+2+5+6 = 14  (0,1) 2+3+4+6+7+8 = 30
    //   (1,0) 5+6+9+10+13+14 = 57  (1,1) 6+7+8+10+11+12+14+15+16 = 99
    // co1 = +1 at the top-left tap, -1 at the bottom-right, bias 100:
    //   (0,0) 0-6 = -6 -> 94  (0,1) 0-8 = -8 -> 92  (1,0) 0-14 = -14 -> 86  (1,1) 6-16 = -10 -> 90
    const input = f32([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i + 1));
    const weight = f32([2, 1, 3, 3], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, -1]);
    const out = conv2dCpu(input, weight, f32([2], [0, 100]), { stride: 2, padding: 1 });
    expect(out.shape).toEqual([1, 2, 2, 2]);
    expect(values(out)).toEqual([14, 30, 57, 99, 94, 92, 86, 90]);
  });
});

describe('LSTM CPU reference, by hand', () => {
  it('two steps, I = 1, H = 1, with biases, h0 and c0; h and c are the last step\'s', () => {
    // Step 1: x = 2, h0 = -1, c0 = ln 3 - 0.9. Rows of the weights are the gates i, f, g, o.
    //   a_i = 0.5*2 + ln3 + 1*(-1) + 0          = ln 3  ->  i = 1 / (1 + 1/3) = 3/4
    //   a_f = 0.25*2 + 0 + 0.5*(-1) + 0         = 0     ->  f = 1/2
    //   a_g = 1*2 + ln2 + 2*(-1) + 0            = ln 2  ->  g = tanh(ln 2) = (4 - 1) / (4 + 1) = 3/5
    //   a_o = -0.5*2 + 0 + (-1)*(-1) + ln3      = ln 3  ->  o = 3/4
    //   c1 = f c0 + i g = (ln 3 - 0.9) / 2 + 9/20 = ln(3) / 2 = 0.5493061...
    //   h1 = o tanh(ln(3) / 2) = 3/4 * (3 - 1) / (3 + 1) = 3/8
    // Step 2: x = -3/4, h1 = 3/8: the gates come out the same,
    //   a_i = -3/8 + ln3 + 3/8 = ln 3, a_f = -3/16 + 3/16 = 0, a_g = -3/4 + ln2 + 3/4 = ln 2,
    //   a_o = 3/8 + 0 - 3/8 + ln3 = ln 3,
    //   c2 = c1 / 2 + 9/20 = ln(3) / 4 + 0.45 = 0.7246530...
    //   h2 = 3/4 tanh(c2) = 3/4 (e^(2 c2) - 1) / (e^(2 c2) + 1), e^(2 c2) = sqrt(3) e^0.9 = 4.2601576
    //      = 3/4 * 3.2601576 / 5.2601576 = 0.4648374...
    const ln3 = Math.log(3);
    const ln2 = Math.log(2);
    const args: LstmInputs = {
      input: f32([2, 1], [2, -0.75]),
      weightIh: f32([4, 1], [0.5, 0.25, 1, -0.5]),
      weightHh: f32([4, 1], [1, 0.5, 2, -1]),
      biasIh: f32([4], [ln3, 0, ln2, 0]),
      biasHh: f32([4], [0, 0, 0, ln3]),
      h0: f32([1], [-1]),
      c0: f32([1], [ln3 - 0.9]),
    };
    const r = lstmCpu(args);
    expect(r.output.shape).toEqual([2, 1]);
    expect(r.h.shape).toEqual([1]);
    expect(r.c.shape).toEqual([1]);
    // Every value feeding the steps, in absolute value, plus the result (see handCheckTolerance).
    const feeding = [args.input, args.weightIh, args.weightHh, args.biasIh!, args.biasHh!, args.h0!, args.c0!]
      .flatMap((t) => Array.from(t.data, Math.abs))
      .reduce((a, b) => a + b, 0);
    const e2c2 = Math.sqrt(3) * Math.exp(0.9);
    const h2 = (0.75 * (e2c2 - 1)) / (e2c2 + 1);
    const checks = [
      ['output[0][0]', r.output.data[0], 3 / 8],
      ['output[1][0]', r.output.data[1], h2],
      ['h', r.h.data[0], h2],
      ['c', r.c.data[0], ln3 / 4 + 0.45],
    ] as const;
    for (const [what, got, want] of checks) {
      const tol = handCheckTolerance(feeding + Math.abs(want));
      expect(Math.abs(got - want), `${what}: got ${got}, want ${want}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
    }
    // h is the last output row itself.
    expect(r.h.data[0]).toBe(r.output.data[1]);
  });

  it('one step, I = 1, H = 1: c after the first of the two steps above is ln(3) / 2', () => {
    const ln3 = Math.log(3);
    const args: LstmInputs = {
      input: f32([1, 1], [2]),
      weightIh: f32([4, 1], [0.5, 0.25, 1, -0.5]),
      weightHh: f32([4, 1], [1, 0.5, 2, -1]),
      biasIh: f32([4], [ln3, 0, Math.log(2), 0]),
      biasHh: f32([4], [0, 0, 0, ln3]),
      h0: f32([1], [-1]),
      c0: f32([1], [ln3 - 0.9]),
    };
    const r = lstmCpu(args);
    const feeding = Object.values(args).flatMap((t) => Array.from((t as Tensor).data, Math.abs)).reduce((a, b) => a + b, 0);
    for (const [what, got, want] of [['h', r.h.data[0], 3 / 8], ['c', r.c.data[0], ln3 / 2]] as const) {
      const tol = handCheckTolerance(feeding + Math.abs(want));
      expect(Math.abs(got - want), `${what}: got ${got}, want ${want}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
    }
  });

  it('one step with the defaults: no biases, h0 = c0 = 0', () => {
    // x = 1; weight_ih = (0, 7, ln(3)/2, 0); weight_hh = 9 everywhere, which must not matter since h0 = 0.
    //   i = σ(0) = 1/2, g = tanh(ln(3)/2) = (3 - 1) / (3 + 1) = 1/2, o = σ(0) = 1/2; f = σ(7) meets c0 = 0.
    //   c' = i g = 1/4,  h' = o tanh(1/4) = (1/2) (e^(1/2) - 1) / (e^(1/2) + 1) = 0.5 * 0.2449186624 = 0.1224593312
    const args: LstmInputs = {
      input: f32([1, 1], [1]),
      weightIh: f32([4, 1], [0, 7, Math.log(3) / 2, 0]),
      weightHh: f32([4, 1], [9, 9, 9, 9]),
    };
    const r = lstmCpu(args);
    const feeding = [args.input, args.weightIh].flatMap((t) => Array.from(t.data, Math.abs)).reduce((a, b) => a + b, 0);
    const sqrtE = Math.exp(0.5);
    const checks = [
      ['h', r.h.data[0], (0.5 * (sqrtE - 1)) / (sqrtE + 1)],
      ['c', r.c.data[0], 0.25],
    ] as const;
    for (const [what, got, want] of checks) {
      const tol = handCheckTolerance(feeding + Math.abs(want));
      expect(Math.abs(got - want), `${what}: got ${got}, want ${want}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
    }
  });

  it('seed 3: h is the last row of output (the very same values), for T = 4, I = 3, H = 5', () => {
    const p = new Prng(3);
    const H = 5;
    const r = lstmCpu({
      input: randomTensor(p, [4, 3]),
      weightIh: randomTensor(p, [4 * H, 3]),
      weightHh: randomTensor(p, [4 * H, H]),
      biasIh: randomTensor(p, [4 * H]),
      c0: randomTensor(p, [H]),
    });
    expect(r.output.shape).toEqual([4, H]);
    // The same f32 values, not merely close ones.
    expect(values(r.h)).toEqual(values(r.output).slice(3 * H));
    expect(r.c.shape).toEqual([H]);
  });
});

describe('bad input is an InputError naming the tensor (CPU references)', () => {
  for (const c of depthwiseBadCases()) {
    it(`depthwise: ${c.name}`, () => {
      const call = () => depthwiseConv2dCpu(...c.args);
      expect(call).toThrow(InputError);
      expect(call).toThrow(c.error);
    });
  }
  for (const c of lstmBadCases()) {
    it(`lstm: ${c.name}`, () => {
      const call = () => lstmCpu(c.args);
      expect(call).toThrow(InputError);
      expect(call).toThrow(c.error);
    });
  }
});
