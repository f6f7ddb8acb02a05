// depthwise-conv2d.wgsl: fp32 depthwise 2-D convolution (channel multiplier 1), batch 1.
//
// Computes out[c, oy, ox] = bias[c] + sum_{ky, kx} w[c, 0, ky, kx] *
//   in[c, oy*strideH - padTop + ky*dilationH, ox*strideW - padLeft + kx*dilationW]
// with zero outside the input. Layouts are PyTorch's: input CHW, weight
// [C, 1, kh, kw], bias [C], output CHW, all f32, flat.
// Work split: one invocation computes ROWS = 4 output rows x PX = 8 adjacent
// output columns of one channel (32 accumulators): every weight it loads
// serves 32 outputs. Reads outside the input are clamped into it and zeroed
// with select() (no divergent branches); the column indices and their
// validity are computed once per invocation, the row validity once per row.
// A workgroup covers (8 TILE_X) x (4 TILE_Y) outputs of one channel; dispatch
// (ceil(outW / (8 TILE_X)), ceil(outH / (4 TILE_Y)), channels).
// KERNEL_3X3_S1 (pipeline override) selects a path for 3x3 kernels with
// stride 1 and dilation 1: the six input rows under the four output rows are
// each loaded once (10 values) and the nine weights held in registers;
// otherwise a generic loop serves any kernel, stride and dilation.
// Reference: src/cpu/depthwise-conv2d.ts (f64 accumulation; the tolerance is
// dotTolerance(kh * kw, magnitude) in test/tolerance.ts, any order, with or
// without FMA). No rounding or clamping beyond f32 arithmetic.

override TILE_X: u32 = 8u;
override TILE_Y: u32 = 8u;
override KERNEL_3X3_S1: bool = false;

const PX: u32 = 8u;
const ROWS: u32 = 4u;

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

// Four input values of one row at clamped columns `cx`, zero where `ok` is false (or the row is outside).
fn load4(row: u32, cx: vec4<u32>, ok: vec4<bool>) -> vec4<f32> {
  let v = vec4<f32>(input[row + cx.x], input[row + cx.y], input[row + cx.z], input[row + cx.w]);
  return select(vec4<f32>(0.0), v, ok);
}

// Input row iy of channel c: (index of its first element, whether it lies inside the input).
fn rowOf(cBase: u32, iy: i32) -> vec2<u32> {
  let inside = iy >= 0 && iy < i32(params.inHeight);
  return vec2<u32>(cBase + u32(clamp(iy, 0, i32(params.inHeight) - 1)) * params.inWidth, select(0u, 1u, inside));
}

struct Cols {
  c0: vec4<u32>, c1: vec4<u32>, c2: vec4<u32>,
  k0: vec4<bool>, k1: vec4<bool>, k2: vec4<bool>,
}

// Columns first + 0 .. first + 11 (clamped) and whether each lies inside the input.
fn cols12(first: i32) -> Cols {
  let w = i32(params.inWidth);
  let x0 = vec4<i32>(first) + vec4<i32>(0, 1, 2, 3);
  let x1 = x0 + vec4<i32>(4);
  let x2 = x0 + vec4<i32>(8);
  let lo = vec4<i32>(0);
  let hi = vec4<i32>(w - 1);
  return Cols(
    vec4<u32>(clamp(x0, lo, hi)), vec4<u32>(clamp(x1, lo, hi)), vec4<u32>(clamp(x2, lo, hi)),
    (x0 >= lo) & (x0 <= hi), (x1 >= lo) & (x1 <= hi), (x2 >= lo) & (x2 <= hi),
  );
}

// The 10 values of input row `r` under 8 adjacent outputs of a 3-wide kernel: a = 0-3, b = 4-7, c = 8-9 (.xy).
struct Win {
  a: vec4<f32>,
  b: vec4<f32>,
  c: vec4<f32>,
}

fn window(r: vec2<u32>, k: Cols) -> Win {
  let ok = r.y == 1u;
  let okv = vec4<bool>(ok);
  return Win(load4(r.x, k.c0, k.k0 & okv), load4(r.x, k.c1, k.k1 & okv), load4(r.x, k.c2, k.k2 & okv));
}

// Accumulators of one output row: pixels 0-3 and 4-7.
struct Acc {
  a: vec4<f32>,
  b: vec4<f32>,
}

// One kernel row (weights w.xyz) over a window.
fn row3(acc: Acc, x: Win, w: vec3<f32>) -> Acc {
  var a = fma(vec4<f32>(w.x), x.a, acc.a);
  var b = fma(vec4<f32>(w.x), x.b, acc.b);
  a = fma(vec4<f32>(w.y), vec4<f32>(x.a.yzw, x.b.x), a);
  b = fma(vec4<f32>(w.y), vec4<f32>(x.b.yzw, x.c.x), b);
  a = fma(vec4<f32>(w.z), vec4<f32>(x.a.zw, x.b.xy), a);
  b = fma(vec4<f32>(w.z), vec4<f32>(x.b.zw, x.c.xy), b);
  return Acc(a, b);
}

fn store(acc: Acc, c: u32, oy: u32, ox0: u32, b: f32) {
  if (oy >= params.outHeight) {
    return;
  }
  let at = (c * params.outHeight + oy) * params.outWidth + ox0;
  let w = params.outWidth;
  for (var p = 0u; p < 4u; p++) {
    if (ox0 + p < w) { output[at + p] = acc.a[p] + b; }
    if (ox0 + 4u + p < w) { output[at + 4u + p] = acc.b[p] + b; }
  }
}

@compute @workgroup_size(TILE_X, TILE_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ox0 = gid.x * PX;
  let oy0 = gid.y * ROWS;
  let c = gid.z;
  if (ox0 >= params.outWidth || oy0 >= params.outHeight || c >= params.channels) {
    return;
  }
  let cBase = c * params.inHeight * params.inWidth;
  let kArea = params.kernelHeight * params.kernelWidth;
  let wBase = c * kArea;
  let iy0 = i32(oy0 * params.stride.x) - i32(params.pad.x);
  let ix0 = i32(ox0 * params.stride.y) - i32(params.pad.y);
  var r0 = Acc();
  var r1 = Acc();
  var r2 = Acc();
  var r3 = Acc();
  if (KERNEL_3X3_S1) {
    let k = cols12(ix0);
    let w0 = vec3<f32>(weight[wBase], weight[wBase + 1u], weight[wBase + 2u]);
    let w1 = vec3<f32>(weight[wBase + 3u], weight[wBase + 4u], weight[wBase + 5u]);
    let w2 = vec3<f32>(weight[wBase + 6u], weight[wBase + 7u], weight[wBase + 8u]);
    // Input row i feeds output row r with kernel row i - r.
    var x = window(rowOf(cBase, iy0), k);
    r0 = row3(r0, x, w0);
    x = window(rowOf(cBase, iy0 + 1), k);
    r0 = row3(r0, x, w1);
    r1 = row3(r1, x, w0);
    x = window(rowOf(cBase, iy0 + 2), k);
    r0 = row3(r0, x, w2);
    r1 = row3(r1, x, w1);
    r2 = row3(r2, x, w0);
    x = window(rowOf(cBase, iy0 + 3), k);
    r1 = row3(r1, x, w2);
    r2 = row3(r2, x, w1);
    r3 = row3(r3, x, w0);
    x = window(rowOf(cBase, iy0 + 4), k);
    r2 = row3(r2, x, w2);
    r3 = row3(r3, x, w1);
    x = window(rowOf(cBase, iy0 + 5), k);
    r3 = row3(r3, x, w2);
  } else {
    let sh = i32(params.stride.x);
    let sw = i32(params.stride.y);
    let inW = i32(params.inWidth);
    for (var kx = 0u; kx < params.kernelWidth; kx++) {
      // Columns of the 8 outputs for this kx, clamped, and their validity.
      let xa = vec4<i32>(ix0 + i32(kx * params.dilation.y)) + vec4<i32>(0, 1, 2, 3) * sw;
      let xb = xa + vec4<i32>(4 * sw);
      let ca = vec4<u32>(clamp(xa, vec4<i32>(0), vec4<i32>(inW - 1)));
      let cb = vec4<u32>(clamp(xb, vec4<i32>(0), vec4<i32>(inW - 1)));
      let ka = (xa >= vec4<i32>(0)) & (xa < vec4<i32>(inW));
      let kb = (xb >= vec4<i32>(0)) & (xb < vec4<i32>(inW));
      for (var ky = 0u; ky < params.kernelHeight; ky++) {
        let wv = vec4<f32>(weight[wBase + ky * params.kernelWidth + kx]);
        let iy = iy0 + i32(ky * params.dilation.x);
        let q0 = rowOf(cBase, iy);
        let q1 = rowOf(cBase, iy + sh);
        let q2 = rowOf(cBase, iy + 2 * sh);
        let q3 = rowOf(cBase, iy + 3 * sh);
        r0 = Acc(fma(wv, load4(q0.x, ca, ka & vec4<bool>(q0.y == 1u)), r0.a), fma(wv, load4(q0.x, cb, kb & vec4<bool>(q0.y == 1u)), r0.b));
        r1 = Acc(fma(wv, load4(q1.x, ca, ka & vec4<bool>(q1.y == 1u)), r1.a), fma(wv, load4(q1.x, cb, kb & vec4<bool>(q1.y == 1u)), r1.b));
        r2 = Acc(fma(wv, load4(q2.x, ca, ka & vec4<bool>(q2.y == 1u)), r2.a), fma(wv, load4(q2.x, cb, kb & vec4<bool>(q2.y == 1u)), r2.b));
        r3 = Acc(fma(wv, load4(q3.x, ca, ka & vec4<bool>(q3.y == 1u)), r3.a), fma(wv, load4(q3.x, cb, kb & vec4<bool>(q3.y == 1u)), r3.b));
      }
    }
  }
  var b = 0.0;
  if (params.hasBias != 0u) { b = bias[c]; }
  store(r0, c, oy0, ox0, b);
  store(r1, c, oy0 + 1u, ox0, b);
  store(r2, c, oy0 + 2u, ox0, b);
  store(r3, c, oy0 + 3u, ox0, b);
}
