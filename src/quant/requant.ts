/**
 * Integer requantization, the CPU reference of shaders/requant.wgsl, exact in
 * BigInt, built on the gemmlowp / TFLite helpers of ./rounding.ts. The WGSL
 * mirrors each rule operation for operation; test/int64.gpu.test.ts checks
 * them element by element.
 *
 * - Q8 (gemmlowp / TFLite): `mbqm(acc, m0, shift)` = multiplyByQuantizedMultiplier:
 *   RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(sat32(acc * 2^max(shift,0)), m0), max(-shift,0)).
 *   Its rounding is gemmlowp's (the high multiply rounds ties towards +inf, the
 *   divide rounds ties away from zero), independent of the rounding option.
 * - Q16, power-of-two scales: `roundShiftClamp(acc64, s, mode, lo, hi)` =
 *   clamp(roundingShiftRightI64(acc, s, mode), lo, hi): round_mode(acc / 2^s) for s > 0, acc * 2^-s for s <= 0.
 * - Q16, linear scales: `requantLinear64(acc64, m0, shift, mode, lo, hi)` =
 *   roundShiftClamp(acc * r, 15 - shift, mode, lo, hi) with r = min((m0 + 2^15) >> 16, 0x7fff)
 *   (TFLite's 16x8 reduced multiplier).
 */
import {
  multiplyByQuantizedMultiplier,
  roundingDivideByPOT,
  roundingShiftRightI64,
  saturatingRoundingDoublingHighMul,
  type RoundingMode,
} from './rounding.js';

export { INT32_MAX, INT32_MIN } from './rounding.js';
export const srdhm = saturatingRoundingDoublingHighMul;
export const rdbpot = roundingDivideByPOT;
export const mbqm = multiplyByQuantizedMultiplier;

function clampBig(x: bigint, lo: number, hi: number): number {
  if (x < BigInt(lo)) return lo;
  if (x > BigInt(hi)) return hi;
  return Number(x);
}

/** Rounding arithmetic shift of a 64-bit value, then clamp to [lo, hi]. */
export function roundShiftClamp(acc: bigint, s: number, mode: RoundingMode, lo: number, hi: number): number {
  return clampBig(roundingShiftRightI64(acc, s, mode), lo, hi);
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
