/**
 * A true-integer LSTM (one layer, batch 1, PyTorch layout, gates i, f, g, o):
 * from a float layer and calibrated ranges to its integer form, in the
 * spirit of TFLite's integer LSTM. The CPU reference (src/cpu/lstm-int.ts)
 * and the GPU kernel (shaders/lstm-int.wgsl, src/gpu/kernels/lstm-int.ts)
 * both run exactly the `IntLstmSpec` built here and agree bit for bit.
 *
 * ## Quantization (planLstmQuant, mirrors src/quant/layer.ts)
 *
 * - input x_t: per tensor, with the scheme (Q8: uint8 asymmetric (s_x, z_x);
 *   Q16: int16, z = 0, s = 2^-f_x (pow2) or linear), from its calibrated range;
 * - hidden state h: per tensor, same scheme, from the calibrated range of h
 *   (widened to include 0, scheme.ts rule 2, so h_0 = 0 is exactly z_h);
 * - weight_ih [4H, I] and weight_hh [4H, H]: per row ("node", granularity
 *   'channel') or per tensor, from their own min / max;
 * - bias: b = bias_ih + bias_hh (f64 sum) folded into the input side at scale
 *   s_x * s_wih[r]: b_q = round(b / (s_x s_wih[r])) (configured rounding); it
 *   must fit int32 (Q8) or |b_q| < 2^53 (Q16), else InputError.
 *
 * ## One step (t = 0 .. T-1), row r = gate * H + j of the 4H gate rows
 *
 *     acc_x[r] = b_q[r] + sum_k (q_x[t,k] - z_x)(q_wih[r,k] - z_wih[r])     exact
 *     acc_h[r] =          sum_k (q_h[k]   - z_h)(q_whh[r,k] - z_whh[r])     exact
 *
 * Q8 accumulates in int32: |each term| <= 255^2, so I * 255^2 + |b_q| and
 * H * 255^2 must stay below 2^31 (I, H up to about 33,000; checked). Q16
 * products of two int16 (zero points 0) fit int32 (|p| <= 2^30) and are summed
 * exactly in 64 bits; the bound n * 2^30 + |b_q| < 2^53 (pow2) or < 2^47
 * (linear, whose 15-bit multiplier must not overflow 64 bits) is checked.
 *
 * Each accumulator is requantized to the gate format Q3.12 (real = v 2^-12),
 * each side held in int32 and clamped to +-2^24 (+-4096 in real terms, so
 * the sum of the two sides cannot overflow int32):
 *
 *   Q8:         p = clamp(mbqm(acc, M0, shift), -2^24, 2^24),  (M0, shift) = quantizeMultiplier(s_x s_wih[r] / 2^-12)
 *                                                  (resp. s_h s_whh[r] / 2^-12)
 *   Q16 pow2:   p = round_shift_clamp(acc, f_x + f_wih[r] - 12, -2^24, 2^24)  (resp. f_h + f_whh[r] - 12), in [-63, 62]
 *   Q16 linear: p = requant_linear64(acc, M0, shift, -2^24, 2^24), M0 as for Q8
 *
 *     pre[r] = clamp(p_x[r] + p_h[r], -32768, 32767)                        Q3.12
 *
 * Activations by host-computed look-up tables (lstmLuts, f64, round half to
 * even), uploaded to the GPU so both paths read the same integers, indexed
 * by pre + 32768, values in Q0.15:
 *
 *     SIGMOID[v + 32768] = min(round(sigmoid(v 2^-12) 2^15), 32767)
 *     TANH[v + 32768]    = clamp(round(tanh(v 2^-12) 2^15), -32768, 32767)
 *     i = SIGMOID[pre_i], f = SIGMOID[pre_f], g = TANH[pre_g], o = SIGMOID[pre_o]
 *
 * Saturation is inherent: Q3.12 holds [-8, 8), and sigmoid(8) = 0.99966,
 * tanh(8) = 0.9999998, so any pre-activation beyond +-8 acts as +-8 (the
 * fp32 LSTM would give at most 3.4e-4 more or less for a gate). Only the
 * sum is clamped to int16, not each side: an input side of +2624 and a
 * recurrent side of -57 (real terms) still give +8, as the fp32 LSTM's
 * +2567 would. (TFLite's integer LSTM saturates each matmul into an int16
 * gate buffer first, and would give about 0 there.) The +-4096 clamp of each
 * side changes a result only when one side exceeds 4096 and the other
 * cancels it to within +-8, i.e. never for trained weights.
 *
 * Cell state c: int32 in Q11.20 (real = c 2^-20, range about +-2048), c_0 =
 * sat32(round(c0 2^20)). With rshift(v, s) = round_shift_clamp(v, s, rounding,
 * INT32_MIN, INT32_MAX) (ties per the rounding option):
 *
 *     c_t = sat32(rshift(f * c_{t-1}, 15) + rshift(i * g, 10))
 *
 * (f * c is an exact 64-bit product; i * g fits int32.) Then tanh(c) by
 * the same table: tc = TANH[clamp(rshift(c_t, 8), -32768, 32767)] (Q3.12 ->
 * Q0.15), and
 *
 *     v   = o * tc                                                          Q0.30, fits int32
 *     Q8:         h_q = clamp(clamp(mbqm(v, M0, shift), +-2^17) + z_h, 0, 255),  M = 2^-30 / s_h
 *     Q16 pow2:   h_q = round_shift_clamp(v, 30 - f_h) (shift clamped to [-63, 62]), int16
 *     Q16 linear: h_q = requant_linear64(v, M0, shift), M = 2^-30 / s_h, int16
 *
 * h_q is the output of step t and feeds step t + 1. The pre-clamp to
 * +-2^17 cannot change the final clamp (as in shaders/conv2d-int.wgsl).
 * gemmlowp's mbqm rounds ties away from zero whatever the rounding option;
 * every other rounding shift follows the option. The dequantized output is
 * (h_q - z_h) s_h (dequantizeTensor with the plan's `hidden` parameters).
 */
import { sigmoid, tanh } from '../cpu/lstm.js';
import { InputError } from '../errors.js';
import type { RequantRule } from '../layers/int-conv-spec.js';
import { lstmShape, type LstmInputs } from '../layers/lstm-shape.js';
import { checkFinite, checkRank, f32, shapeToString, tensor, type Tensor } from '../tensor.js';
import { mergeRange, resolveQuantConfig, tensorRange, type QuantConfig, type Range } from './layer.js';
import { INT32_MAX, INT32_MIN, clampInt, quantizeMultiplier, roundHalfEven, rounder, type QuantizedMultiplier, type RoundingMode } from './rounding.js';
import { dequantizeTensor, quantParamsFromRanges, quantizeTensor, type QuantParams } from './scheme.js';

/** Fractional bits of the gate pre-activations (Q3.12). */
export const GATE_FRAC_BITS = 12;
/** Fractional bits of the activation outputs (Q0.15). */
export const ACT_FRAC_BITS = 15;
/** Fractional bits of the cell state (Q11.20). */
export const CELL_FRAC_BITS = 20;
/** Entries of each look-up table: one per int16 pre-activation. */
export const LUT_SIZE = 65536;

/** The float operands of an LSTM layer (everything but the input and the initial state). */
export type LstmWeights = Pick<LstmInputs, 'weightIh' | 'weightHh' | 'biasIh' | 'biasHh'>;

/** Calibrated ranges (one slice each; longer ranges are merged). */
export interface LstmRanges {
  input: Range;
  hidden: Range;
}

/** The integer form of one LSTM layer, independent of its input. */
export interface LstmQuantPlan {
  config: Required<QuantConfig>;
  inputSize: number;
  hiddenSize: number;
  input: QuantParams;
  hidden: QuantParams;
  weightIh: QuantParams;
  weightHh: QuantParams;
  /** Quantized weights (uint8 / int16 values), [4H, I] and [4H, H] row-major. */
  weightIhQ: Int32Array;
  weightHhQ: Int32Array;
  /** [4H], at scale s_x * s_wih[r]. */
  biasQ: BigInt64Array;
  rule: RequantRule;
  /** Per row, input side to Q3.12 (pow2: shift only, multiplier 0). */
  gateMultiplierX: Int32Array;
  gateShiftX: Int32Array;
  /** Per row, recurrent side to Q3.12. */
  gateMultiplierH: Int32Array;
  gateShiftH: Int32Array;
  /** Q0.30 -> h's quantization. */
  outMultiplier: number;
  outShift: number;
}

/** Activation tables, Q0.15, indexed by a Q3.12 pre-activation + 32768. Shared: do not modify. */
export interface LstmLuts {
  sigmoid: Int32Array;
  tanh: Int32Array;
}

/** Everything an integer LSTM run needs; the CPU and GPU paths take exactly this. */
export interface IntLstmSpec {
  bits: 8 | 16;
  rule: RequantRule;
  rounding: RoundingMode;
  steps: number;
  inputSize: number;
  hiddenSize: number;
  /** Quantized input [T, I]. */
  input: Int32Array;
  inputZero: number;
  /** Quantized weights [4H, I] / [4H, H] and their per-row zero points [4H]. */
  weightIh: Int32Array;
  weightIhZero: Int32Array;
  weightHh: Int32Array;
  weightHhZero: Int32Array;
  /** [4H], at scale s_x * s_wih[r]; within int32 for bits 8. */
  bias: BigInt64Array;
  gateMultiplierX: Int32Array;
  gateShiftX: Int32Array;
  gateMultiplierH: Int32Array;
  gateShiftH: Int32Array;
  hiddenZero: number;
  hiddenMin: number;
  hiddenMax: number;
  outMultiplier: number;
  outShift: number;
  /** Quantized h_0 [H]. */
  h0: Int32Array;
  /** c_0 in Q11.20 [H]. */
  c0: Int32Array;
  luts: LstmLuts;
}

/** What an integer LSTM returns (both paths, bit-identical). */
export interface IntLstmResult {
  /** Quantized hidden states [T, H]. */
  hq: Int32Array;
  /** Final cell state [H], Q11.20. */
  c: Int32Array;
  /** Exact accumulators of the last step [4H] (acc_x includes the bias). */
  accX: BigInt64Array;
  accH: BigInt64Array;
}


let cachedLuts: LstmLuts | undefined;

/** The SIGMOID and TANH tables of the module doc (computed once, cached). */
export function lstmLuts(): LstmLuts {
  if (cachedLuts) return cachedLuts;
  const sig = new Int32Array(LUT_SIZE);
  const tnh = new Int32Array(LUT_SIZE);
  const one = 2 ** ACT_FRAC_BITS;
  for (let i = 0; i < LUT_SIZE; i++) {
    const x = (i - LUT_SIZE / 2) * 2 ** -GATE_FRAC_BITS;
    sig[i] = Math.min(roundHalfEven(sigmoid(x) * one), one - 1);
    tnh[i] = clampInt(roundHalfEven(tanh(x) * one), -one, one - 1);
  }
  cachedLuts = { sigmoid: sig, tanh: tnh };
  return cachedLuts;
}

/** Broadcast per-slice values (1 or `n` slices) to `n` rows. */
function perRow(n: number, values: ArrayLike<number>): number[] {
  return Array.from({ length: n }, (_, r) => values[values.length === 1 ? 0 : r]);
}

function multiplierFor(real: number, what: string): QuantizedMultiplier {
  try {
    return quantizeMultiplier(real);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${what}: ${e.message}`);
    throw e;
  }
}

function oneSlice(r: Range, what: string): Range {
  if (r.lo.length === 0 || r.lo.length !== r.hi.length) {
    throw new InputError(`${what} range needs matching, non-empty lo and hi arrays, got ${r.lo.length} and ${r.hi.length}`);
  }
  return r.lo.length === 1 ? r : mergeRange(r);
}

/**
 * Plan the integer form of an LSTM layer (rules in the module doc).
 *
 * @param weights PyTorch's weight_ih [4H, I], weight_hh [4H, H], optional biases [4H]
 * @param ranges calibrated ranges of the layer input and of its hidden state h
 *
 * @example
 * const plan = planLstmQuant({ weightIh, weightHh, biasIh, biasHh }, { input: { lo: [-1], hi: [1] }, hidden: { lo: [-0.6], hi: [0.7] } }, { scheme: 'q8' });
 * const spec = intLstmSpec(plan, quantizeLstmInput(plan, x));
 */
export function planLstmQuant(weights: LstmWeights, ranges: LstmRanges, config: QuantConfig): LstmQuantPlan {
  const cfg = resolveQuantConfig(config);
  const opts = { scheme: cfg.scheme, scaleType: cfg.scaleType, rounding: cfg.rounding };
  // lstmShape validates a whole call; a one-step zero input stands in for the real one.
  const I = weights.weightIh.shape.length === 2 ? weights.weightIh.shape[1] : 1;
  const { hiddenSize: H } = lstmShape({ ...weights, input: f32([1, Math.max(I, 1)]) });
  const rows = 4 * H;
  const perTensor = cfg.granularity === 'tensor';

  const input = quantParamsFromRanges(oneSlice(ranges.input, 'lstm input'), null, opts, 'lstm input');
  const hidden = quantParamsFromRanges(oneSlice(ranges.hidden, 'lstm hidden state'), null, opts, 'lstm hidden state');
  const weightIh = quantParamsFromRanges(tensorRange(weights.weightIh, perTensor ? null : 0), perTensor ? null : 0, opts, 'lstm weight_ih');
  const weightHh = quantParamsFromRanges(tensorRange(weights.weightHh, perTensor ? null : 0), perTensor ? null : 0, opts, 'lstm weight_hh');
  const weightIhQ = Int32Array.from(quantizeTensor(weights.weightIh, weightIh, 'lstm weight_ih').data);
  const weightHhQ = Int32Array.from(quantizeTensor(weights.weightHh, weightHh, 'lstm weight_hh').data);

  const sX = input.scale[0];
  const sH = hidden.scale[0];
  const sWih = perRow(rows, weightIh.scale);
  const sWhh = perRow(rows, weightHh.scale);
  const round = rounder(cfg.rounding);
  const biasLimit = cfg.scheme === 'q8' ? 2 ** 31 : 2 ** 53;
  const biasQ = new BigInt64Array(rows);
  for (let r = 0; r < rows; r++) {
    const b = (weights.biasIh?.data[r] ?? 0) + (weights.biasHh?.data[r] ?? 0);
    const v = round(b / (sX * sWih[r]));
    if (!(Math.abs(v) < biasLimit) || (cfg.scheme === 'q8' && v === -(2 ** 31))) {
      throw new InputError(
        `lstm bias_ih + bias_hh [${r}] = ${b} is ${v} steps of s_x * s_wih = ${sX * sWih[r]}, beyond the ` +
          `${cfg.scheme === 'q8' ? 'int32' : '2^53'} bias; the input or weight_ih range is far too narrow for this bias`,
      );
    }
    biasQ[r] = BigInt(v);
  }

  const gateMultiplierX = new Int32Array(rows);
  const gateShiftX = new Int32Array(rows);
  const gateMultiplierH = new Int32Array(rows);
  const gateShiftH = new Int32Array(rows);
  let rule: RequantRule;
  let outMultiplier = 0;
  let outShift: number;
  const gateScale = 2 ** -GATE_FRAC_BITS;
  const vScale = 2 ** -(2 * ACT_FRAC_BITS);
  if (cfg.scheme === 'q16' && cfg.scaleType === 'pow2') {
    rule = 'pow2';
    const fX = input.fracBits![0];
    const fH = hidden.fracBits![0];
    const fWih = perRow(rows, weightIh.fracBits!);
    const fWhh = perRow(rows, weightHh.fracBits!);
    for (let r = 0; r < rows; r++) {
      gateShiftX[r] = clampInt(fX + fWih[r] - GATE_FRAC_BITS, -63, 62);
      gateShiftH[r] = clampInt(fH + fWhh[r] - GATE_FRAC_BITS, -63, 62);
    }
    outShift = clampInt(2 * ACT_FRAC_BITS - fH, -63, 62);
  } else {
    rule = cfg.scheme === 'q8' ? 'gemmlowp' : 'linear64';
    for (let r = 0; r < rows; r++) {
      const mx = multiplierFor((sX * sWih[r]) / gateScale, `lstm gate multiplier of weight_ih row ${r} (s_x * s_wih / 2^-12)`);
      const mh = multiplierFor((sH * sWhh[r]) / gateScale, `lstm gate multiplier of weight_hh row ${r} (s_h * s_whh / 2^-12)`);
      gateMultiplierX[r] = mx.multiplier;
      gateShiftX[r] = mx.shift;
      gateMultiplierH[r] = mh.multiplier;
      gateShiftH[r] = mh.shift;
    }
    const mo = multiplierFor(vScale / sH, `lstm output multiplier 2^-30 / s_h (hidden scale ${sH}: the hidden range is far too narrow)`);
    outMultiplier = mo.multiplier;
    outShift = mo.shift;
  }
  return {
    config: cfg, inputSize: I, hiddenSize: H, input, hidden, weightIh, weightHh, weightIhQ, weightHhQ, biasQ, rule,
    gateMultiplierX, gateShiftX, gateMultiplierH, gateShiftH, outMultiplier, outShift,
  };
}

/** Quantize a float input [T, I] with the plan's input parameters. */
export function quantizeLstmInput(plan: LstmQuantPlan, input: Tensor): Int32Array {
  checkRank(input, 2, 'lstm input', '[T, I]');
  if (input.shape[1] !== plan.inputSize) {
    throw new InputError(`lstm input must be [T, ${plan.inputSize}] for this layer, got ${shapeToString(input.shape)}`);
  }
  return Int32Array.from(quantizeTensor(input, plan.input, 'lstm input').data);
}

function checkState(t: Tensor | undefined, H: number, what: string): void {
  if (!t) return;
  if (t.shape.length !== 1 || t.shape[0] !== H) throw new InputError(`${what} must have shape [${H}], got ${shapeToString(t.shape)}`);
  checkFinite(t, what);
}

/** c0 (float) -> Q11.20: sat32(round(c0 2^20)) with the configured rounding. */
export function quantizeCell(c0: Float32Array, rounding: RoundingMode): Int32Array {
  const round = rounder(rounding);
  return Int32Array.from(c0, (v) => clampInt(round(v * 2 ** CELL_FRAC_BITS), INT32_MIN, INT32_MAX));
}

/** Q11.20 cell state back to float: c 2^-20 (exact in f64). */
export function cellToFloat(c: Int32Array): Float64Array {
  return Float64Array.from(c, (v) => v * 2 ** -CELL_FRAC_BITS);
}

/**
 * The IntLstmSpec for one quantized input [T, I] (from quantizeLstmInput) and
 * optional float initial states h0, c0 [H] (default zeros: q = z_h, c = 0).
 */
export function intLstmSpec(plan: LstmQuantPlan, inputQ: Int32Array, h0?: Tensor, c0?: Tensor): IntLstmSpec {
  const I = plan.inputSize;
  const H = plan.hiddenSize;
  if (inputQ.length === 0 || inputQ.length % I !== 0) {
    throw new InputError(`lstm quantized input has ${inputQ.length} values, not a non-empty multiple of the input size ${I}`);
  }
  checkState(h0, H, 'lstm h0');
  checkState(c0, H, 'lstm c0');
  const rows = 4 * H;
  const h0Q = h0
    ? Int32Array.from(quantizeTensor(h0, plan.hidden, 'lstm h0').data)
    : new Int32Array(H).fill(plan.hidden.zeroPoint[0]);
  return {
    bits: plan.config.scheme === 'q8' ? 8 : 16,
    rule: plan.rule,
    rounding: plan.config.rounding,
    steps: inputQ.length / I,
    inputSize: I,
    hiddenSize: H,
    input: inputQ,
    inputZero: plan.input.zeroPoint[0],
    weightIh: plan.weightIhQ,
    weightIhZero: Int32Array.from(perRow(rows, plan.weightIh.zeroPoint)),
    weightHh: plan.weightHhQ,
    weightHhZero: Int32Array.from(perRow(rows, plan.weightHh.zeroPoint)),
    bias: plan.biasQ,
    gateMultiplierX: plan.gateMultiplierX,
    gateShiftX: plan.gateShiftX,
    gateMultiplierH: plan.gateMultiplierH,
    gateShiftH: plan.gateShiftH,
    hiddenZero: plan.hidden.zeroPoint[0],
    hiddenMin: plan.hidden.qmin,
    hiddenMax: plan.hidden.qmax,
    outMultiplier: plan.outMultiplier,
    outShift: plan.outShift,
    h0: h0Q,
    c0: c0 ? quantizeCell(c0.data, plan.config.rounding) : new Int32Array(H),
    luts: lstmLuts(),
  };
}

/** Dequantize the integer hidden states [T, H]: (h_q - z_h) s_h (scheme.ts dequantizeTensor). */
export function dequantizeLstmOutput(plan: LstmQuantPlan, hq: Int32Array): Tensor {
  const H = plan.hiddenSize;
  const shape = [hq.length / H, H];
  const q = plan.hidden.dtype === 'uint8' ? tensor('uint8', shape, Uint8Array.from(hq)) : tensor('int16', shape, Int16Array.from(hq));
  return dequantizeTensor(q, plan.hidden, 'lstm hidden state');
}

function maxAbs(b: BigInt64Array): bigint {
  let m = 0n;
  for (const v of b) {
    const a = v < 0n ? -v : v;
    if (a > m) m = a;
  }
  return m;
}

function checkValues(v: Int32Array, length: number, lo: number, hi: number, what: string): void {
  if (v.length !== length) throw new InputError(`${what}: expected ${length} values, got ${v.length}`);
  for (let i = 0; i < v.length; i++) {
    if (!(v[i] >= lo && v[i] <= hi)) throw new InputError(`${what}[${i}] = ${v[i]} is outside [${lo}, ${hi}]`);
  }
}

/**
 * Validate an IntLstmSpec (sizes, value ranges, zero points, shift ranges,
 * tables) and its accumulator bounds: Q8 int32 (n * 255^2 + |bias| < 2^31),
 * Q16 n * 2^30 + |bias| < 2^53 (pow2) or 2^47 (linear64). InputError naming
 * `what` otherwise. Both the CPU and the GPU path call it first.
 */
export function checkIntLstmSpec(s: IntLstmSpec, what = 'lstm int'): void {
  const { steps: T, inputSize: I, hiddenSize: H } = s;
  for (const [n, v] of [['steps', T], ['inputSize', I], ['hiddenSize', H]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`${what}: ${n} must be a positive integer, got ${v}`);
  }
  if (s.bits !== 8 && s.bits !== 16) throw new InputError(`${what}: bits must be 8 or 16, got ${s.bits}`);
  const expectedRule = s.bits === 8 ? ['gemmlowp'] : ['pow2', 'linear64'];
  if (!expectedRule.includes(s.rule)) throw new InputError(`${what}: requantization rule ${s.rule} does not go with ${s.bits}-bit operands`);
  const [qmin, qmax] = s.bits === 8 ? [0, 255] : [-32768, 32767];
  const zeroMax = s.bits === 8 ? 255 : 0;
  const rows = 4 * H;
  checkValues(s.input, T * I, qmin, qmax, `${what} input`);
  checkValues(s.weightIh, rows * I, qmin, qmax, `${what} weight_ih`);
  checkValues(s.weightHh, rows * H, qmin, qmax, `${what} weight_hh`);
  checkValues(s.h0, H, qmin, qmax, `${what} h0`);
  checkValues(Int32Array.of(s.inputZero), 1, 0, zeroMax, `${what} input zero point`);
  checkValues(Int32Array.of(s.hiddenZero), 1, 0, zeroMax, `${what} hidden zero point`);
  checkValues(s.weightIhZero, rows, 0, zeroMax, `${what} weight_ih zero point`);
  checkValues(s.weightHhZero, rows, 0, zeroMax, `${what} weight_hh zero point`);
  if (s.hiddenMin !== qmin || s.hiddenMax !== qmax) throw new InputError(`${what}: hidden range [${s.hiddenMin}, ${s.hiddenMax}] must be [${qmin}, ${qmax}]`);
  checkValues(s.c0, H, INT32_MIN, INT32_MAX, `${what} c0`);
  if (s.bias.length !== rows) throw new InputError(`${what} bias: expected ${rows} values, got ${s.bias.length}`);
  const [shLo, shHi] = s.rule === 'pow2' ? [-63, 62] : [-31, 31];
  checkValues(s.gateShiftX, rows, shLo, shHi, `${what} gate shift (input side)`);
  checkValues(s.gateShiftH, rows, shLo, shHi, `${what} gate shift (recurrent side)`);
  checkValues(Int32Array.of(s.outShift), 1, shLo, shHi, `${what} output shift`);
  if (s.rule !== 'pow2') {
    checkValues(s.gateMultiplierX, rows, 0, INT32_MAX, `${what} gate multiplier (input side)`);
    checkValues(s.gateMultiplierH, rows, 0, INT32_MAX, `${what} gate multiplier (recurrent side)`);
    checkValues(Int32Array.of(s.outMultiplier), 1, 0, INT32_MAX, `${what} output multiplier`);
  }
  checkValues(s.luts.sigmoid, LUT_SIZE, 0, 32767, `${what} sigmoid table`);
  checkValues(s.luts.tanh, LUT_SIZE, -32768, 32767, `${what} tanh table`);

  const maxProduct = s.bits === 8 ? 255n * 255n : 1n << 30n;
  const limit = s.bits === 8 ? 1n << 31n : s.rule === 'linear64' ? 1n << 47n : 1n << 53n;
  const limitName = s.bits === 8 ? 'int32' : s.rule === 'linear64' ? '2^47' : '2^53';
  const maxBias = maxAbs(s.bias);
  for (const [side, n, b] of [['input (I terms + bias)', I, maxBias], ['recurrent (H terms)', H, 0n]] as const) {
    const worst = BigInt(n) * maxProduct + b;
    if (worst >= limit) {
      throw new InputError(
        `${what}: the ${side} gate accumulator could reach ${worst} (n = ${n}, |bias| up to ${b}), beyond the exact ` +
          `${limitName} accumulator; use a smaller layer${s.bits === 8 ? ', or Q16' : ''}`,
      );
    }
  }
}
