/**
 * Error metrics of a quantized layer: PEIR and the figures other tools
 * report, per tensor and per channel, with the worst element attributed to
 * clipping or rounding. Every rule lives in this comment; `computeMetrics`
 * (CPU, plain loops) and the GPU reduction (src/gpu/kernels/metrics.ts,
 * shaders/metrics.wgsl) both feed `finishMetrics`, which applies them.
 *
 * ## Inputs
 *
 * `ref` = X (the fp32 layer output) and `approx` = X' (the quantized layer's
 * output, dequantized), float32 tensors of the same non-empty shape. The
 * channel axis (`channelAxis`, default 1: C of NCHW, and the hidden unit of
 * an LSTM output [T, H]) splits the flat index as `(o * C + c) * inner + r`.
 * Every value must be finite with |v| < 2^127 (METRICS_ABS_LIMIT): then
 * |X - X'| <= 2^128 - 2^104 = the largest float32, so the error is finite in
 * f32. Anything else is an InputError naming the tensor.
 *
 * ## Definitions (N elements, e_i = |X_i - X'_i|)
 *
 * - e_i is computed in float32: `f32(X_i - X'_i)`, then `abs` (exact). The
 *   GPU does the same subtraction (correctly rounded in WGSL), so e_i, and
 *   every max-based metric below, is bit-identical on both paths.
 * - **PEIR** = max_i e_i / D(X), with the interval I = max X - min X and the
 *   denominator D = max(I, tau), tau = F32_EPSILON * max(max_i |X_i|, 1).
 *   Per channel c: the same over the elements of channel c only (its own
 *   interval and magnitude). All in f64 from exact f32 extremes.
 * - **Zero (degenerate) interval rule**: when I < tau (a constant reference,
 *   or one whose spread is below float32 resolution at its magnitude) the
 *   interval is replaced by tau and `degenerateInterval` (per tensor) /
 *   `degenerateChannels` (per channel) flag it. Why this rule: the result
 *   is never NaN or Infinity (tau >= 2^-23 > 0), it is continuous in the data
 *   (PEIR does not jump when I shrinks to 0), zero error gives PEIR 0, and a
 *   nonzero error reads as "error in units of the float32 resolution at the
 *   reference's magnitude" (for an all-zero reference, error / 2^-23). Samsung
 *   ONE's alternatives were rejected: adding 1e-6 to every interval biases all
 *   PEIRs and depends on the units of X; reporting infinity cannot be written
 *   to JSON and breaks the summary statistics. A dead ReLU channel (all zeros
 *   in X and X') gets PEIR 0, flagged.
 * - **maxAbsError** = max_i e_i; **meanAbsError** = sum e_i / N;
 *   **mse** = sum e_i^2 / N.
 * - **SQNR** (dB) = 10 log10(sum X_i^2 / sum e_i^2), clamped to
 *   [-SQNR_CAP_DB, SQNR_CAP_DB] with `sqnrClamped` set when clamped. Zero error
 *   (sum e^2 = 0, X' = X) gives +SQNR_CAP_DB whatever the signal (also when X
 *   is all zero: nothing was lost); zero signal with a nonzero error gives
 *   -SQNR_CAP_DB. 200 dB is a power ratio of 1e20, beyond anything float32
 *   round-off yields on a realistic tensor, so the cap marks "exact" rather
 *   than truncating a real measurement.
 * - **cosine** = sum X X' / (sqrt(sum X^2) sqrt(sum X'^2)), clamped to
 *   [-1, 1]; exactly 1 when X' = X (max error 0, where the formula may round
 *   to 1 - 2^-53) or both are all zero; 0 when exactly one is all zero.
 * - **PESR** (peak error to scale ratio) = worst.error / s_c, s_c the output
 *   quantization scale of the channel holding the worst element (so 0.5 is
 *   the rounding floor, larger values mean clipping or carried error); null
 *   when `outputScale` is not given.
 * - **p999AbsError** = the nearest-rank 99.9th percentile of e: the value of
 *   rank ceil(0.999 N) - 1 (0-based) in ascending order, an element of e
 *   (exact on both paths, see src/metrics/percentile.ts).
 * - **worst** = the element with the largest e, ties to the lowest flat index:
 *   its flat index, channel, position (unravelled index), X, X', e, and its
 *   `cause`: 'clip' when X lies outside its channel's calibrated representable
 *   range [lo_c, hi_c] (X < lo_c or X > hi_c, compared exactly: the
 *   quantized value saturated), else 'round'; null when `outputRange` is not
 *   given.
 * - **clippedFraction** = (number of elements with X outside [lo_c, hi_c]) / N;
 *   **clipShare** = sum of e_i over those elements / sum of all e_i (the share
 *   of the total absolute error that clipped elements carry), 0 when the total
 *   error is 0. Both null without `outputRange`.
 *
 * `outputRange` and `outputScale` have one entry per channel, or one entry
 * for every channel (per-tensor quantization). Ranges: finite, lo <= hi.
 * Scales: finite and positive.
 *
 * ## Accumulation
 *
 * The CPU sums in f64 (e_i^2, X_i^2 and X_i X'_i of float32 values are exact
 * in f64; a plain f64 running sum of N <= 2^31 terms is within N 2^-53 <= 2^-22
 * of the exact sum, relative to the sum of |terms|: far below what any metric
 * here is read to, so neither Kahan nor pairwise summation is needed). The GPU sums in f32; its
 * tolerance is documented in src/gpu/kernels/metrics.ts.
 */
import { InputError } from '../errors.js';
import { checkFinite, numElements, shapeToString, type Tensor } from '../tensor.js';
import { sliceLayout } from '../quant/scheme.js';
import { nearestRankIndex, selectKth } from './percentile.js';

/** 2^-23, the float32 machine epsilon. */
export const F32_EPSILON = 2 ** -23;
/** Values must satisfy |v| < 2^127, so that |X - X'| is finite in float32. */
export const METRICS_ABS_LIMIT = 2 ** 127;
/** SQNR is reported within [-SQNR_CAP_DB, SQNR_CAP_DB]. */
export const SQNR_CAP_DB = 200;
/** The tail percentile: 999 / 1000 = 99.9 %. */
export const TAIL_PERCENTILE = { num: 999, den: 1000 } as const;

export type ErrorCause = 'clip' | 'round';

export interface MetricsOptions {
  /** The calibrated representable range [lo_c, hi_c] of each output channel (or one for all). */
  outputRange?: { lo: readonly number[]; hi: readonly number[] };
  /** The output quantization scale of each channel (or one for all). */
  outputScale?: readonly number[];
  /** Channel axis, default 1. */
  channelAxis?: number;
}

export interface WorstElement {
  /** Flat (C-order) index. */
  index: number;
  channel: number;
  /** The index unravelled over the shape. */
  position: number[];
  /** X at the index. */
  reference: number;
  /** X' at the index. */
  approx: number;
  /** |X - X'| in float32. */
  error: number;
  /** null when no output range was given. */
  cause: ErrorCause | null;
}

/** Plain JSON: every number finite. */
export interface Metrics {
  peir: number;
  perChannelPeir: number[];
  perChannelMaxAbsError: number[];
  /** max X - min X over the tensor. */
  interval: number;
  degenerateInterval: boolean;
  /** Channels whose interval fell below tau (see the module doc), ascending. */
  degenerateChannels: number[];
  maxAbsError: number;
  meanAbsError: number;
  mse: number;
  sqnrDb: number;
  sqnrClamped: boolean;
  cosine: number;
  pesr: number | null;
  p999AbsError: number;
  worst: WorstElement;
  clippedFraction: number | null;
  clipShare: number | null;
}

/** What the reduction (CPU loops or GPU pass) gathers per channel. */
export interface ChannelAggregate {
  count: number;
  minRef: number;
  maxRef: number;
  /** Largest e over the channel and its lowest flat index, with X and X' there. */
  maxErr: number;
  argmax: number;
  refAtMax: number;
  approxAtMax: number;
  sumAbsErr: number;
  sumSqErr: number;
  sumSqRef: number;
  sumSqApprox: number;
  sumRefApprox: number;
  /** Elements with X outside the channel's range, and the sum of their e (0 without ranges). */
  clipCount: number;
  clipAbsErr: number;
}

export interface MetricsAggregate {
  shape: readonly number[];
  channels: ChannelAggregate[];
  /** The nearest-rank 99.9th percentile of e. */
  p999: number;
}

/** Checked options with ranges and scales expanded to one entry per channel. */
export interface ResolvedMetricsOptions {
  axis: number;
  outer: number;
  channels: number;
  inner: number;
  range: { lo: number[]; hi: number[] } | null;
  scale: number[] | null;
}

function perChannel(v: readonly number[], channels: number, what: string): number[] {
  if (!Array.isArray(v) && !(v instanceof Float32Array) && !(v instanceof Float64Array)) {
    throw new InputError(`${what} must be an array of numbers`);
  }
  if (v.length !== channels && v.length !== 1) {
    throw new InputError(`${what} has ${v.length} entries; the output has ${channels} channel(s) (give ${channels}, or 1 for all)`);
  }
  const out = Array.from(v, (x) => Number(x));
  return out.length === channels ? out : new Array<number>(channels).fill(out[0]);
}

/** Validate the shape and options (not the values) and lay out the channels. */
export function resolveMetricsOptions(shape: readonly number[], opts: MetricsOptions = {}): ResolvedMetricsOptions {
  if (numElements(shape) === 0 || shape.length === 0) {
    throw new InputError(`metrics need a non-empty tensor with at least one dimension, got shape ${shapeToString(shape)}`);
  }
  const axis = opts.channelAxis ?? 1;
  const l = sliceLayout(shape, axis, 'metrics channelAxis');
  let range: ResolvedMetricsOptions['range'] = null;
  if (opts.outputRange !== undefined) {
    const lo = perChannel(opts.outputRange.lo, l.channels, 'outputRange.lo');
    const hi = perChannel(opts.outputRange.hi, l.channels, 'outputRange.hi');
    for (let c = 0; c < l.channels; c++) {
      if (!Number.isFinite(lo[c]) || !Number.isFinite(hi[c]) || lo[c] > hi[c]) {
        throw new InputError(`outputRange of channel ${c} is [${lo[c]}, ${hi[c]}]; ranges must be finite with lo <= hi`);
      }
    }
    range = { lo, hi };
  }
  let scale: number[] | null = null;
  if (opts.outputScale !== undefined) {
    scale = perChannel(opts.outputScale, l.channels, 'outputScale');
    scale.forEach((s, c) => {
      if (!(Number.isFinite(s) && s > 0)) throw new InputError(`outputScale[${c}] = ${s}; scales must be finite and positive`);
    });
  }
  return { axis, ...l, range, scale };
}

/** Check that `ref` and `approx` are float32 tensors of one shape with finite values below METRICS_ABS_LIMIT. */
export function checkMetricsInputs(ref: Tensor, approx: Tensor): void {
  for (const [t, what] of [[ref, 'reference output'], [approx, 'quantized output']] as const) {
    if (t.dtype !== 'float32') throw new InputError(`${what} must be float32, got ${t.dtype}`);
    checkFinite(t, what);
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (Math.abs(d[i]) >= METRICS_ABS_LIMIT) {
        throw new InputError(`${what} holds ${d[i]} at flat index ${i}; metrics need |values| < 2^127 so that differences stay finite in float32`);
      }
    }
  }
  if (ref.shape.length !== approx.shape.length || ref.shape.some((d, i) => d !== approx.shape[i])) {
    throw new InputError(`reference output ${shapeToString(ref.shape)} and quantized output ${shapeToString(approx.shape)} must have the same shape`);
  }
}

/** Unravel a flat C-order index over `shape`. */
export function unravelIndex(index: number, shape: readonly number[]): number[] {
  const pos = new Array<number>(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    pos[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return pos;
}

/** max(I, tau): the PEIR denominator of a slice with extremes [lo, hi] (module doc). */
export function peirDenominator(lo: number, hi: number): { denominator: number; degenerate: boolean } {
  const interval = hi - lo;
  const tau = F32_EPSILON * Math.max(Math.abs(lo), Math.abs(hi), 1);
  return interval < tau ? { denominator: tau, degenerate: true } : { denominator: interval, degenerate: false };
}

/** Is x outside [lo, hi] (exact comparison)? */
function clipped(x: number, lo: number, hi: number): boolean {
  return x < lo || x > hi;
}

/** Apply the definitions of the module doc to the per-channel aggregates. */
export function finishMetrics(agg: MetricsAggregate, o: ResolvedMetricsOptions): Metrics {
  const chans = agg.channels;
  if (chans.length !== o.channels) throw new InputError(`metrics: ${chans.length} channel aggregates for ${o.channels} channels`);
  let n = 0;
  let minRef = Infinity;
  let maxRef = -Infinity;
  let worstC = 0;
  let sumAbs = 0;
  let sumSqErr = 0;
  let sumSqRef = 0;
  let sumSqApprox = 0;
  let sumRefApprox = 0;
  let clipCount = 0;
  let clipAbs = 0;
  const perChannelPeir: number[] = [];
  const perChannelMaxAbsError: number[] = [];
  const degenerateChannels: number[] = [];
  chans.forEach((a, c) => {
    n += a.count;
    minRef = Math.min(minRef, a.minRef);
    maxRef = Math.max(maxRef, a.maxRef);
    const w = chans[worstC];
    if (a.maxErr > w.maxErr || (a.maxErr === w.maxErr && a.argmax < w.argmax)) worstC = c;
    sumAbs += a.sumAbsErr;
    sumSqErr += a.sumSqErr;
    sumSqRef += a.sumSqRef;
    sumSqApprox += a.sumSqApprox;
    sumRefApprox += a.sumRefApprox;
    clipCount += a.clipCount;
    clipAbs += a.clipAbsErr;
    const d = peirDenominator(a.minRef, a.maxRef);
    perChannelPeir.push(a.maxErr / d.denominator);
    perChannelMaxAbsError.push(a.maxErr);
    if (d.degenerate) degenerateChannels.push(c);
  });
  const w = chans[worstC];
  const whole = peirDenominator(minRef, maxRef);

  let sqnrDb: number;
  if (sumSqErr === 0) sqnrDb = SQNR_CAP_DB;
  else if (sumSqRef === 0) sqnrDb = -SQNR_CAP_DB;
  else sqnrDb = 10 * Math.log10(sumSqRef / sumSqErr);
  const sqnrClamped = !(Math.abs(sqnrDb) < SQNR_CAP_DB);
  sqnrDb = Math.min(SQNR_CAP_DB, Math.max(-SQNR_CAP_DB, sqnrDb));

  let cosine: number;
  if (w.maxErr === 0 || (sumSqRef === 0 && sumSqApprox === 0)) cosine = 1;
  else if (sumSqRef === 0 || sumSqApprox === 0) cosine = 0;
  else cosine = Math.min(1, Math.max(-1, sumRefApprox / (Math.sqrt(sumSqRef) * Math.sqrt(sumSqApprox))));

  const range = o.range;
  const cause: ErrorCause | null = range === null ? null : clipped(w.refAtMax, range.lo[worstC], range.hi[worstC]) ? 'clip' : 'round';
  return {
    peir: w.maxErr / whole.denominator,
    perChannelPeir,
    perChannelMaxAbsError,
    interval: maxRef - minRef + 0, // + 0: never -0 (a GPU's min / max may pick either zero)
    degenerateInterval: whole.degenerate,
    degenerateChannels,
    maxAbsError: w.maxErr,
    meanAbsError: sumAbs / n,
    mse: sumSqErr / n,
    sqnrDb,
    sqnrClamped,
    cosine,
    pesr: o.scale === null ? null : w.maxErr / o.scale[worstC],
    p999AbsError: agg.p999,
    worst: {
      index: w.argmax,
      channel: worstC,
      position: unravelIndex(w.argmax, agg.shape),
      reference: w.refAtMax,
      approx: w.approxAtMax,
      error: w.maxErr,
      cause,
    },
    clippedFraction: range === null ? null : clipCount / n,
    clipShare: range === null ? null : sumAbs === 0 ? 0 : Math.min(1, clipAbs / sumAbs),
  };
}

/**
 * All metrics of the module doc on the CPU (f64 sums, f32 errors).
 *
 * @example
 *   const m = computeMetrics(fp32Output, dequantizedOutput, { outputRange: { lo, hi }, outputScale: scales });
 *   m.peir; m.worst.cause; // 'clip' | 'round'
 */
export function computeMetrics(ref: Tensor, approx: Tensor, opts: MetricsOptions = {}): Metrics {
  checkMetricsInputs(ref, approx);
  const o = resolveMetricsOptions(ref.shape, opts);
  const { outer, channels, inner } = o;
  const x = ref.data;
  const y = approx.data;
  const errors = new Float32Array(x.length);
  const aggs: ChannelAggregate[] = [];
  for (let c = 0; c < channels; c++) {
    const lo = o.range ? o.range.lo[c] : -Infinity;
    const hi = o.range ? o.range.hi[c] : Infinity;
    const a: ChannelAggregate = {
      count: outer * inner, minRef: Infinity, maxRef: -Infinity, maxErr: -1, argmax: -1, refAtMax: 0, approxAtMax: 0,
      sumAbsErr: 0, sumSqErr: 0, sumSqRef: 0, sumSqApprox: 0, sumRefApprox: 0, clipCount: 0, clipAbsErr: 0,
    };
    for (let ob = 0; ob < outer; ob++) {
      const base = (ob * channels + c) * inner;
      for (let i = base; i < base + inner; i++) {
        const xi = x[i];
        const yi = y[i];
        const e = Math.abs(Math.fround(xi - yi));
        errors[i] = e;
        if (xi < a.minRef) a.minRef = xi;
        if (xi > a.maxRef) a.maxRef = xi;
        if (e > a.maxErr) {
          a.maxErr = e;
          a.argmax = i;
          a.refAtMax = xi;
          a.approxAtMax = yi;
        }
        a.sumAbsErr += e;
        a.sumSqErr += e * e;
        a.sumSqRef += xi * xi;
        a.sumSqApprox += yi * yi;
        a.sumRefApprox += xi * yi;
        if (clipped(xi, lo, hi)) {
          a.clipCount++;
          a.clipAbsErr += e;
        }
      }
    }
    aggs.push(a);
  }
  const p999 = selectKth(errors, nearestRankIndex(errors.length, TAIL_PERCENTILE.num, TAIL_PERCENTILE.den));
  return finishMetrics({ shape: ref.shape, channels: aggs, p999 }, o);
}
