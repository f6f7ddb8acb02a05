/**
 * Integer requantization, the CPU reference of shaders/requant.wgsl, exact in
 * BigInt. Each function states its rule once; the WGSL mirrors it operation for
 * operation and test/int64.gpu.test.ts checks them element by element.
 *
 * - Q8 (gemmlowp / TFLite): `mbqm(acc, m0, shift)` =
 *   RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(sat32(acc * 2^max(shift,0)), m0), max(-shift,0)).
 *   Ties go away from zero (gemmlowp's rule), independent of the rounding option.
 * - Q16, power-of-two scales: `roundShiftClamp(acc64, s, mode, lo, hi)` =
 *   clamp(round_mode(acc / 2^s), lo, hi) for s > 0, clamp(acc * 2^-s, lo, hi) for s <= 0.
 * - Q16, linear scales: `requantLinear64(acc64, m0, shift, mode, lo, hi)` =
 *   roundShiftClamp(acc * r, 15 - shift, mode, lo, hi) with r = min((m0 + 2^15) >> 16, 0x7fff)
 *   (TFLite's 16x8 reduced multiplier).
 */
import type { RoundingMode } from './rounding.js';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
const B31 = 1n << 31n;

function toI32(x: bigint): number {
  return Number(BigInt.asIntN(32, x));
}

/** gemmlowp SaturatingRoundingDoublingHighMul. */
export function srdhm(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  const v = ab + nudge;
  // BigInt division truncates towards zero, as C's does.
  return toI32(v / B31);
}

/** gemmlowp RoundingDivideByPOT, exponent in [0, 31]: round to nearest, ties away from zero. */
export function rdbpot(x: number, exponent: number): number {
  if (!Number.isInteger(exponent) || exponent < 0 || exponent > 31) throw new RangeError(`rdbpot exponent ${exponent} outside [0, 31]`);
  const mask = exponent === 31 ? 0x7fffffff : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

function clampBig(x: bigint, lo: number, hi: number): number {
  if (x < BigInt(lo)) return lo;
  if (x > BigInt(hi)) return hi;
  return Number(x);
}

/** TFLite MultiplyByQuantizedMultiplier with a saturating left shift; shift in [-31, 31]. */
export function mbqm(x: number, m0: number, shift: number): number {
  const left = Math.max(shift, 0);
  const right = Math.max(-shift, 0);
  const shifted = clampBig(BigInt(x) << BigInt(left), INT32_MIN, INT32_MAX);
  return rdbpot(srdhm(shifted, m0), right);
}

/** Rounding arithmetic shift of a 64-bit value, then clamp to [lo, hi]. s in [-63, 62]. */
export function roundShiftClamp(acc: bigint, s: number, mode: RoundingMode, lo: number, hi: number): number {
  if (s <= 0) return clampBig(BigInt(clampBig(acc, lo, hi)) << BigInt(Math.min(-s, 32)), lo, hi);
  const S = BigInt(s);
  const floorQ = acc >> S; // BigInt >> is arithmetic (floor)
  const rem = acc - (floorQ << S);
  const half = 1n << (S - 1n);
  let q = floorQ;
  if (rem > half) q += 1n;
  else if (rem === half) {
    const up = mode === 'half_away' ? acc >= 0n : (floorQ & 1n) === 1n;
    if (up) q += 1n;
  }
  return clampBig(q, lo, hi);
}

/** TFLite's 15-bit reduction of a Q31 multiplier. */
export function reducedMultiplier(m0: number): number {
  return m0 < 0x7fff0000 ? (m0 + 0x8000) >>> 16 : 0x7fff;
}

/** Q16 requantization with a real-valued multiplier (m0, shift). */
export function requantLinear64(acc: bigint, m0: number, shift: number, mode: RoundingMode, lo: number, hi: number): number {
  const prod = BigInt.asIntN(64, acc * BigInt(reducedMultiplier(m0)));
  return roundShiftClamp(prod, 15 - shift, mode, lo, hi);
}
