// depthwise-conv2d.wgsl: fp32 depthwise 2-D convolution (channel multiplier 1), batch 1.
//
// Computes out[c, oy, ox] = bias[c] + sum_{ky, kx} w[c, 0, ky, kx] *
//   in[c, oy*strideH - padTop + ky*dilationH, ox*strideW - padLeft + kx*dilationW]
// with zero outside the input. Layouts are PyTorch's: input CHW, weight
// [C, 1, kh, kw], bias [C], output CHW, all f32, flat.
// Work split: one invocation computes PX_PER_THREAD horizontally adjacent
// outputs of one channel, so each weight is loaded once per PX_PER_THREAD
// outputs and the row bounds test is shared; a workgroup covers
// (TILE_X * PX_PER_THREAD) x TILE_Y outputs of one channel; dispatch
// (ceil(outW / (TILE_X * PX_PER_THREAD)), ceil(outH / TILE_Y), channels).
// Reference: src/cpu/depthwise-conv2d.ts (f64 accumulation; the tolerance is
// dotTolerance(kh * kw, magnitude) in test/tolerance.ts). No rounding or
// clamping beyond f32 arithmetic.

override TILE_X: u32 = 16u;
override TILE_Y: u32 = 4u;
const PX_PER_THREAD: u32 = 4u;

struct Params {
  channels: u32,
  inHeight: u32,
  inWidth: u32,
  outHeight: u32,
  outWidth: u32,
  kernelHeight: u32,
  kernelWidth: u32,
  stride: vec2<u32>,    // (h, w)
  dilation: vec2<u32>,  // (h, w)
  pad: vec2<u32>,       // (top, left)
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(TILE_X, TILE_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ox0 = gid.x * PX_PER_THREAD;
  let oy = gid.y;
  let c = gid.z;
  if (ox0 >= params.outWidth || oy >= params.outHeight || c >= params.channels) {
    return;
  }
  let inW = i32(params.inWidth);
  let inBase = c * params.inHeight * params.inWidth;
  let wBase = c * params.kernelHeight * params.kernelWidth;
  let iy0 = i32(oy * params.stride.x) - i32(params.pad.x);
  // Input columns of the PX_PER_THREAD outputs for kx = 0, stepped by the stride.
  let sw = i32(params.stride.y);
  let ix0 = vec4<i32>(i32(ox0 * params.stride.y) - i32(params.pad.y)) + vec4<i32>(0, 1, 2, 3) * sw;
  var acc = vec4<f32>(0.0);
  for (var ky = 0u; ky < params.kernelHeight; ky++) {
    let iy = iy0 + i32(ky * params.dilation.x);
    if (iy < 0 || iy >= i32(params.inHeight)) { continue; }
    let row = inBase + u32(iy) * params.inWidth;
    for (var kx = 0u; kx < params.kernelWidth; kx++) {
      let w = weight[wBase + ky * params.kernelWidth + kx];
      let ix = ix0 + vec4<i32>(i32(kx * params.dilation.y));
      let inside = (ix >= vec4<i32>(0)) & (ix < vec4<i32>(inW));
      // Clamped indices keep every load in bounds; `select` zeroes the padding.
      let cx = vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(inW - 1)));
      let x = vec4<f32>(input[row + cx.x], input[row + cx.y], input[row + cx.z], input[row + cx.w]);
      acc += w * select(vec4<f32>(0.0), x, inside);
    }
  }
  var b = 0.0;
  if (params.hasBias != 0u) { b = bias[c]; }
  let outBase = c * params.outHeight * params.outWidth + oy * params.outWidth;
  for (var j = 0u; j < PX_PER_THREAD; j++) {
    if (ox0 + j < params.outWidth) {
      output[outBase + ox0 + j] = acc[j] + b;
    }
  }
}
