// requant.wgsl: integer requantization, exactly as the CPU reference does it.
//
// Library file, no bindings; needs int64.wgsl before it (src/gpu/shader-lib.ts).
// CPU mirror: src/quant/requant.ts. Both are specified in README "Numerics".
//
// Q8 (gemmlowp / TFLite reference kernels): an int32 accumulator `acc` at
// scale s_in * s_w is brought to the output scale s_out by the real multiplier
// M = s_in * s_w / s_out = M0 * 2^(shift - 31), M0 in [2^30, 2^31):
//   q = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << max(shift, 0), M0), max(-shift, 0))
// where the left shift saturates to int32 (TFLite leaves overflow undefined).
// Rounding here is gemmlowp's (the high multiply rounds ties towards +inf, the
// divide ties away from zero), whatever the rounding
// option: that option governs quantization of real values.
//
// Q16 (dynamic fixed point, power-of-two scales): an exact 64-bit accumulator
// at scale 2^-(f_in + f_w) is brought to 2^-f_out by a rounding arithmetic
// shift by s = f_in + f_w - f_out (s < 0: a saturating left shift), with ties
// resolved by the rounding option (half to even or half away from zero).
// Q16 with linear (real) scales: the multiplier M0 is reduced to 15 bits
// (r = min((M0 + 2^15) >> 16, 0x7fff), as TFLite's 16x8 kernels do) and the
// 64-bit product acc * r is shifted by 15 - shift with the same rounding shift.

const ROUND_HALF_EVEN: u32 = 0u;
const ROUND_HALF_AWAY: u32 = 1u;
const I32_MIN: i32 = -2147483647 - 1;
const I32_MAX: i32 = 2147483647;

// gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2 + 2^31 nudge) / 2^32,
// the division truncating towards zero; INT32_MIN * INT32_MIN saturates.
fn srdhm(a: i32, b: i32) -> i32 {
  if (a == I32_MIN && b == I32_MIN) {
    return I32_MAX;
  }
  let ab = i64_mul_i32(a, b);
  let nudge = select(i64_from_i32(1 - (1 << 30u)), i64_from_i32(1 << 30u), !i64_is_neg(ab));
  let v = i64_add(ab, nudge);
  // Truncating division by 2^31.
  if (i64_is_neg(v)) {
    let q = i64_shr(i64_neg(v), 31u);
    return -bitcast<i32>(q.x);
  }
  return bitcast<i32>(i64_shr(v, 31u).x);
}

// gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero; e in [0, 31].
fn rdbpot(x: i32, e: u32) -> i32 {
  let mask = bitcast<i32>(select((1u << e) - 1u, 0x7fffffffu, e >= 31u));
  let remainder = x & mask;
  let threshold = (mask >> 1u) + select(0, 1, x < 0);
  return (x >> e) + select(0, 1, remainder > threshold);
}

// x * 2^s saturated to int32, s in [0, 31].
fn sat_shl_i32(x: i32, s: u32) -> i32 {
  return i64_clamp_to_i32(i64_shl(i64_from_i32(x), s), I32_MIN, I32_MAX);
}

// TFLite MultiplyByQuantizedMultiplier with a saturating left shift.
fn mbqm(x: i32, m0: i32, shift: i32) -> i32 {
  let left = u32(max(shift, 0));
  let right = u32(max(-shift, 0));
  return rdbpot(srdhm(sat_shl_i32(x, left), m0), right);
}

// Rounding arithmetic shift of an i64 by s (s > 0: divide by 2^s and round per
// `mode`; s <= 0: multiply by 2^-s), the result clamped to [lo, hi].
// s in [-63, 62]. For s <= 0 the value is clamped before shifting, which gives
// the same clamped result and cannot overflow.
fn round_shift_clamp(acc: I64, s: i32, mode: u32, lo: i32, hi: i32) -> i32 {
  if (s <= 0) {
    let k = u32(min(-s, 32));
    let v = i64_clamp_to_i32(acc, lo, hi);
    return i64_clamp_to_i32(i64_shl(i64_from_i32(v), k), lo, hi);
  }
  let us = u32(s);
  let floorQ = i64_shr(acc, us);
  let rem = i64_sub(acc, i64_shl(floorQ, us)); // in [0, 2^s)
  let half = i64_shl(I64(1u, 0u), us - 1u);
  var q = floorQ;
  if (i64_lt(half, rem)) {
    q = i64_add(q, I64(1u, 0u));
  } else if (i64_eq(rem, half)) {
    let up = select((floorQ.x & 1u) == 1u, !i64_is_neg(acc), mode == ROUND_HALF_AWAY);
    if (up) {
      q = i64_add(q, I64(1u, 0u));
    }
  }
  return i64_clamp_to_i32(q, lo, hi);
}

// Low 64 bits of an i64 times a non-negative u32 (exact when the product fits).
fn i64_mul_u32(a: I64, m: u32) -> I64 {
  let lo = u64_mul_u32(a.x, m);
  return I64(lo.x, lo.y + a.y * m);
}

// Q16 with a real scale: reduced 15-bit multiplier, then the rounding shift.
fn requant_linear64(acc: I64, m0: i32, shift: i32, mode: u32, lo: i32, hi: i32) -> i32 {
  let r = select(0x7fffu, (bitcast<u32>(m0) + 0x8000u) >> 16u, m0 < 0x7fff0000);
  return round_shift_clamp(i64_mul_u32(acc, r), 15 - shift, mode, lo, hi);
}
