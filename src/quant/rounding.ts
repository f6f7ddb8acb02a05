/**
 * Rounding and the integer helpers of requantization. Pure math, exact in
 * JavaScript, written so that a WGSL port can reproduce every result bit for
 * bit; each function states its semantics precisely for that port.
 *
 * Rounding to an integer never uses `Math.round` (it rounds half up, towards
 * +inf, so `Math.round(-2.5) === -2` but `Math.round(2.5) === 3`).
 *
 * - `half_even` (banker's rounding): ties go to the even neighbour. NumPy
 *   `rint`, ONNX, ONNX Runtime and WGSL `round()` do this.
 * - `half_away`: ties go away from zero. C `round()`, TFLite's `TfLiteRound`
 *   and gemmlowp's rounding divide do this.
 */
import { InputError } from '../errors.js';

export type RoundingMode = 'half_even' | 'half_away';

export const ROUNDING_MODES: readonly RoundingMode[] = ['half_even', 'half_away'];

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** 2^52: every double with magnitude at or above this is already an integer. */
const TWO_52 = 4503599627370496;

/**
 * Round to the nearest integer, ties to even. Exact for every double:
 * `|x| >= 2^52` and non-finite values are returned unchanged, and the sign
 * of zero follows `x` (`-0.4 -> -0`, `-0.5 -> -0`), like C `rint`.
 *
 * WGSL port: `round(y)` (half to even by the spec).
 *
 * @example roundHalfEven(2.5) === 2; roundHalfEven(-1.5) === -2
 */
export function roundHalfEven(x: number): number {
  if (!(Math.abs(x) < TWO_52)) return x; // integers, +-Infinity, NaN
  const a = Math.abs(x);
  const f = Math.floor(a);
  const d = a - f; // exact: below 2^52 the fractional part of a double is a double
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return x < 0 || Object.is(x, -0) ? -r : r;
}

/**
 * Round to the nearest integer, ties away from zero. Exact for every double
 * (no `floor(x + 0.5)`: that turns 0.49999999999999994 into 1). Non-finite
 * values and `|x| >= 2^52` are returned unchanged; the sign of zero follows `x`.
 *
 * WGSL port (exact in f32): `let t = trunc(y); select(t, t + sign(y), abs(y - t) >= 0.5)`.
 *
 * @example roundHalfAway(2.5) === 3; roundHalfAway(-2.5) === -3
 */
export function roundHalfAway(x: number): number {
  if (!(Math.abs(x) < TWO_52)) return x;
  const a = Math.abs(x);
  const f = Math.floor(a);
  const r = a - f >= 0.5 ? f + 1 : f;
  return x < 0 || Object.is(x, -0) ? -r : r;
}

/** Round with the given mode. */
export function roundWith(mode: RoundingMode, x: number): number {
  return mode === 'half_even' ? roundHalfEven(x) : roundHalfAway(x);
}

/** The rounding function of a mode, for hot loops. */
export function rounder(mode: RoundingMode): (x: number) => number {
  if (mode === 'half_even') return roundHalfEven;
  if (mode === 'half_away') return roundHalfAway;
  throw new InputError(`unknown rounding mode ${JSON.stringify(mode)}; expected one of ${ROUNDING_MODES.join(', ')}`);
}

/** Throw an InputError unless `mode` is a RoundingMode. */
export function checkRoundingMode(mode: unknown, what = 'rounding'): asserts mode is RoundingMode {
  if (mode !== 'half_even' && mode !== 'half_away') {
    throw new InputError(`${what} must be one of ${ROUNDING_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
}

/** Clamp an integer (or any number) into [lo, hi]. */
export function clampInt(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function checkInt32(x: number, what: string): void {
  if ((x | 0) !== x) throw new InputError(`${what} must be an int32, got ${x}`);
}

/**
 * gemmlowp `SaturatingRoundingDoublingHighMul(a, b)`: the high 32 bits of
 * `2 * a * b`, rounded, i.e. `a * b / 2^31` rounded to nearest with ties
 * towards +inf (0.5 -> 1 but -0.5 -> 0, -1.5 -> -1: the asymmetric nudge
 * below). Precisely, with `ab` the exact 64-bit product:
 *
 *     if a == b == INT32_MIN: return INT32_MAX            (the only overflow)
 *     nudge = ab >= 0 ? 2^30 : 1 - 2^30
 *     return trunc((ab + nudge) / 2^31)                   (C division: towards zero)
 *
 * The JS implementation splits `b` into 16-bit halves so every partial
 * product is exact in a double; a WGSL port needs a 32x32 -> 64 multiply
 * (e.g. four 16x16 partial products with carries) and the same formula.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  checkInt32(a, 'saturatingRoundingDoublingHighMul: a');
  checkInt32(b, 'saturatingRoundingDoublingHighMul: b');
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const nudge = a === 0 || b === 0 || a < 0 === b < 0 ? 0x40000000 : 1 - 0x40000000;
  // a*b = a*bh*2^16 + a*bl, with |a*bh| <= 2^46 and |a*bl| < 2^47 (both exact).
  const bl = b & 0xffff;
  const bh = b >> 16;
  const h = a * bh;
  const hq = Math.floor(h / 32768); // h = hq*2^15 + hr, hr in [0, 2^15)
  const hr = h - hq * 32768;
  // ab + nudge = hq*2^31 + rest, |rest| < 2^48: exact.
  const rest = hr * 65536 + a * bl + nudge;
  const rq = Math.floor(rest / 2147483648);
  const rr = rest - rq * 2147483648; // in [0, 2^31)
  const fl = hq + rq; // floor((ab + nudge) / 2^31)
  return fl < 0 && rr !== 0 ? fl + 1 : fl; // truncate towards zero
}

/**
 * gemmlowp `RoundingDivideByPOT(x, exponent)`: `x / 2^exponent` rounded to
 * nearest, ties away from zero, for int32 `x` and `exponent` in [0, 31]:
 *
 *     mask = 2^exponent - 1;  remainder = x & mask
 *     threshold = (mask >> 1) + (x < 0 ? 1 : 0)
 *     return (x >> exponent) + (remainder > threshold ? 1 : 0)    (>> arithmetic)
 *
 * Never overflows. WGSL port: the same lines on i32 (mask as `i32((1u << e) - 1u)`).
 */
export function roundingDivideByPOT(x: number, exponent: number): number {
  checkInt32(x, 'roundingDivideByPOT: x');
  if (!Number.isInteger(exponent) || exponent < 0 || exponent > 31) {
    throw new InputError(`roundingDivideByPOT: exponent must be an integer in [0, 31], got ${exponent}`);
  }
  const mask = 2 ** exponent - 1; // <= 2^31 - 1: fits an int32
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite reference `MultiplyByQuantizedMultiplier(x, m0, shift)` (the
 * double-rounding form): approximately `x * m0 * 2^(shift - 31)`, within 1
 * (two roundings: ties towards +inf in the high multiply, then away from zero
 * in the divide; e.g. -101 * 0.5 -> -50, 101 * 0.5 -> 51).
 *
 *     left = max(shift, 0);  right = max(-shift, 0)
 *     xs = saturate_int32(x * 2^left)
 *     return roundingDivideByPOT(saturatingRoundingDoublingHighMul(xs, m0), right)
 *
 * `shift` is an integer in [-31, 31]. One deliberate difference from TFLite:
 * where `x * 2^left` overflows int32 (undefined behaviour in C++, a wrap in
 * practice) we saturate, so the caller's final clamp to the output dtype
 * still sees a value of the right sign and out of range. Any such result
 * has magnitude at least 2^30, far outside every output dtype.
 */
export function multiplyByQuantizedMultiplier(x: number, m0: number, shift: number): number {
  checkInt32(x, 'multiplyByQuantizedMultiplier: x');
  checkInt32(m0, 'multiplyByQuantizedMultiplier: quantized multiplier');
  if (!Number.isInteger(shift) || shift < -31 || shift > 31) {
    throw new InputError(`multiplyByQuantizedMultiplier: shift must be an integer in [-31, 31], got ${shift}`);
  }
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const xs = clampInt(x * 2 ** left, INT32_MIN, INT32_MAX); // exact: |x * 2^left| < 2^62
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(xs, m0), right);
}

export interface QuantizedMultiplier {
  /** Q31 mantissa in [2^30, 2^31), or 0. */
  multiplier: number;
  /** Power-of-two exponent: real ~= multiplier * 2^(shift - 31). In [-31, 31]. */
  shift: number;
}

const frexpView = new DataView(new ArrayBuffer(8));

/** C `frexp` for finite x > 0: x = m * 2^e with m in [0.5, 1). Exact, subnormals included. */
function frexp(x: number): { m: number; e: number } {
  let extra = 0;
  if (x < 2 ** -1022) {
    x *= 2 ** 64;
    extra = -64;
  }
  frexpView.setFloat64(0, x);
  const hi = frexpView.getUint32(0);
  const e = ((hi >>> 20) & 0x7ff) - 1022;
  frexpView.setUint32(0, (hi & 0x800fffff) | (1022 << 20));
  return { m: frexpView.getFloat64(0), e: e + extra };
}

/**
 * TFLite `QuantizeMultiplier`: encode a real multiplier `M >= 0` as
 * `(m0, shift)` with `M ~= m0 * 2^(shift - 31)`, relative error <= 2^-31.
 *
 *     M == 0                         -> (0, 0)
 *     (q, e) = frexp(M)              q in [0.5, 1), M = q * 2^e
 *     m0 = round_half_away(q * 2^31) exact product; m0 in [2^30, 2^31]
 *     if m0 == 2^31: m0 = 2^30, e += 1
 *     if e < -31: (0, 0)             flush: M < 2^-32 - 2^-64 rounds to a zero multiplier
 *     if e > 31: InputError          M >= 2^31 - 2^-1 saturates every non-zero input
 *     -> (m0, e)
 *
 * @example quantizeMultiplier(0.5) -> { multiplier: 2^30, shift: 0 }; quantizeMultiplier(1) -> { multiplier: 2^30, shift: 1 }
 */
export function quantizeMultiplier(realMultiplier: number): QuantizedMultiplier {
  if (!Number.isFinite(realMultiplier) || realMultiplier < 0) {
    throw new InputError(`quantizeMultiplier: the real multiplier must be finite and >= 0, got ${realMultiplier}`);
  }
  if (realMultiplier === 0) return { multiplier: 0, shift: 0 };
  const { m, e } = frexp(realMultiplier);
  let q = roundHalfAway(m * 2147483648);
  let shift = e;
  if (q === 2147483648) {
    q = 1073741824;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  if (shift > 31) {
    throw new InputError(
      `quantizeMultiplier: real multiplier ${realMultiplier} is too large (>= 2^31 - 0.5); every non-zero accumulator would saturate`,
    );
  }
  return { multiplier: q, shift };
}

/**
 * Round `x / 2^shift` to an integer with the given rounding mode, exactly,
 * for a (64-bit) accumulator `x`; a negative `shift` is an exact left shift
 * `x * 2^-shift`. This is the requantization of power-of-two (Q16 dynamic
 * fixed point) scales:
 *
 *     shift <= 0: x << -shift
 *     shift > 0:  fl = x >> shift (arithmetic: floor);  rem = x - fl * 2^shift in [0, 2^shift)
 *                 half = 2^(shift - 1)
 *                 rem > half -> fl + 1;   rem < half -> fl
 *                 rem == half -> half_even: fl + (fl & 1);  half_away: x >= 0 ? fl + 1 : fl
 *
 * The caller saturates the result to its output dtype. A WGSL port holds `x`
 * as two 32-bit words and applies the same case analysis.
 */
export function roundingShiftRightI64(x: bigint, shift: number, mode: RoundingMode): bigint {
  if (!Number.isInteger(shift)) throw new InputError(`roundingShiftRightI64: shift must be an integer, got ${shift}`);
  checkRoundingMode(mode, 'roundingShiftRightI64: rounding');
  if (shift <= 0) return x << BigInt(-shift);
  const s = BigInt(shift);
  const fl = x >> s;
  const rem = x - (fl << s);
  const half = 1n << (s - 1n);
  if (rem > half) return fl + 1n;
  if (rem < half) return fl;
  if (mode === 'half_even') return fl + (fl & 1n);
  return x >= 0n ? fl + 1n : fl;
}
