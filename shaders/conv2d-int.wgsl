// conv2d-int.wgsl: integer 2-D convolution (dense or depthwise), batch 1, with
// integer-only requantization. Compiled after int64.wgsl and requant.wgsl.
//
// Operands (PyTorch layouts, quantized, packed little-endian in u32 words:
// 4 x uint8 when BITS = 8, 2 x int16 when BITS = 16):
//   input  [C_in, H, W]            per-tensor zero point params.inputZero
//   weight [C_out, C_in / groups, kh, kw]  per-output-channel zero point weightZero[co]
//   bias   int32 (BITS 8) or int64 as (lo, hi) i32 pairs (BITS 16), at scale s_in * s_w[co]
// groups = 1 (dense) or C_in = C_out (depthwise, params.depthwise = 1).
//
// Accumulator (exact, never wraps):
//   BITS 8: acc = bias + sum (q_in - z_in) * (q_w - z_w) in i32. |each term| <= 255^2, the host
//           refuses reductions where n * 255^2 + |bias| could reach 2^31 (n > ~33,000).
//   BITS 16: zero points are 0; each product of two int16 fits i32 (|p| <= 2^30) and is added
//           to an exact 64-bit accumulator (int64.wgsl). The host bounds n * 2^30 + |bias| < 2^62.
// Padding contributes real 0, i.e. q = z_in, i.e. nothing: those taps are skipped.
//
// Requantization to the output's per-channel parameters (requant.wgsl):
//   rule 0 (Q8):          q_out = clamp(mbqm(acc, multiplier[co], shift[co]) + outZero[co], qmin, qmax)
//   rule 1 (Q16 pow2):    q_out = round_shift_clamp(acc, shift[co], rounding, qmin, qmax)
//   rule 2 (Q16 linear):  q_out = requant_linear64(acc, multiplier[co], shift[co], rounding, qmin, qmax)
// Outputs: qOut[i] (i32, one per output element, CHW) and acc[i] (BITS 8: one i32;
// BITS 16: (lo, hi) pair at 2i, 2i + 1) when params.writeAcc = 1.
// One invocation per output element; 2-D dispatch grid of rowPitch invocations per row.
// CPU reference: src/cpu/conv2d-int.ts, bit-exact (test/conv2d-int.gpu.test.ts).

override BITS: u32 = 8u;
override WG: u32 = 64u;

struct Params {
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  kernelHeight: u32,
  kernelWidth: u32,
  stride: vec2<u32>,
  dilation: vec2<u32>,
  pad: vec2<u32>,
  depthwise: u32,
  inputZero: i32,
  rule: u32,
  rounding: u32,
  qmin: i32,
  qmax: i32,
  writeAcc: u32,
  rowPitch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> weight: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<i32>;
@group(0) @binding(4) var<storage, read> weightZero: array<i32>;
@group(0) @binding(5) var<storage, read> multiplier: array<i32>;
@group(0) @binding(6) var<storage, read> shift: array<i32>;
@group(0) @binding(7) var<storage, read> outZero: array<i32>;
@group(0) @binding(8) var<storage, read_write> qOut: array<i32>;
@group(0) @binding(9) var<storage, read_write> acc: array<i32>;

fn load(buf: ptr<storage, array<u32>, read>, i: u32) -> i32 {
  if (BITS == 8u) {
    return i32(((*buf)[i >> 2u] >> (8u * (i & 3u))) & 0xffu);
  }
  return bitcast<i32>((*buf)[i >> 1u] << (16u - 16u * (i & 1u))) >> 16u;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * params.rowPitch;
  let plane = params.outHeight * params.outWidth;
  if (idx >= params.outChannels * plane) {
    return;
  }
  let co = idx / plane;
  let pix = idx % plane;
  let oy = pix / params.outWidth;
  let ox = pix % params.outWidth;
  let cinPerGroup = select(params.inChannels, 1u, params.depthwise == 1u);
  let ci0 = select(0u, co, params.depthwise == 1u);
  let kArea = params.kernelHeight * params.kernelWidth;
  let wz = weightZero[co];
  let iy0 = i32(oy * params.stride.x) - i32(params.pad.x);
  let ix0 = i32(ox * params.stride.y) - i32(params.pad.y);

  var acc32 = 0;
  var acc64 = I64(0u, 0u);
  if (BITS == 8u) {
    acc32 = bias[co];
  } else {
    acc64 = I64(bitcast<u32>(bias[2u * co]), bitcast<u32>(bias[2u * co + 1u]));
  }
  for (var cg = 0u; cg < cinPerGroup; cg++) {
    let ci = ci0 + cg;
    let inBase = ci * params.inHeight * params.inWidth;
    let wBase = (co * cinPerGroup + cg) * kArea;
    for (var ky = 0u; ky < params.kernelHeight; ky++) {
      let iy = iy0 + i32(ky * params.dilation.x);
      if (iy < 0 || iy >= i32(params.inHeight)) { continue; }
      for (var kx = 0u; kx < params.kernelWidth; kx++) {
        let ix = ix0 + i32(kx * params.dilation.y);
        if (ix < 0 || ix >= i32(params.inWidth)) { continue; }
        let x = load(&input, inBase + u32(iy) * params.inWidth + u32(ix)) - params.inputZero;
        let w = load(&weight, wBase + ky * params.kernelWidth + kx) - wz;
        if (BITS == 8u) {
          acc32 += x * w;
        } else {
          acc64 = i64_add_i32(acc64, x * w);
        }
      }
    }
  }

  var q: i32;
  if (BITS == 8u) {
    // Pre-clamping to +-2^17 cannot change the final clamp (|outZero|, |qmin|, |qmax| < 2^16) and keeps the add from wrapping.
    q = clamp(clamp(mbqm(acc32, multiplier[co], shift[co]), -131072, 131072) + outZero[co], params.qmin, params.qmax);
    if (params.writeAcc == 1u) { acc[idx] = acc32; }
  } else {
    if (params.rule == 1u) {
      q = round_shift_clamp(acc64, shift[co], params.rounding, params.qmin, params.qmax);
    } else {
      q = requant_linear64(acc64, multiplier[co], shift[co], params.rounding, params.qmin, params.qmax);
    }
    if (params.writeAcc == 1u) {
      acc[2u * idx] = bitcast<i32>(acc64.x);
      acc[2u * idx + 1u] = bitcast<i32>(acc64.y);
    }
  }
  qOut[idx] = q;
}
