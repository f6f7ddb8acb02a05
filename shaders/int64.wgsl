// int64.wgsl: exact 64-bit signed integer arithmetic for WGSL, which has no i64.
//
// Library file, no bindings: kernels that need it are compiled with this file
// prepended (src/gpu/shader-lib.ts). An i64 is a vec2<u32>(lo, hi) in two's
// complement: value = hi * 2^32 + lo with hi read as signed. All operations are
// exact (wrapping only where the mathematical result leaves [-2^63, 2^63),
// which the callers' documented bounds exclude).
// CPU mirror: src/quant/int64.ts (BigInt), tested element-wise against this
// file in test/int64.gpu.test.ts.

alias I64 = vec2<u32>;

fn i64_from_i32(x: i32) -> I64 {
  return I64(bitcast<u32>(x), select(0u, 0xffffffffu, x < 0));
}

fn i64_is_neg(a: I64) -> bool {
  return (a.y & 0x80000000u) != 0u;
}

fn i64_add(a: I64, b: I64) -> I64 {
  let lo = a.x + b.x;
  let carry = select(0u, 1u, lo < a.x);
  return I64(lo, a.y + b.y + carry);
}

fn i64_add_i32(a: I64, x: i32) -> I64 {
  return i64_add(a, i64_from_i32(x));
}

fn i64_neg(a: I64) -> I64 {
  return i64_add(I64(~a.x, ~a.y), I64(1u, 0u));
}

fn i64_sub(a: I64, b: I64) -> I64 {
  return i64_add(a, i64_neg(b));
}

// Unsigned 32 x 32 -> 64 product, from four 16 x 16 -> 32 partial products.
fn u64_mul_u32(a: u32, b: u32) -> I64 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  // middle = p01 + p10 may carry into bit 32.
  let mid = p01 + p10;
  let midCarry = select(0u, 0x10000u, mid < p01);
  let lo = p00 + (mid << 16u);
  let loCarry = select(0u, 1u, lo < p00);
  let hi = p11 + (mid >> 16u) + midCarry + loCarry;
  return I64(lo, hi);
}

// Exact signed 32 x 32 -> 64 product.
fn i64_mul_i32(a: i32, b: i32) -> I64 {
  let ua = select(bitcast<u32>(a), 0u - bitcast<u32>(a), a < 0);
  let ub = select(bitcast<u32>(b), 0u - bitcast<u32>(b), b < 0);
  let p = u64_mul_u32(ua, ub);
  return select(p, i64_neg(p), (a < 0) != (b < 0));
}

// Arithmetic shift right by s in [0, 63] (rounds towards -inf).
fn i64_shr(a: I64, s: u32) -> I64 {
  if (s == 0u) {
    return a;
  }
  let hiS = bitcast<i32>(a.y);
  if (s < 32u) {
    return I64((a.x >> s) | (a.y << (32u - s)), bitcast<u32>(hiS >> s));
  }
  return I64(bitcast<u32>(hiS >> (s - 32u)), bitcast<u32>(hiS >> 31u));
}

// Shift left by s in [0, 63] (bits shifted out are lost).
fn i64_shl(a: I64, s: u32) -> I64 {
  if (s == 0u) {
    return a;
  }
  if (s < 32u) {
    return I64(a.x << s, (a.y << s) | (a.x >> (32u - s)));
  }
  return I64(0u, a.x << (s - 32u));
}

fn i64_lt(a: I64, b: I64) -> bool {
  let ah = bitcast<i32>(a.y);
  let bh = bitcast<i32>(b.y);
  return ah < bh || (ah == bh && a.x < b.x);
}

fn i64_eq(a: I64, b: I64) -> bool {
  return a.x == b.x && a.y == b.y;
}

// Clamp to [lo, hi] (both i32) and return as i32.
fn i64_clamp_to_i32(a: I64, lo: i32, hi: i32) -> i32 {
  if (i64_lt(a, i64_from_i32(lo))) {
    return lo;
  }
  if (i64_lt(i64_from_i32(hi), a)) {
    return hi;
  }
  return bitcast<i32>(a.x);
}
