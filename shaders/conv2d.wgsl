// conv2d.wgsl: fp32 2-D convolution, batch 1.
//
// Computes out[co, oy, ox] = bias[co] + sum_{ci, ky, kx} w[co, ci, ky, kx] *
//   in[ci, oy*strideH - padTop + ky*dilationH, ox*strideW - padLeft + kx*dilationW]
// with zero outside the input. Layouts are PyTorch's: input CHW, weight OIHW,
// output CHW, all f32, flat.
// Work split: one invocation computes CO_PER_THREAD output channels of one
// output pixel; workgroup (TILE_X, TILE_Y) pixels; dispatch
// (ceil(outW / TILE_X), ceil(outH / TILE_Y), ceil(outChannels / CO_PER_THREAD)).
// Reference: src/cpu/conv2d.ts (accumulates in f64 in the same order; the
// tolerance is in test/tolerance.ts). No rounding or clamping beyond f32 arithmetic.

override TILE_X: u32 = 8u;
override TILE_Y: u32 = 8u;
const CO_PER_THREAD: u32 = 4u;

struct Params {
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
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
  let ox = gid.x;
  let oy = gid.y;
  let co0 = gid.z * CO_PER_THREAD;
  if (ox >= params.outWidth || oy >= params.outHeight || co0 >= params.outChannels) {
    return;
  }
  let kArea = params.kernelHeight * params.kernelWidth;
  let wStride = params.inChannels * kArea; // elements between consecutive output channels
  var acc = vec4<f32>(0.0);
  let iy0 = i32(oy * params.stride.x) - i32(params.pad.x);
  let ix0 = i32(ox * params.stride.y) - i32(params.pad.y);
  for (var ci = 0u; ci < params.inChannels; ci++) {
    let inBase = ci * params.inHeight * params.inWidth;
    for (var ky = 0u; ky < params.kernelHeight; ky++) {
      let iy = iy0 + i32(ky * params.dilation.x);
      if (iy < 0 || iy >= i32(params.inHeight)) { continue; }
      for (var kx = 0u; kx < params.kernelWidth; kx++) {
        let ix = ix0 + i32(kx * params.dilation.y);
        if (ix < 0 || ix >= i32(params.inWidth)) { continue; }
        let x = input[inBase + u32(iy) * params.inWidth + u32(ix)];
        let wi = co0 * wStride + ci * kArea + ky * params.kernelWidth + kx;
        var w = vec4<f32>(0.0);
        w.x = weight[wi];
        if (co0 + 1u < params.outChannels) { w.y = weight[wi + wStride]; }
        if (co0 + 2u < params.outChannels) { w.z = weight[wi + 2u * wStride]; }
        if (co0 + 3u < params.outChannels) { w.w = weight[wi + 3u * wStride]; }
        acc += w * x;
      }
    }
  }
  let plane = params.outHeight * params.outWidth;
  let pix = oy * params.outWidth + ox;
  for (var j = 0u; j < CO_PER_THREAD; j++) {
    let co = co0 + j;
    if (co < params.outChannels) {
      var b = 0.0;
      if (params.hasBias != 0u) { b = bias[co]; }
      output[co * plane + pix] = acc[j] + b;
    }
  }
}
