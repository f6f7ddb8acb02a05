// int-ops.wgsl (test only): runs one integer library operation per element so
// that test/int64.gpu.test.ts can compare it with the BigInt reference.
// Compiled after shaders/int64.wgsl and shaders/requant.wgsl.
// Ops: 0 i64_mul_i32(a, b) -> (lo, hi); 1 srdhm(a, b); 2 rdbpot(a, b & 31);
// 3 mbqm(a, b, c); 4 round_shift_clamp((a, b), c, mode, -32768, 32767);
// 5 requant_linear64((a, b), m0 = c, shift = d, mode, -32768, 32767).

struct Params {
  op: u32,
  mode: u32,
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(3) var<storage, read> c: array<i32>;
@group(0) @binding(4) var<storage, read> d: array<i32>;
@group(0) @binding(5) var<storage, read_write> result: array<i32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.count) {
    return;
  }
  switch params.op {
    case 0u: {
      let p = i64_mul_i32(a[i], b[i]);
      result[2u * i] = bitcast<i32>(p.x);
      result[2u * i + 1u] = bitcast<i32>(p.y);
    }
    case 1u: { result[2u * i] = srdhm(a[i], b[i]); }
    case 2u: { result[2u * i] = rdbpot(a[i], u32(b[i]) & 31u); }
    case 3u: { result[2u * i] = mbqm(a[i], b[i], c[i]); }
    case 4u: { result[2u * i] = round_shift_clamp(I64(bitcast<u32>(a[i]), bitcast<u32>(b[i])), c[i], params.mode, -32768, 32767); }
    case 5u: { result[2u * i] = requant_linear64(I64(bitcast<u32>(a[i]), bitcast<u32>(b[i])), c[i], d[i], params.mode, -32768, 32767); }
    default: { result[2u * i] = 0; }
  }
}
