// conv2d.wgsl: fp32 2-D convolution, batch 1.
//
// Computes out[co, oy, ox] = bias[co] + sum_{ci, ky, kx} w[co, ci, ky, kx] *
//   in[ci, oy*strideH - padTop + ky*dilationH, ox*strideW - padLeft + kx*dilationW]
// with zero outside the input. Host layouts are PyTorch's: input CHW, weight
// OIHW, output CHW, all f32, flat. Three entry points, dispatched in this order
// by src/gpu/kernels/conv2d.ts:
//
// `pad`: source (CHW input) -> padded [C, padHeight, padWidth], zero outside
//   the input: padded[c, y, x] = in[c, y - padTop, x - padLeft]. The padded
//   extent covers every input position any invocation of `main` reads (output
//   tiles rounded up), so `main` has no bounds tests in its inner loops.
//   One invocation per padded element; workgroup (PAD_WG); dispatch
//   (ceil(padWidth / PAD_WG), padHeight, C).
// `packWeights`: source (OIHW weight) -> packed, for output channels
//   [coBase, coBase + coCount): for block b of CO_BLOCK = 8 channels, input
//   channel ci and tap t = ky * kw + kx, the 8 weights w[coBase + 8b + j, ci, ky, kx]
//   (zero past the last channel) as two vec4s at packed[2 * ((b * Cin + ci) * kArea + t)].
//   Adjacent taps are adjacent in memory, in the order `main` reads them.
// `main`: reads `input` (= the padded input) and `weight` (= the packed
//   weights). One invocation computes ROWS = 4 output rows x PX = 8 adjacent
//   output columns x CO_BLOCK = 8 output channels (256 accumulators): every
//   weight it loads serves 32 outputs and every input value 8. Workgroup
//   (TILE_X, TILE_Y); dispatch (ceil(outW / (8 TILE_X)), ceil(outH / (4 TILE_Y)),
//   ceil(outChannels / 8)).
//   KERNEL_3X3_S1 (pipeline override) selects a path for 3x3 kernels with
//   stride 1 and dilation 1 that slides a register window along each input
//   row (one new load per tap and row instead of eight); otherwise a generic
//   loop serves any kernel, stride and dilation.
//
// Performance notes (measured on SwiftShader, where loads are per-lane
// gathers and loop overheads are high; also sensible on hardware): register
// blocking and unrolled taps cut loads 20x against one invocation per output
// pixel; fma() halves the arithmetic cost there. No workgroup memory or
// barriers (expensive on software adapters; weights are read from cache).
//
// Compiled after row-block.wgsl (struct Row, fn mac).
//
// Reference: src/cpu/conv2d.ts (accumulates in f64; the tolerance is
// dotTolerance in test/tolerance.ts, which allows any summation order, with or
// without FMA). No rounding or clamping beyond f32 arithmetic.

override TILE_X: u32 = 8u;
override TILE_Y: u32 = 8u;
override KERNEL_3X3_S1: bool = false;
override PAD_WG: u32 = 64u;

const PX: u32 = 8u;
const ROWS: u32 = 4u;
const CO_BLOCK: u32 = 8u;

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
  padHeight: u32,       // extent of the padded input
  padWidth: u32,
  coBase: u32,          // packWeights: first output channel packed
  rowPitch: u32,        // packWeights: invocations per row of the 2-D grid
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<storage, read> source: array<f32>;
@group(0) @binding(6) var<storage, read_write> padded: array<f32>;
@group(0) @binding(7) var<storage, read_write> packed: array<f32>;

@compute @workgroup_size(PAD_WG)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  let c = gid.z;
  if (x >= params.padWidth) {
    return;
  }
  let iy = i32(y) - i32(params.pad.x);
  let ix = i32(x) - i32(params.pad.y);
  let inside = iy >= 0 && iy < i32(params.inHeight) && ix >= 0 && ix < i32(params.inWidth);
  // Clamped, the load stays in bounds; select() zeroes the padding.
  let at = (c * params.inHeight + u32(clamp(iy, 0, i32(params.inHeight) - 1))) * params.inWidth + u32(clamp(ix, 0, i32(params.inWidth) - 1));
  padded[(c * params.padHeight + y) * params.padWidth + x] = select(0.0, source[at], inside);
}

@compute @workgroup_size(PAD_WG)
fn packWeights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowPitch;
  let kArea = params.kernelHeight * params.kernelWidth;
  let blocks = (params.outChannels + CO_BLOCK - 1u) / CO_BLOCK;
  if (i >= blocks * CO_BLOCK * params.inChannels * kArea) {
    return;
  }
  // i = ((b * Cin + ci) * kArea + t) * 8 + j
  let j = i % CO_BLOCK;
  let t = (i / CO_BLOCK) % kArea;
  let ci = (i / (CO_BLOCK * kArea)) % params.inChannels;
  let b = i / (CO_BLOCK * kArea * params.inChannels);
  let co = b * CO_BLOCK + j;
  var v = 0.0;
  if (co < params.outChannels) {
    v = source[((params.coBase + co) * params.inChannels + ci) * kArea + t];
  }
  packed[i] = v;
}

// Eight inputs of one row, `step` apart, as two vec4s.
fn load8(at: u32, step: u32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(
    vec4<f32>(input[at], input[at + step], input[at + 2u * step], input[at + 3u * step]),
    vec4<f32>(input[at + 4u * step], input[at + 5u * step], input[at + 6u * step], input[at + 7u * step]),
  );
}

// A window of 8 adjacent inputs moved one column right: drop the first, append `next`.
fn slide(x: array<vec4<f32>, 2>, next: f32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(vec4<f32>(x[0].yzw, x[1].x), vec4<f32>(x[1].yzw, next));
}

fn store4(v: vec4<f32>, at: u32, ox: u32) {
  let w = params.outWidth;
  if (ox < w) { output[at] = v.x; }
  if (ox + 1u < w) { output[at + 1u] = v.y; }
  if (ox + 2u < w) { output[at + 2u] = v.z; }
  if (ox + 3u < w) { output[at + 3u] = v.w; }
}

fn storeChannel(a: vec4<f32>, b: vec4<f32>, co: u32, oy: u32, ox0: u32) {
  if (co >= params.outChannels) {
    return;
  }
  var bv = 0.0;
  if (params.hasBias != 0u) { bv = bias[co]; }
  let at = (co * params.outHeight + oy) * params.outWidth + ox0;
  store4(a + bv, at, ox0);
  store4(b + bv, at + 4u, ox0 + 4u);
}

fn storeRow(r: Row, co0: u32, oy: u32, ox0: u32) {
  if (oy >= params.outHeight) {
    return;
  }
  storeChannel(r.c0a, r.c0b, co0, oy, ox0);
  storeChannel(r.c1a, r.c1b, co0 + 1u, oy, ox0);
  storeChannel(r.c2a, r.c2b, co0 + 2u, oy, ox0);
  storeChannel(r.c3a, r.c3b, co0 + 3u, oy, ox0);
  storeChannel(r.c4a, r.c4b, co0 + 4u, oy, ox0);
  storeChannel(r.c5a, r.c5b, co0 + 5u, oy, ox0);
  storeChannel(r.c6a, r.c6b, co0 + 6u, oy, ox0);
  storeChannel(r.c7a, r.c7b, co0 + 7u, oy, ox0);
}

@compute @workgroup_size(TILE_X, TILE_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ox0 = gid.x * PX;
  let oy0 = gid.y * ROWS;
  let coBlock = gid.z;
  let kArea = params.kernelHeight * params.kernelWidth;
  let pw = params.padWidth;
  let inPlane = params.padHeight * pw;
  var r0 = Row();
  var r1 = Row();
  var r2 = Row();
  var r3 = Row();
  var wi = 2u * coBlock * params.inChannels * kArea;
  if (KERNEL_3X3_S1) {
    // Input row i of the tile feeds output row r with ky = i - r: six input rows serve four output rows.
    for (var ci = 0u; ci < params.inChannels; ci++) {
      let rowAt = ci * inPlane + oy0 * pw + ox0;
      { // input row 0: output row 0 (ky 0)
        let at = rowAt + 0u * pw;
        var x = load8(at, 1u);
        r0 = mac(r0, weight[wi + 0u], weight[wi + 1u], x[0], x[1]);
        x = slide(x, input[at + 8u]);
        r0 = mac(r0, weight[wi + 2u], weight[wi + 3u], x[0], x[1]);
        x = slide(x, input[at + 9u]);
        r0 = mac(r0, weight[wi + 4u], weight[wi + 5u], x[0], x[1]);
      }
      { // input row 1: output row 0 (ky 1), output row 1 (ky 0)
        let at = rowAt + 1u * pw;
        var x = load8(at, 1u);
        r0 = mac(r0, weight[wi + 6u], weight[wi + 7u], x[0], x[1]);
        r1 = mac(r1, weight[wi + 0u], weight[wi + 1u], x[0], x[1]);
        x = slide(x, input[at + 8u]);
        r0 = mac(r0, weight[wi + 8u], weight[wi + 9u], x[0], x[1]);
        r1 = mac(r1, weight[wi + 2u], weight[wi + 3u], x[0], x[1]);
        x = slide(x, input[at + 9u]);
        r0 = mac(r0, weight[wi + 10u], weight[wi + 11u], x[0], x[1]);
        r1 = mac(r1, weight[wi + 4u], weight[wi + 5u], x[0], x[1]);
      }
      { // input row 2: output row 0 (ky 2), output row 1 (ky 1), output row 2 (ky 0)
        let at = rowAt + 2u * pw;
        var x = load8(at, 1u);
        r0 = mac(r0, weight[wi + 12u], weight[wi + 13u], x[0], x[1]);
        r1 = mac(r1, weight[wi + 6u], weight[wi + 7u], x[0], x[1]);
        r2 = mac(r2, weight[wi + 0u], weight[wi + 1u], x[0], x[1]);
        x = slide(x, input[at + 8u]);
        r0 = mac(r0, weight[wi + 14u], weight[wi + 15u], x[0], x[1]);
        r1 = mac(r1, weight[wi + 8u], weight[wi + 9u], x[0], x[1]);
        r2 = mac(r2, weight[wi + 2u], weight[wi + 3u], x[0], x[1]);
        x = slide(x, input[at + 9u]);
        r0 = mac(r0, weight[wi + 16u], weight[wi + 17u], x[0], x[1]);
        r1 = mac(r1, weight[wi + 10u], weight[wi + 11u], x[0], x[1]);
        r2 = mac(r2, weight[wi + 4u], weight[wi + 5u], x[0], x[1]);
      }
      { // input row 3: output row 1 (ky 2), output row 2 (ky 1), output row 3 (ky 0)
        let at = rowAt + 3u * pw;
        var x = load8(at, 1u);
        r1 = mac(r1, weight[wi + 12u], weight[wi + 13u], x[0], x[1]);
        r2 = mac(r2, weight[wi + 6u], weight[wi + 7u], x[0], x[1]);
        r3 = mac(r3, weight[wi + 0u], weight[wi + 1u], x[0], x[1]);
        x = slide(x, input[at + 8u]);
        r1 = mac(r1, weight[wi + 14u], weight[wi + 15u], x[0], x[1]);
        r2 = mac(r2, weight[wi + 8u], weight[wi + 9u], x[0], x[1]);
        r3 = mac(r3, weight[wi + 2u], weight[wi + 3u], x[0], x[1]);
        x = slide(x, input[at + 9u]);
        r1 = mac(r1, weight[wi + 16u], weight[wi + 17u], x[0], x[1]);
        r2 = mac(r2, weight[wi + 10u], weight[wi + 11u], x[0], x[1]);
        r3 = mac(r3, weight[wi + 4u], weight[wi + 5u], x[0], x[1]);
      }
      { // input row 4: output row 2 (ky 2), output row 3 (ky 1)
        let at = rowAt + 4u * pw;
        var x = load8(at, 1u);
        r2 = mac(r2, weight[wi + 12u], weight[wi + 13u], x[0], x[1]);
        r3 = mac(r3, weight[wi + 6u], weight[wi + 7u], x[0], x[1]);
        x = slide(x, input[at + 8u]);
        r2 = mac(r2, weight[wi + 14u], weight[wi + 15u], x[0], x[1]);
        r3 = mac(r3, weight[wi + 8u], weight[wi + 9u], x[0], x[1]);
        x = slide(x, input[at + 9u]);
        r2 = mac(r2, weight[wi + 16u], weight[wi + 17u], x[0], x[1]);
        r3 = mac(r3, weight[wi + 10u], weight[wi + 11u], x[0], x[1]);
      }
      { // input row 5: output row 3 (ky 2)
        let at = rowAt + 5u * pw;
        var x = load8(at, 1u);
        r3 = mac(r3, weight[wi + 12u], weight[wi + 13u], x[0], x[1]);
        x = slide(x, input[at + 8u]);
        r3 = mac(r3, weight[wi + 14u], weight[wi + 15u], x[0], x[1]);
        x = slide(x, input[at + 9u]);
        r3 = mac(r3, weight[wi + 16u], weight[wi + 17u], x[0], x[1]);
      }
      wi += 18u;
    }
  } else {
    let sh = params.stride.x;
    let sw = params.stride.y;
    for (var ci = 0u; ci < params.inChannels; ci++) {
      for (var ky = 0u; ky < params.kernelHeight; ky++) {
        let rowAt = ci * inPlane + (oy0 * sh + ky * params.dilation.x) * pw + ox0 * sw;
        for (var kx = 0u; kx < params.kernelWidth; kx++) {
          let at = rowAt + kx * params.dilation.y;
          let w0 = weight[wi];
          let w1 = weight[wi + 1u];
          wi += 2u;
          let x0 = load8(at, sw);
          r0 = mac(r0, w0, w1, x0[0], x0[1]);
          let x1 = load8(at + sh * pw, sw);
          r1 = mac(r1, w0, w1, x1[0], x1[1]);
          let x2 = load8(at + 2u * sh * pw, sw);
          r2 = mac(r2, w0, w1, x2[0], x2[1]);
          let x3 = load8(at + 3u * sh * pw, sw);
          r3 = mac(r3, w0, w1, x3[0], x3[1]);
        }
      }
    }
  }
  let co0 = coBlock * CO_BLOCK;
  storeRow(r0, co0, oy0, ox0);
  storeRow(r1, co0, oy0 + 1u, ox0);
  storeRow(r2, co0, oy0 + 2u, ox0);
  storeRow(r3, co0, oy0 + 3u, ox0);
}
