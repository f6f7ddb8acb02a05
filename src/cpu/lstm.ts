/**
 * CPU reference for a one-layer, batch-1 fp32 LSTM in PyTorch's layout and
 * gate order (i, f, g, o): plain loops in f64, written from the definition
 * and independent of the GPU kernel. The state is carried in f64 between
 * steps; only the returned tensors are rounded to f32.
 */
import { lstmShape, type LstmInputs, type LstmResult } from '../layers/lstm-shape.js';
import { f32 } from '../tensor.js';

/** The logistic function in f64; both branches evaluate exp of a non-positive number, so neither overflows. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** tanh in f64 from exp(-2|x|), which cannot overflow. */
export function tanh(x: number): number {
  const e = Math.exp(-2 * Math.abs(x));
  const t = (1 - e) / (1 + e);
  return x < 0 ? -t : t;
}

/**
 * For t = 0 .. T-1, with W_i* the rows [0, H) of weight_ih / weight_hh, W_f*
 * rows [H, 2H), W_g* rows [2H, 3H), W_o* rows [3H, 4H):
 *
 *     i = σ(W_ii x_t + b_ii + W_hi h + b_hi)      f = σ(W_if x_t + b_if + W_hf h + b_hf)
 *     g = tanh(W_ig x_t + b_ig + W_hg h + b_hg)   o = σ(W_io x_t + b_io + W_ho h + b_ho)
 *     c ← f c + i g,   h ← o tanh(c),   output[t] = h
 *
 * @example
 * const { output, h, c } = lstmCpu({ input, weightIh, weightHh, biasIh, biasHh });
 */
export function lstmCpu(args: LstmInputs): LstmResult {
  const { steps: T, inputSize: I, hiddenSize: H } = lstmShape(args);
  const x = args.input.data;
  const wih = args.weightIh.data;
  const whh = args.weightHh.data;
  const bih = args.biasIh?.data;
  const bhh = args.biasHh?.data;
  let h = Float64Array.from(args.h0?.data ?? new Float32Array(H));
  const c = Float64Array.from(args.c0?.data ?? new Float32Array(H));
  const out = new Float32Array(T * H);
  const pre = new Float64Array(4 * H);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < 4 * H; r++) {
      let acc = (bih ? bih[r] : 0) + (bhh ? bhh[r] : 0);
      for (let k = 0; k < I; k++) acc += wih[r * I + k] * x[t * I + k];
      for (let k = 0; k < H; k++) acc += whh[r * H + k] * h[k];
      pre[r] = acc;
    }
    const next = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(pre[j]);
      const f = sigmoid(pre[H + j]);
      const g = tanh(pre[2 * H + j]);
      const o = sigmoid(pre[3 * H + j]);
      c[j] = f * c[j] + i * g;
      next[j] = o * tanh(c[j]);
      out[t * H + j] = next[j];
    }
    h = next;
  }
  return {
    output: f32([T, H], out),
    h: f32([H], Float32Array.from(h)),
    c: f32([H], Float32Array.from(c)),
  };
}
