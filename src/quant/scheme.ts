/**
 * Quantization schemes, their parameters, and quantize / dequantize. Every
 * rule lives in this comment; the CPU path implements it below and the WGSL
 * quantize pass must mirror the "f32 formulas" section bit for bit.
 *
 * ## Schemes
 *
 * | scheme | scaleType       | dtype | qmin..qmax     | zero point z        | scale s                              |
 * |--------|-----------------|-------|----------------|---------------------|--------------------------------------|
 * | q8     | linear (default)| uint8 | 0..255         | nudged, in [0, 255] | f32((hi - lo) / 255)                 |
 * | q8     | pow2            | uint8 | 0..255         | nudged, in [0, 255] | 2^-f, smallest with 255 s >= hi - lo |
 * | q16    | pow2 (default)  | int16 | -32768..32767  | 0                   | 2^-f, dynamic fixed point (below)    |
 * | q16    | linear          | int16 | -32768..32767  | 0                   | f32(max(-lo, hi) / 32767)            |
 *
 * A value is represented as `x ~= (q - z) * s`. `f` is the fractional length
 * ("frac bits"); pow2 parameters store it beside `s = 2^-f`.
 *
 * ## From a range [lo, hi] to (s, z, f), per slice
 *
 * 1. Validation: `lo` and `hi` finite, `lo <= hi`, and both within
 *    +-RANGE_MAX = +-2^125 (about 4.25e37); otherwise InputError. The bound
 *    keeps every dequantized level a finite float32 (the outermost level can
 *    lie half a step and an f32 rounding beyond the range, which would
 *    overflow to infinity next to the float32 maximum).
 * 2. Widen to include 0: `lo = min(lo, 0)`, `hi = max(hi, 0)`, so that 0
 *    (padding, ReLU) is exactly representable: 0 always quantizes to `z` and
 *    dequantizes to exactly 0. A constant channel `c != 0` becomes `[0, c]`
 *    or `[c, 0]` and is handled normally.
 * 3. Degenerate all-zero range: `[0, 0]` is replaced by the unit range
 *    `[0, 1]` (one rule for every scheme): q8 linear s = f32(1/255), z = 0;
 *    q8 pow2 s = 2^-7, z = 0; q16 pow2 f = 14; q16 linear s = f32(1/32767).
 *    Every calibration value (all 0) round-trips exactly.
 * 4. Scale, per scheme (`round` is the configured rounding mode, default
 *    half_even; it also rounds the zero point):
 *    - q8 linear: `s = max(f32((hi - lo) / 255), 2^-125)` (the f64 quotient
 *      rounded to float32: the scale is an f32 number, used as is by both
 *      paths).
 *    - q8 pow2: `f` = the largest integer with `255 * 2^-f >= hi - lo`,
 *      clamped to [FRAC_BITS_MIN, FRAC_BITS_MAX]; `s = 2^-f`.
 *    - q16 pow2 (dynamic fixed point): `f` = the largest integer with
 *      `round(hi * 2^f) <= 32767` and `round(lo * 2^f) >= -32768` (products
 *      exact in f64), clamped to [FRAC_BITS_MIN, FRAC_BITS_MAX]. Nothing in
 *      [lo, hi] saturates. Ristretto's `il = ceil(log2(max|x|)) + 1`,
 *      `f = 16 - il` picks f = 15 for max|x| = 1.0, and 1.0 * 2^15 = 32768
 *      saturates; this rule picks 14 there (and 15 for lo = -1, hi < 1).
 *    - q16 linear (symmetric, as Samsung ONE): `s = max(f32(max(-lo, hi) /
 *      32767), 2^-125)`.
 * 5. Zero point (q8 only; q16 has z = 0): the TFLite / gemmlowp "nudge":
 *    `z = clamp(round(-lo / s), 0, 255)` with the f32 scale `s`. The
 *    effective range is then `[(0 - z) * s, (255 - z) * s]`; it holds
 *    [lo, hi] up to half a step at either end, so every x in [lo, hi]
 *    quantizes with error <= s / 2 (plus f32 rounding of the products).
 *
 * Bounds: every scale lies in [SCALE_MIN, SCALE_MAX] = [2^-125, 2^126] and
 * every f in [FRAC_BITS_MIN, FRAC_BITS_MAX] = [-126, 125], so `s`, `1 / s`
 * and `2^f` are normal float32 numbers and a subnormal input (which a GPU may
 * flush to zero) always quantizes to `z` either way (|x / s| < 0.5). Ranges
 * narrower than about 2^-117 (q8) or 2^-110 (q16) get the smallest scale:
 * coarser, never saturating. Ranges
 * within +-2^125 never reach the lower end (they need f >= -111 for q16
 * pow2, f >= -119 for q8 pow2), and every level `(q - z) * s` of valid
 * parameters is a finite float32.
 *
 * ## f32 formulas (the contract with the GPU)
 *
 * Host-side, per slice: `s` (f32), `inv = f32(1 / s)` (f64 division rounded
 * to f32; exactly 2^f for pow2 scales), `B = min(s * 2^17, F32_MAX)` (an f32
 * value), integer `z`.
 *
 *     quantize(x):    xf = f32(x)
 *                     xc = min(max(xf, -B), B)
 *                     y  = f32(xc * inv)                  one correctly rounded f32 multiply
 *                     r  = round(y)                       configured mode; |r| <= 2^17 + 1
 *                     q  = clamp(r + z, qmin, qmax)       integer arithmetic
 *     dequantize(q):  x' = f32((q - z) * s)               one correctly rounded f32 multiply
 *
 * WGSL f32 multiplication is correctly rounded (its division is not: 2.5
 * ULP), hence the precomputed inverse. The pre-clamp to +-B never changes a
 * result (beyond B, |y| > 2^17 - 1 > 65535.5 >= |q - z| for any in-range q,
 * so q saturates either way) and keeps `y` finite, as WGSL requires. In JS
 * each f32 step is `Math.fround` of an f64 product of f32 operands, which is
 * exact before the single rounding. For pow2 scales every step is exact
 * except `round` (a product below the normal range is < 0.5 and rounds to 0
 * whether or not it is flushed). WGSL rounding: `round(y)` is half_even; half_away is
 * `t = trunc(y); select(t, t + sign(y), abs(y - t) >= 0.5)`.
 *
 * ## Slices
 *
 * `axis` is the channel dimension a slice runs along (NCHW activations: 1;
 * OIHW weights: 0; LSTM weights [4H, I]: 0); `null` = one slice for the whole
 * tensor. Serialized form (`toJson`):
 * `{"dtype", "axis": null | int, "scale": [...], "zero_point": [...], "frac_bits": [...] (pow2 only)}`.
 */
import { InputError } from '../errors.js';
import { checkFinite, shapeToString, tensor, type Tensor } from '../tensor.js';
import { checkRoundingMode, clampInt, rounder, type RoundingMode } from './rounding.js';

export type Scheme = 'q8' | 'q16';
export type ScaleType = 'linear' | 'pow2';
export type Granularity = 'channel' | 'tensor';
export type QuantDType = 'uint8' | 'int16';

/** Largest finite float32. */
export const F32_MAX = 3.4028234663852886e38;
/** Largest magnitude of a range end (rule 1 of the module doc). */
export const RANGE_MAX = 2 ** 125;
export const SCALE_MIN = 2 ** -125;
export const SCALE_MAX = 2 ** 126;
export const FRAC_BITS_MIN = -126;
export const FRAC_BITS_MAX = 125;
/** The pre-clamp bound is `s * QUANT_CLAMP_STEPS` (see the module doc). */
export const QUANT_CLAMP_STEPS = 2 ** 17;
/** Range used in place of an all-zero range [0, 0]. */
export const DEGENERATE_RANGE_HI = 1;

export const SCHEMES: readonly Scheme[] = ['q8', 'q16'];
export const SCALE_TYPES: readonly ScaleType[] = ['linear', 'pow2'];

/** How to turn a range into parameters. */
export interface SchemeOptions {
  scheme: Scheme;
  /** Default: 'linear' for q8, 'pow2' (dynamic fixed point) for q16. */
  scaleType?: ScaleType;
  /** Default: 'half_even'. */
  rounding?: RoundingMode;
}

/** Quantization parameters of one tensor: one (scale, zero point) per slice. */
export interface QuantParams {
  readonly scheme: Scheme;
  readonly scaleType: ScaleType;
  readonly dtype: QuantDType;
  /** Slice (channel) axis, or null for one slice over the whole tensor. */
  readonly axis: number | null;
  /** Per-slice scale, float32 values in [SCALE_MIN, SCALE_MAX]. */
  readonly scale: Float32Array;
  /** Per-slice zero point in [qmin, qmax]. */
  readonly zeroPoint: Int32Array;
  /** pow2 only: per-slice f with scale = 2^-f; null for linear scales. */
  readonly fracBits: Int32Array | null;
  readonly qmin: number;
  readonly qmax: number;
  readonly rounding: RoundingMode;
}

/** Parameters of one slice, before they are gathered into QuantParams. */
export interface SliceParams {
  scale: number;
  zeroPoint: number;
  /** pow2 only. */
  fracBits: number | null;
}

export function dtypeOf(scheme: Scheme): QuantDType {
  return scheme === 'q8' ? 'uint8' : 'int16';
}

export function qRange(dtype: QuantDType): { qmin: number; qmax: number } {
  return dtype === 'uint8' ? { qmin: 0, qmax: 255 } : { qmin: -32768, qmax: 32767 };
}

export function defaultScaleType(scheme: Scheme): ScaleType {
  return scheme === 'q8' ? 'linear' : 'pow2';
}

interface ResolvedOptions {
  scheme: Scheme;
  scaleType: ScaleType;
  rounding: RoundingMode;
}

/** Validate options and fill in the defaults. */
export function resolveSchemeOptions(opts: SchemeOptions): ResolvedOptions {
  if (!SCHEMES.includes(opts.scheme)) {
    throw new InputError(`scheme must be one of ${SCHEMES.join(', ')}, got ${JSON.stringify(opts.scheme)}`);
  }
  const scaleType = opts.scaleType ?? defaultScaleType(opts.scheme);
  if (!SCALE_TYPES.includes(scaleType)) {
    throw new InputError(`scaleType must be one of ${SCALE_TYPES.join(', ')}, got ${JSON.stringify(scaleType)}`);
  }
  const rounding = opts.rounding ?? 'half_even';
  checkRoundingMode(rounding);
  return { scheme: opts.scheme, scaleType, rounding };
}

function clampFracBits(f: number): number {
  return clampInt(f, FRAC_BITS_MIN, FRAC_BITS_MAX);
}

/** q8 pow2: the largest f with 255 * 2^-f >= width (width > 0), clamped. */
function q8Pow2FracBits(width: number): number {
  const fits = (f: number) => 255 * 2 ** -f >= width;
  let f = clampFracBits(Math.floor(Math.log2(255 / width)));
  while (f > FRAC_BITS_MIN && !fits(f)) f--;
  while (f < FRAC_BITS_MAX && fits(f + 1)) f++;
  return f;
}

/** q16 dynamic fixed point: the largest f with round(hi 2^f) <= 32767 and round(lo 2^f) >= -32768, clamped. */
function dfpFracBits(lo: number, hi: number, round: (x: number) => number): number {
  const fits = (f: number) => round(hi * 2 ** f) <= 32767 && round(lo * 2 ** f) >= -32768;
  let f = clampFracBits(15 - Math.ceil(Math.log2(Math.max(hi, -lo))));
  while (f > FRAC_BITS_MIN && !fits(f)) f--;
  while (f < FRAC_BITS_MAX && fits(f + 1)) f++;
  return f;
}

function nudgedZeroPoint(lo: number, s: number, round: (x: number) => number): number {
  return clampInt(round(-lo / s), 0, 255) | 0;
}

/**
 * Parameters of one slice from its observed range [lo, hi] (rules 1-5 of
 * the module doc). `what` names the tensor / slice in error messages.
 *
 * @example sliceQuantParams(-1, 3, { scheme: 'q8' }) -> { scale: f32(4/255), zeroPoint: 64, fracBits: null }
 */
export function sliceQuantParams(lo: number, hi: number, opts: SchemeOptions, what = 'range'): SliceParams {
  const o = resolveSchemeOptions(opts);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new InputError(`${what} [${lo}, ${hi}] is not finite; calibration ranges must be finite numbers`);
  }
  if (lo > hi) throw new InputError(`${what} [${lo}, ${hi}] is empty (lo > hi)`);
  if (Math.abs(lo) > RANGE_MAX || Math.abs(hi) > RANGE_MAX) {
    throw new InputError(`${what} [${lo}, ${hi}] is too wide to quantize: range ends must lie within +-2^125 (${RANGE_MAX})`);
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (lo === 0 && hi === 0) hi = DEGENERATE_RANGE_HI;
  const round = rounder(o.rounding);
  if (o.scheme === 'q8') {
    if (o.scaleType === 'linear') {
      const s = Math.max(Math.fround((hi - lo) / 255), SCALE_MIN);
      return { scale: s, zeroPoint: nudgedZeroPoint(lo, s, round), fracBits: null };
    }
    const f = q8Pow2FracBits(hi - lo);
    const s = 2 ** -f;
    return { scale: s, zeroPoint: nudgedZeroPoint(lo, s, round), fracBits: f };
  }
  if (o.scaleType === 'pow2') {
    const f = dfpFracBits(lo, hi, round);
    return { scale: 2 ** -f, zeroPoint: 0, fracBits: f };
  }
  return { scale: Math.max(Math.fround(Math.max(-lo, hi) / 32767), SCALE_MIN), zeroPoint: 0, fracBits: null };
}

/**
 * QuantParams from per-slice ranges. `axis` is the slice axis (null: one
 * slice, so `lo` and `hi` must have length 1).
 *
 * @example quantParamsFromRanges({ lo: [-1, 0], hi: [1, 2] }, 1, { scheme: 'q16' }) // per channel along NCHW's C
 */
export function quantParamsFromRanges(
  ranges: { lo: readonly number[]; hi: readonly number[] },
  axis: number | null,
  opts: SchemeOptions,
  what = 'tensor',
): QuantParams {
  const o = resolveSchemeOptions(opts);
  const n = ranges.lo.length;
  if (ranges.hi.length !== n) {
    throw new InputError(`${what}: ${n} lower bounds but ${ranges.hi.length} upper bounds`);
  }
  checkAxisAndSlices(axis, n, what);
  const dtype = dtypeOf(o.scheme);
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  const fracBits = o.scaleType === 'pow2' ? new Int32Array(n) : null;
  for (let i = 0; i < n; i++) {
    const sp = sliceQuantParams(ranges.lo[i], ranges.hi[i], o, `${what} slice ${i} range`);
    scale[i] = sp.scale;
    zeroPoint[i] = sp.zeroPoint;
    if (fracBits) fracBits[i] = sp.fracBits as number;
  }
  return { scheme: o.scheme, scaleType: o.scaleType, dtype, axis, scale, zeroPoint, fracBits, ...qRange(dtype), rounding: o.rounding };
}

function checkAxisAndSlices(axis: number | null, n: number, what: string): void {
  if (axis !== null && (!Number.isInteger(axis) || axis < 0)) {
    throw new InputError(`${what}: axis must be null or a non-negative integer, got ${axis}`);
  }
  if (n === 0) throw new InputError(`${what}: quantization parameters need at least one slice`);
  if (axis === null && n !== 1) {
    throw new InputError(`${what}: per-tensor parameters (axis null) need exactly one slice, got ${n}`);
  }
}

/** Check every invariant of QuantParams; throws InputError naming `what`. */
export function validateQuantParams(p: QuantParams, what = 'quantization parameters'): void {
  resolveSchemeOptions(p);
  if (p.dtype !== dtypeOf(p.scheme)) throw new InputError(`${what}: dtype ${p.dtype} does not match scheme ${p.scheme}`);
  const { qmin, qmax } = qRange(p.dtype);
  if (p.qmin !== qmin || p.qmax !== qmax) {
    throw new InputError(`${what}: qmin/qmax [${p.qmin}, ${p.qmax}] must be [${qmin}, ${qmax}] for ${p.dtype}`);
  }
  const n = p.scale.length;
  checkAxisAndSlices(p.axis, n, what);
  if (p.zeroPoint.length !== n) throw new InputError(`${what}: ${n} scales but ${p.zeroPoint.length} zero points`);
  if ((p.scaleType === 'pow2') !== (p.fracBits !== null)) {
    throw new InputError(`${what}: frac_bits must be given exactly for pow2 scales (scaleType ${p.scaleType})`);
  }
  if (p.fracBits && p.fracBits.length !== n) throw new InputError(`${what}: ${n} scales but ${p.fracBits.length} frac bits`);
  for (let i = 0; i < n; i++) {
    const s = p.scale[i];
    if (!(s >= SCALE_MIN && s <= SCALE_MAX) || Math.fround(s) !== s) {
      throw new InputError(`${what}: scale[${i}] = ${s} must be a float32 number in [2^-125, 2^126]`);
    }
    const z = p.zeroPoint[i];
    if (!Number.isInteger(z) || z < qmin || z > qmax) {
      throw new InputError(`${what}: zero_point[${i}] = ${z} must be an integer in [${qmin}, ${qmax}]`);
    }
    if (!Number.isFinite(Math.fround(Math.max(z - qmin, qmax - z) * s))) {
      throw new InputError(`${what}: scale[${i}] = ${s} with zero_point ${z} puts quantization levels beyond the float32 range`);
    }
    if (p.fracBits) {
      const f = p.fracBits[i];
      if (!Number.isInteger(f) || f < FRAC_BITS_MIN || f > FRAC_BITS_MAX || s !== 2 ** -f) {
        throw new InputError(`${what}: frac_bits[${i}] = ${f} must be an integer in [${FRAC_BITS_MIN}, ${FRAC_BITS_MAX}] with scale[${i}] = 2^-${f}, got scale ${s}`);
      }
    }
  }
}

/** JSON form of QuantParams (see the module doc). */
export interface QuantParamsJson {
  dtype: QuantDType;
  axis: number | null;
  scale: number[];
  zero_point: number[];
  frac_bits?: number[];
}

export function toJson(p: QuantParams): QuantParamsJson {
  const out: QuantParamsJson = { dtype: p.dtype, axis: p.axis, scale: Array.from(p.scale), zero_point: Array.from(p.zeroPoint) };
  if (p.fracBits) out.frac_bits = Array.from(p.fracBits);
  return out;
}

function numberArray(v: unknown, key: string, what: string): number[] {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'number')) {
    throw new InputError(`${what}: "${key}" must be an array of numbers`);
  }
  return v as number[];
}

/**
 * Parse the JSON form. The scheme follows from `dtype` (uint8 -> q8, int16 ->
 * q16), the scale type from the presence of `frac_bits`; the rounding mode is
 * not part of the JSON form and is given here.
 */
export function fromJson(json: unknown, rounding: RoundingMode = 'half_even', what = 'quantization parameters'): QuantParams {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(`${what}: expected a JSON object`);
  const j = json as Record<string, unknown>;
  if (j.dtype !== 'uint8' && j.dtype !== 'int16') {
    throw new InputError(`${what}: "dtype" must be "uint8" or "int16", got ${JSON.stringify(j.dtype)}`);
  }
  if (j.axis !== null && typeof j.axis !== 'number') throw new InputError(`${what}: "axis" must be null or an integer`);
  const scale = numberArray(j.scale, 'scale', what);
  const zeroPoint = numberArray(j.zero_point, 'zero_point', what);
  const fracBits = j.frac_bits === undefined ? null : numberArray(j.frac_bits, 'frac_bits', what);
  if (zeroPoint.length !== scale.length || (fracBits && fracBits.length !== scale.length)) {
    throw new InputError(`${what}: ${scale.length} scales but ${zeroPoint.length} zero points${fracBits ? ` and ${fracBits.length} frac bits` : ''}`);
  }
  for (let i = 0; i < scale.length; i++) {
    if (Math.fround(scale[i]) !== scale[i]) throw new InputError(`${what}: scale[${i}] = ${scale[i]} is not a float32 number`);
    if (!Number.isInteger(zeroPoint[i])) throw new InputError(`${what}: zero_point[${i}] = ${zeroPoint[i]} is not an integer`);
    if (fracBits && !Number.isInteger(fracBits[i])) throw new InputError(`${what}: frac_bits[${i}] = ${fracBits[i]} is not an integer`);
  }
  const dtype = j.dtype;
  const p: QuantParams = {
    scheme: dtype === 'uint8' ? 'q8' : 'q16',
    scaleType: fracBits ? 'pow2' : 'linear',
    dtype,
    axis: j.axis as number | null,
    scale: Float32Array.from(scale),
    zeroPoint: Int32Array.from(zeroPoint),
    fracBits: fracBits ? Int32Array.from(fracBits) : null,
    ...qRange(dtype),
    rounding,
  };
  validateQuantParams(p, what);
  return p;
}

export function numSlices(p: QuantParams): number {
  return p.scale.length;
}

/** The f32 constants of one slice used by the quantize formula (module doc). */
export interface SliceConstants {
  scale: number;
  invScale: number;
  bound: number;
  zeroPoint: number;
}

export function sliceConstants(p: QuantParams, slice: number): SliceConstants {
  if (!Number.isInteger(slice) || slice < 0 || slice >= p.scale.length) {
    throw new InputError(`slice index ${slice} is out of range for parameters with ${p.scale.length} slice(s)`);
  }
  const s = p.scale[slice];
  return { scale: s, invScale: Math.fround(1 / s), bound: Math.min(s * QUANT_CLAMP_STEPS, F32_MAX), zeroPoint: p.zeroPoint[slice] };
}

/** Per-slice f32 constants as arrays, ready to upload for the GPU quantize pass. */
export function f32Constants(p: QuantParams): { scale: Float32Array; invScale: Float32Array; bound: Float32Array; zeroPoint: Int32Array } {
  const n = p.scale.length;
  const invScale = new Float32Array(n);
  const bound = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = sliceConstants(p, i);
    invScale[i] = c.invScale;
    bound[i] = c.bound;
  }
  return { scale: Float32Array.from(p.scale), invScale, bound, zeroPoint: Int32Array.from(p.zeroPoint) };
}

/** The quantize formula of the module doc on already-f32 `xf`. */
function quantizeF32(xf: number, c: SliceConstants, qmin: number, qmax: number, round: (x: number) => number): number {
  const xc = xf < -c.bound ? -c.bound : xf > c.bound ? c.bound : xf;
  const q = round(Math.fround(xc * c.invScale)) + c.zeroPoint;
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

/** A quantize function for one slice, for hot loops (the MSE observer). `x` must be finite. */
export function sliceQuantizer(p: QuantParams, slice: number): (x: number) => number {
  const c = sliceConstants(p, slice);
  const round = rounder(p.rounding);
  const { qmin, qmax } = p;
  return (x) => quantizeF32(Math.fround(x), c, qmin, qmax, round);
}

/**
 * Quantize one value of slice `slice`. The value is taken as float32 first.
 *
 * @example quantizeValue(0.5, quantParamsFromRanges({ lo: [-1], hi: [1] }, null, { scheme: 'q16' }), 0) === 8192
 */
export function quantizeValue(x: number, p: QuantParams, slice: number): number {
  if (!Number.isFinite(x)) throw new InputError(`cannot quantize the non-finite value ${x}`);
  return quantizeF32(Math.fround(x), sliceConstants(p, slice), p.qmin, p.qmax, rounder(p.rounding));
}

/** Dequantize one integer of slice `slice`: f32((q - z) * s). */
export function dequantizeValue(q: number, p: QuantParams, slice: number): number {
  if (!Number.isInteger(q) || q < p.qmin || q > p.qmax) {
    throw new InputError(`cannot dequantize ${q}: not an integer in [${p.qmin}, ${p.qmax}] (${p.dtype})`);
  }
  const c = sliceConstants(p, slice);
  return Math.fround((q - c.zeroPoint) * c.scale);
}

/** The representable interval of one slice: [f32((qmin - z) s), f32((qmax - z) s)]. */
export function effectiveRange(p: QuantParams, slice: number): { lo: number; hi: number } {
  return { lo: dequantizeValue(p.qmin, p, slice), hi: dequantizeValue(p.qmax, p, slice) };
}

/**
 * How a shape splits into slices along `axis`: the flat index is
 * `(o * channels + c) * inner + i`. `axis` null gives one slice.
 */
export function sliceLayout(shape: readonly number[], axis: number | null, what = 'tensor'): { outer: number; channels: number; inner: number } {
  const n = shape.reduce((a, b) => a * b, 1);
  if (axis === null) return { outer: 1, channels: 1, inner: n };
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new InputError(`${what}: slice axis ${axis} is out of range for shape ${shapeToString(shape)}`);
  }
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, channels: shape[axis], inner };
}

function layoutFor(shape: readonly number[], p: QuantParams, what: string): { outer: number; channels: number; inner: number } {
  const l = sliceLayout(shape, p.axis, what);
  if (l.channels !== p.scale.length) {
    throw new InputError(
      `${what} of shape ${shapeToString(shape)} has ${l.channels} slice(s) along axis ${p.axis} but the quantization parameters have ${p.scale.length}`,
    );
  }
  return l;
}

/**
 * Quantize a float32 tensor to uint8 (q8) or int16 (q16), slice by slice.
 * Non-finite values -> InputError naming `what` and the flat index.
 */
export function quantizeTensor(t: Tensor, p: QuantParams, what = 'tensor'): Tensor<QuantDType> {
  checkFinite(t, what);
  const { outer, channels, inner } = layoutFor(t.shape, p, what);
  const out = p.dtype === 'uint8' ? new Uint8Array(t.data.length) : new Int16Array(t.data.length);
  const round = rounder(p.rounding);
  const x = t.data;
  for (let c = 0; c < channels; c++) {
    const k = sliceConstants(p, c);
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner;
      for (let i = base; i < base + inner; i++) out[i] = quantizeF32(x[i], k, p.qmin, p.qmax, round);
    }
  }
  return tensor(p.dtype, t.shape, out as Uint8Array & Int16Array);
}

/** Dequantize a uint8 / int16 tensor back to float32, slice by slice. */
export function dequantizeTensor(t: Tensor<QuantDType>, p: QuantParams, what = 'tensor'): Tensor {
  if (t.dtype !== p.dtype) throw new InputError(`${what} has dtype ${t.dtype} but the quantization parameters are for ${p.dtype}`);
  const { outer, channels, inner } = layoutFor(t.shape, p, what);
  const out = new Float32Array(t.data.length);
  const q = t.data;
  for (let c = 0; c < channels; c++) {
    const s = p.scale[c];
    const z = p.zeroPoint[c];
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner;
      for (let i = base; i < base + inner; i++) out[i] = (q[i] - z) * s; // Float32Array store = f32 rounding
    }
  }
  return tensor('float32', t.shape, out);
}

/** dequantize(quantize(t)) in float32: what the quantized model sees instead of `t`. */
export function fakeQuantize(t: Tensor, p: QuantParams, what = 'tensor'): Tensor {
  return dequantizeTensor(quantizeTensor(t, p, what), p, what);
}
