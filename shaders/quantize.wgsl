// quantize.wgsl: per-channel quantize, dequantize and min/max reduction passes.
//
// Tensors are flat f32 arrays seen as [outer, channels, inner] (C order): the
// quantization slice of element i is (i / inner) % channels. Per tensor:
// channels = 1. NCHW activations: outer 1, channels C, inner H*W; OIHW weights:
// outer 1, channels O, inner I*kh*kw.
//
// quantize (entry `quantize`), the formula of src/quant/scheme.ts:
//   xc = clamp(x, -bound[c], bound[c]); q = clamp(round_mode(xc * invScale[c]) + zeroPoint[c], qmin, qmax)
//   xc * invScale is one correctly rounded f32 multiplication (invScale is the
//   f32 inverse scale the host computed once; for power-of-two scales exactly
//   2^f); the pre-clamp to bound = s * 2^17 never changes q and keeps the
//   product finite; round_mode is round() (ties to even) or ties away from
//   zero (trunc, then +-1 when the dropped fraction is >= 0.5, exact in f32);
//   zero point added and clamp done in f32 (exact: all integers < 2^24).
//   Output packed little-endian into u32 words: 4 uint8 (BITS = 8) or 2 int16
//   (BITS = 16, two's complement) per word; one invocation writes one word.
// dequantize (entry `dequantize`): x' = f32(q - zeroPoint[c]) * scale[c], one
//   correctly rounded f32 multiplication; q read from the packed words.
// minmax (entry `minmax`): one workgroup per channel writes min and max of
//   its slice to rangeOut[2c], rangeOut[2c + 1].
// CPU reference: src/quant/scheme.ts (quantizeTensor / dequantizeTensor) and
// src/calibrate/observers.ts (MinMaxObserver); bit-exact, tested in
// test/quantize.gpu.test.ts.

override BITS: u32 = 8u;
override WG: u32 = 256u;

const ROUND_HALF_EVEN: u32 = 0u;

struct Params {
  count: u32,      // elements in the tensor
  channels: u32,
  inner: u32,
  qmin: i32,
  qmax: i32,
  rounding: u32,   // 0 half to even, 1 half away from zero
  rowPitch: u32,   // invocations per row of the 2-D dispatch grid
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> invScale: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> zeroPoint: array<i32>;
@group(0) @binding(5) var<storage, read_write> packed: array<u32>;
@group(0) @binding(6) var<storage, read> packedIn: array<u32>;
@group(0) @binding(7) var<storage, read_write> dequantized: array<f32>;
@group(0) @binding(8) var<storage, read_write> rangeOut: array<f32>;
@group(0) @binding(9) var<storage, read> bound: array<f32>;

fn perWord() -> u32 {
  return 32u / BITS;
}

fn channelOf(i: u32) -> u32 {
  return (i / params.inner) % params.channels;
}

fn roundMode(v: f32) -> f32 {
  if (params.rounding == ROUND_HALF_EVEN) {
    return round(v);
  }
  let t = trunc(v);
  let frac = abs(v - t);
  return select(t, t + sign(v), frac >= 0.5);
}

fn quantizeOne(i: u32) -> i32 {
  let c = channelOf(i);
  let xc = clamp(values[i], -bound[c], bound[c]);
  let q = roundMode(xc * invScale[c]) + f32(zeroPoint[c]);
  return i32(clamp(q, f32(params.qmin), f32(params.qmax)));
}

fn unpack(word: u32, lane: u32) -> i32 {
  if (BITS == 8u) {
    return i32((word >> (8u * lane)) & 0xffu);
  }
  return bitcast<i32>(word << (16u - 16u * lane)) >> 16u;
}

@compute @workgroup_size(WG)
fn quantize(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = gid.x + gid.y * params.rowPitch;
  let first = w * perWord();
  if (first >= params.count) {
    return;
  }
  let mask = (1u << BITS) - 1u;
  var word = 0u;
  for (var lane = 0u; lane < perWord(); lane++) {
    let i = first + lane;
    if (i < params.count) {
      word |= (bitcast<u32>(quantizeOne(i)) & mask) << (BITS * lane);
    }
  }
  packed[w] = word;
}

@compute @workgroup_size(WG)
fn dequantize(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowPitch;
  if (i >= params.count) {
    return;
  }
  let q = unpack(packedIn[i / perWord()], i % perWord());
  let c = channelOf(i);
  dequantized[i] = f32(q - zeroPoint[c]) * scale[c];
}

var<workgroup> wgMin: array<f32, WG>;
var<workgroup> wgMax: array<f32, WG>;

@compute @workgroup_size(WG)
fn minmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let perChannel = params.count / params.channels;
  var lo = 3.4028234663852886e38;
  var hi = -3.4028234663852886e38;
  // Element k of the channel's slice: outer index k / inner, inner index k % inner.
  for (var k = lid; k < perChannel; k += WG) {
    let i = ((k / params.inner) * params.channels + c) * params.inner + k % params.inner;
    let v = values[i];
    lo = min(lo, v);
    hi = max(hi, v);
  }
  wgMin[lid] = lo;
  wgMax[lid] = hi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      wgMin[lid] = min(wgMin[lid], wgMin[lid + s]);
      wgMax[lid] = max(wgMax[lid], wgMax[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    rangeOut[2u * c] = wgMin[0];
    rangeOut[2u * c + 1u] = wgMax[0];
  }
}
