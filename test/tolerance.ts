/**
 * Float tolerances for comparing GPU kernels with the CPU reference.
 *
 * A dot product of n f32 terms, summed in any order and with or without FMA,
 * differs from the exact sum by at most gamma_n * sum |a_i b_i| with
 * gamma_n = n u / (1 - n u) and u = 2^-24 (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., eq. 3.5). The CPU reference accumulates in
 * f64 (error ~1e-16 relative, negligible here) and rounds once to f32 (at most
 * u |x|). So an element passes when
 *
 *     |gpu - ref| <= (n + F32_EXTRA_ROUNDINGS) * u * magnitude + FTZ_FLOOR * n
 *
 * where `magnitude` is the same layer evaluated on |inputs| and |weights|
 * (the sum of |terms|, bias included), n the reduction length of that element.
 * This is a proof-backed bound, not a fudge factor: a kernel that drops a term
 * or swaps an index fails it by orders of magnitude.
 */
export const F32_UNIT_ROUNDOFF = 2 ** -24;
/** Bias add, final rounding of the reference, and 1 - n u in the denominator of gamma_n. */
export const F32_EXTRA_ROUNDINGS = 3;
/** GPUs may flush f32 subnormals to zero: each term may lose up to the smallest normal. */
export const FTZ_FLOOR = 2 ** -126;

export function dotTolerance(n: number, magnitude: number): number {
  return (n + F32_EXTRA_ROUNDINGS) * F32_UNIT_ROUNDOFF * magnitude + FTZ_FLOOR * n;
}

export interface Mismatch {
  index: number;
  got: number;
  want: number;
  tol: number;
}

/** Compare element-wise; return every mismatch (an empty list means a pass). */
export function compareWithBound(
  got: Float32Array,
  want: Float32Array,
  tolAt: (i: number) => number,
): Mismatch[] {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  const bad: Mismatch[] = [];
  for (let i = 0; i < got.length; i++) {
    const tol = tolAt(i);
    if (!(Math.abs(got[i] - want[i]) <= tol)) bad.push({ index: i, got: got[i], want: want[i], tol });
  }
  return bad;
}

/** A readable report of the first and last mismatches, with their indices. */
export function describeMismatches(bad: Mismatch[], total: number): string {
  if (bad.length === 0) return 'all match';
  const show = bad.length <= 10 ? bad : [...bad.slice(0, 5), ...bad.slice(-5)];
  const rows = show.map((m) => `  [${m.index}] got ${m.got} want ${m.want} |diff| ${Math.abs(m.got - m.want)} tol ${m.tol}`);
  return `${bad.length} of ${total} elements out of tolerance:\n${rows.join('\n')}`;
}

/**
 * LSTM activations on the GPU (shaders/lstm.wgsl): sigmoid and tanh built on
 * exp(-|x|) and exp(-2|x|). WGSL guarantees exp within 3 + 2|y| ULP and
 * division within 2.5 ULP; one ULP of v is at most 2u|v|. For y >= 0,
 * |exp(-y) error| <= (3 + 2y) 2u e^-y <= 6u (that product decreases in y).
 * - sigmoid = 1 / (1 + e) or e / (1 + e): the exact function moves by at most
 *   |d/de| <= 1 times the 6u error of e, the rounding of 1 + e costs u, the
 *   division 5u: 12u.
 * - tanh = ±(1 - e) / (1 + e): |d/de| <= 2 times 6u, u each for 1 - e and
 *   1 + e, 5u for the division: 19u.
 * Absolute errors, valid for every argument (the results lie in [-1, 1]).
 */
export const LSTM_SIGMOID_ERROR = 12 * F32_UNIT_ROUNDOFF;
export const LSTM_TANH_ERROR = 19 * F32_UNIT_ROUNDOFF;

/**
 * Bound on |gpu - ref| for ONE LSTM step started from the same state (h, c)
 * on both sides, for one hidden unit:
 *
 * - each gate pre-activation a = W_ih x + b_ih + W_hh h + b_hh is a sum of
 *   n = I + H + 2 terms (the GPU rounds the input projection to f32 before
 *   adding the recurrent terms: still one summation of those terms in some
 *   order), so |Δa| <= δ = dotTolerance(n, gateMagnitude), gateMagnitude
 *   being the largest sum of |terms| over the unit's four gates;
 * - σ' <= 1/4 and tanh' <= 1: |Δi|, |Δf|, |Δo| <= δ/4 + LSTM_SIGMOID_ERROR,
 *   |Δg| <= δ + LSTM_TANH_ERROR;
 * - c' = f c + i g with |f|, |i|, |g| <= 1: |Δc'| <= |c| |Δf| + |Δi| + |Δg|
 *   + 4u (|c| + 1) (two products and a sum on the GPU, the reference's final
 *   rounding, each at most u times |c| + 1 >= |c'|);
 * - h' = o tanh(c') with |o|, |tanh| <= 1: |Δh'| <= |Δo| + |Δc'| +
 *   LSTM_TANH_ERROR + 2u (the product, the reference's rounding).
 * Products of two errors are O(u^2) and covered by F32_EXTRA_ROUNDINGS inside
 * dotTolerance. The bound scales with I + H through n and gateMagnitude.
 */
export function lstmStepTolerance(n: number, gateMagnitude: number, cellMagnitude: number): { h: number; c: number } {
  const u = F32_UNIT_ROUNDOFF;
  const delta = dotTolerance(n, gateMagnitude);
  const sig = delta / 4 + LSTM_SIGMOID_ERROR;
  const tnh = delta + LSTM_TANH_ERROR;
  const c = cellMagnitude * sig + sig + tnh + 4 * u * (cellMagnitude + 1);
  return { c, h: sig + c + LSTM_TANH_ERROR + 2 * u };
}

/**
 * Bound on |gpu - ref| after every step of a whole sequence, from the
 * per-step bounds `stepBounds[t]` (the largest `lstmStepTolerance` of step t
 * over all units, h or c): `stepBounds[0] + ... + stepBounds[t]`.
 *
 * This is the error recursion e_t <= ||J_t|| e_{t-1} + local_t with the step
 * map's Jacobian J_t assumed non-expansive (||J_t||_inf <= 1): true for
 * PyTorch's default initialisation U(-1/sqrt(H), 1/sqrt(H)) with inputs in
 * [-1, 1], where the measured error stays flat over 224 steps, and false for
 * large weights (U(-1, 1) at H = 128 makes errors grow ~1000x over 224 steps:
 * the sequence is chaotic and no f32 kernel can follow an f64 reference
 * there). So use it only with such weights; for anything else compare single
 * steps with `lstmStepTolerance`, which needs no assumption.
 */
export function lstmSequenceTolerance(stepBounds: readonly number[]): number[] {
  const out: number[] = [];
  let acc = 0;
  for (const b of stepBounds) out.push((acc += b));
  return out;
}

/**
 * Hand-computed values (exact fractions such as σ(ln 3) = 3/4) against the
 * CPU reference, whose f32 inputs cannot hold ln 3 exactly: rounding an input
 * moves a 1-Lipschitz result by at most u |input|, rounding the result costs
 * u |result|. HAND_CHECK_ULPS u per unit of `magnitude` (the sum of |inputs|
 * feeding the value, plus |result|) covers both with a factor 2 to spare.
 */
export const HAND_CHECK_ULPS = 4;
export function handCheckTolerance(magnitude: number): number {
  return HAND_CHECK_ULPS * F32_UNIT_ROUNDOFF * magnitude;
}

/**
 * Quantize-dequantize round trip of a value x inside the calibrated range
 * [lo, hi] (widened to include 0), M = max(|lo|, |hi|), with the f32 formulas
 * of src/quant/scheme.ts. Snapping to the grid costs at most half a step,
 * s / 2. Then, with u = 2^-24:
 * - inv = f32(1 / s) and y = f32(x * inv) give |y - x/s| <= (2u + u^2) |x/s|,
 *   i.e. at most 2.0001 u M after scaling back by s;
 * - the scale is an f32 rounding of (hi - lo) / 255 (q8) or M / 32767 (q16
 *   linear), so the last level can fall short of hi by at most 255 u s <= 2u M
 *   (q8) or 32767 u s ~= u M (q16); this and the previous term never add up
 *   (one applies where the result saturates at qmax, the other elsewhere);
 * - x' = f32((q - z) s) adds at most u |x'| <= u (M + s).
 * Hence |x' - x| <= s/2 + 3.0002 u M + u s < s/2 + 4 u (M + s). Power-of-two
 * scales make every f32 step exact: there the bound is s / 2 exactly.
 */
export const QUANT_ROUNDTRIP_F32_ROUNDINGS = 4;

export function quantRoundTripTolerance(scale: number, magnitude: number): number {
  return scale / 2 + QUANT_ROUNDTRIP_F32_ROUNDINGS * F32_UNIT_ROUNDOFF * (magnitude + scale);
}

/**
 * Integer LSTM (src/quant/lstm-layer.ts) against the fp32 LSTM, for a
 * well-calibrated layer (PyTorch's U(-1/sqrt(H), 1/sqrt(H)) weights and
 * biases, inputs in [-1, 1], the hidden range covering h0 and every fp32
 * output). No a-priori bound exists (errors feed back through h and c), so
 * these are measured maxima times two, in the unit of the error's source:
 * - Q8: dominated by h's own quantization (half a step s_h per step, fed
 *   back through W_hh) and the 8-bit weights. Worst |h_int - h_fp32| and
 *   |c_int - c_fp32| measured over seeds 4100-4104 (T=40, I=10, H=24) and a
 *   T=224, I=224, H=128 layer: 1.49 s_h; bound 3 s_h.
 * - Q16: h's step (2^-15 or so) is finer than the gate format Q3.12, so the
 *   gate rounding dominates (half a step 2^-13 in each pre-activation, Q0.15
 *   tables, the Q3.12 argument of tanh(c)). Worst measured on the same
 *   layers: 0.86 x 2^-12 (h), 0.68 x 2^-12 (c); bound 2 x 2^-12.
 * A wrong shift, a swapped gate or a dropped bias misses these by an order of
 * magnitude or more.
 */
export const INT_LSTM_Q8_H_STEPS = 3;
export const INT_LSTM_Q16_GATE_STEPS = 2;

/**
 * GPU metrics (shaders/metrics.wgsl) against the CPU's f64 sums. Each GPU
 * partial sum is built from f32 terms formed with one rounding (e^2, X^2,
 * X'^2, X X'; |e| and the power-of-two scaling are exact), each term passing
 * through at most `depth` f32 additions (METRICS_SUM_DEPTH: items per thread
 * plus the log2(WG) levels of the workgroup tree); the host adds partials in
 * f64. Higham's bound for any summation order (eq. 4.4 with the depth in
 * place of n - 1) gives |S_gpu - S| <= gamma_{depth + 1} sum |terms|; one
 * more u each for the CPU's f64 sum and the 1 - n u denominator of gamma:
 * delta = (depth + 3) u, relative to sum |terms|, ~4.4e-6 at depth 70.
 * Derived metrics (each sum S' = S (1 + a), |a| <= delta; for sum X X' the
 * error is at most delta sqrt(sum X^2 sum X'^2) by Cauchy-Schwarz):
 * - mean |e| and MSE: relative delta;
 * - SQNR = 10 log10(Sx / Se): |d| <= (10 / ln 10) ln((1 + delta) / (1 - delta))
 *   <= (20 / ln 10) delta / (1 - delta) dB;
 * - cosine and clip share (ratios in [-1, 1] / [0, 1]): |d| <= 2 delta / (1 - delta);
 * clamping (SQNR cap, cosine to [-1, 1], share to [0, 1]) never increases a
 * difference. Valid while no scaled term underflows (2^-126 of the segment's
 * largest |X|, |X'|), as in every test case here.
 */
export const METRICS_SUM_EXTRA_ROUNDINGS = 3;

export function metricsSumRelTolerance(depth: number): number {
  return (depth + METRICS_SUM_EXTRA_ROUNDINGS) * F32_UNIT_ROUNDOFF;
}

export function metricsDerivedTolerances(depth: number, cpu: { meanAbsError: number; mse: number }) {
  const d = metricsSumRelTolerance(depth);
  const ratio = (2 * d) / (1 - d);
  return {
    meanAbsError: d * cpu.meanAbsError,
    mse: d * cpu.mse,
    sqnrDb: (10 / Math.LN10) * ratio,
    cosine: ratio,
    clipShare: ratio,
  };
}
