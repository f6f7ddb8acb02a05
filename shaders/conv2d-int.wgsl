// conv2d-int.wgsl: integer 2-D convolution (dense or depthwise), batch 1, with
// integer-only requantization. Compiled after int64.wgsl, requant.wgsl,
// row-block.wgsl (struct Row, fn mac) and one of dot4-native.wgsl /
// dot4-emulated.wgsl (which define dot4u8).
//
// Host operands (PyTorch layouts, quantized): input [C_in, H, W] packed
// little-endian in u32 words (4 x uint8 when BITS = 8, 2 x int16 when
// BITS = 16), per-tensor zero point params.inputZero; weights
// [C_out, C_in / groups, kh, kw] with per-output-channel zero points; groups =
// 1 (dense) or C_in = C_out (depthwise, override DEPTHWISE). Two entry points,
// dispatched in this order by src/gpu/kernels/conv2d-int.ts:
//
// `pad`: source (the packed input) -> padded, unpacked and zero-point padded so
//   that `main` needs no bounds tests: positions outside the input hold
//   inputZero, i.e. q - z_in = 0, i.e. they contribute nothing, exactly like
//   the skipped taps of the CPU reference. Layout:
//     Q8 dense:  [ceil(C_in / 4), padHeight, padWidth] u32 words, each the 4 input
//                channels 4c .. 4c + 3 of one position as bytes (channels past
//                C_in hold inputZero);
//     otherwise: [C_in, padHeight, padWidth] i32 values (bitcast in u32 words).
//   One invocation per word; workgroup (PAD_WG); dispatch
//   (ceil(padWidth / PAD_WG), padHeight, planes).
// `main`: one invocation computes ROWS output rows x PX = 8 adjacent output
//   columns x (dense) CO_BLOCK = 8 output channels, or (depthwise) 8 columns of
//   one channel. Workgroup (TILE_X, TILE_Y); dispatch
//   (ceil(outW / (8 TILE_X)), ceil(outH / (ROWS TILE_Y)), ceil(C_out / 8) or C).
//   `weight` (vec4<u32>) is packed by the host in the order main reads it:
//     Q8 dense:  [co block][c quad][ky][kx] as two vec4s: 8 output channels' words,
//                each word the 4 input channels' uint8 weights (0 past C_in / C_out);
//     Q16 dense: [co block][ci][ky][kx] as two vec4s of 8 output channels'
//                w - z_w[co] (0 past C_out), as i32;
//     depthwise: [c][ky][kx], .x = w - z_w[c] as i32.
//   `bias`: Q8 dense: K[co] = bias - z_in sum(w) + n z_in z_w (mod 2^32, see
//   below; = bias - z_in sum(w - z_w) over the n packed terms); Q8 depthwise:
//   bias (i32); Q16: bias as (lo, hi) i32 pairs of an int64.
//
// Accumulator (exact, as src/cpu/conv2d-int.ts):
//   Q8 dense: acc = bias + sum (x - z_in)(w - z_w) over n = 4 ceil(C_in / 4) kh kw
//     terms (padded channels and positions contribute 0), computed as
//     sum(x (w - z_w)) + K with K[co] = bias - z_in sum(w - z_w) (host), in one of two ways:
//     USE_DOT4 (hardware adapters with packed_4x8_integer_dot_product):
//       sum(x w) - z_w sum(x) + K with packed 4 x 8-bit dot products (dot4u8) in
//       wrapping u32 arithmetic;
//     otherwise: bytes converted to f32 and multiplied-added in f32, which is
//       exact: |x (w - z_w)| <= 255^2 and a chunk of 64 taps (256 products) keeps
//       every partial sum below 2^24, where f32 holds integers exactly; each
//       chunk's sum is converted to i32 and added in wrapping i32 arithmetic.
//     Either way every term is an integer, so the result is exact modulo 2^32,
//     hence exact, because the host refuses reductions whose true |acc| could
//     reach 2^31. (On SwiftShader the f32 path is several times faster than the
//     dot-product built-in.)
//   Q8 depthwise: acc = bias + sum (x - z_in)(w - z_w) in i32 (never wraps, same bound).
//   Q16: acc = bias + sum x' w' in 64 bits, x' = x - z_in, w' = w - z_w (zero
//     points are 0 in the Q16 schemes; the kernel handles any). Each w' is split
//     w' = 256 w_hi + w_lo (w_lo in [0, 255], w_hi = w' >> 8); sum x' w_lo and
//     sum x' w_hi are accumulated in i32 over chunks of params.chunk taps, which
//     the host bounds so that chunk * max|x'| * max(255, max|w_hi|) < 2^31
//     (zero points 0: |x' w_lo| <= 32768 * 255 < 2^23 and |x' w_hi| <= 2^22, so
//     256 taps), then folded exactly into the 64-bit accumulator as
//     256 sum_hi + sum_lo (int64.wgsl). Two i32 multiply-adds per tap instead of
//     a 64-bit add.
//
// Requantization to the output's per-channel parameters (requant.wgsl):
//   rule 0 (Q8):          q_out = clamp(mbqm(acc, multiplier[co], shift[co]) + outZero[co], qmin, qmax)
//   rule 1 (Q16 pow2):    q_out = round_shift_clamp(acc, shift[co], rounding, qmin, qmax)
//   rule 2 (Q16 linear):  q_out = requant_linear64(acc, multiplier[co], shift[co], rounding, qmin, qmax)
// Outputs: qOut[i] (i32, one per output element, CHW) and acc[i] (BITS 8: one i32;
// BITS 16: (lo, hi) pair at 2i, 2i + 1) when params.writeAcc = 1.
// CPU reference: src/cpu/conv2d-int.ts, bit-exact (test/conv2d-int.gpu.test.ts).

override BITS: u32 = 8u;
override DEPTHWISE: bool = false;
override USE_DOT4: bool = false;
override TILE_X: u32 = 8u;
override TILE_Y: u32 = 8u;
override PAD_WG: u32 = 64u;

const PX: u32 = 8u;
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
  stride: vec2<u32>,
  dilation: vec2<u32>,
  pad: vec2<u32>,
  inputZero: i32,
  rule: u32,
  rounding: u32,
  qmin: i32,
  qmax: i32,
  writeAcc: u32,
  padHeight: u32,
  padWidth: u32,
  planes: u32,       // planes of the padded input
  chunk: u32,        // Q16: taps per exact i32 chunk (host-computed bound, at most 256)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> bias: array<i32>;
@group(0) @binding(4) var<storage, read> weightZero: array<i32>;
@group(0) @binding(5) var<storage, read> multiplier: array<i32>;
@group(0) @binding(6) var<storage, read> shift: array<i32>;
@group(0) @binding(7) var<storage, read> outZero: array<i32>;
@group(0) @binding(8) var<storage, read_write> qOut: array<i32>;
@group(0) @binding(9) var<storage, read_write> acc: array<i32>;
@group(0) @binding(10) var<storage, read> source: array<u32>;
@group(0) @binding(11) var<storage, read_write> padded: array<u32>;

fn loadSource(i: u32) -> i32 {
  if (BITS == 8u) {
    return i32((source[i >> 2u] >> (8u * (i & 3u))) & 0xffu);
  }
  return bitcast<i32>(source[i >> 1u] << (16u - 16u * (i & 1u))) >> 16u;
}

@compute @workgroup_size(PAD_WG)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  let p = gid.z;
  if (x >= params.padWidth) {
    return;
  }
  let iy = i32(y) - i32(params.pad.x);
  let ix = i32(x) - i32(params.pad.y);
  let inside = iy >= 0 && iy < i32(params.inHeight) && ix >= 0 && ix < i32(params.inWidth);
  let at = u32(max(iy, 0)) * params.inWidth + u32(max(ix, 0));
  let plane = params.inHeight * params.inWidth;
  var word = 0u;
  if (BITS == 8u && !DEPTHWISE) {
    for (var k = 0u; k < 4u; k++) {
      let c = 4u * p + k;
      var v = params.inputZero;
      if (inside && c < params.inChannels) {
        v = loadSource(c * plane + at);
      }
      word |= (bitcast<u32>(v) & 0xffu) << (8u * k);
    }
  } else {
    var v = params.inputZero;
    if (inside) {
      v = loadSource(p * plane + at);
    }
    word = bitcast<u32>(v);
  }
  padded[(p * params.padHeight + y) * params.padWidth + x] = word;
}

// ---------------------------------------------------------------------------
// Requantization and stores

fn finish32(a: i32, co: u32, idx: u32) {
  // Pre-clamping to +-2^17 cannot change the final clamp (|outZero|, |qmin|, |qmax| < 2^16) and keeps the add from wrapping.
  qOut[idx] = clamp(clamp(mbqm(a, multiplier[co], shift[co]), -131072, 131072) + outZero[co], params.qmin, params.qmax);
  if (params.writeAcc == 1u) { acc[idx] = a; }
}

fn finish64(a: I64, co: u32, idx: u32) {
  var q: i32;
  if (params.rule == 1u) {
    q = round_shift_clamp(a, shift[co], params.rounding, params.qmin, params.qmax);
  } else {
    q = requant_linear64(a, multiplier[co], shift[co], params.rounding, params.qmin, params.qmax);
  }
  qOut[idx] = q;
  if (params.writeAcc == 1u) {
    acc[2u * idx] = bitcast<i32>(a.x);
    acc[2u * idx + 1u] = bitcast<i32>(a.y);
  }
}

fn bias64(co: u32) -> I64 {
  return I64(bitcast<u32>(bias[2u * co]), bitcast<u32>(bias[2u * co + 1u]));
}

// Eight padded input words of one row, `step` apart.
fn load8(at: u32, step: u32) -> array<vec4<u32>, 2> {
  return array<vec4<u32>, 2>(
    vec4<u32>(input[at], input[at + step], input[at + 2u * step], input[at + 3u * step]),
    vec4<u32>(input[at + 4u * step], input[at + 5u * step], input[at + 6u * step], input[at + 7u * step]),
  );
}

// ---------------------------------------------------------------------------
// Taps in a flat order: t = (c * kh + ky) * kw + kx, walked without divisions.

struct Tap {
  c: u32,
  ky: u32,
  kx: u32,
}

fn nextTap(t: Tap) -> Tap {
  let kx = t.kx + 1u;
  let wrapX = kx == params.kernelWidth;
  let ky = t.ky + select(0u, 1u, wrapX);
  let wrapY = ky == params.kernelHeight;
  return Tap(t.c + select(0u, 1u, wrapY), select(ky, 0u, wrapY), select(kx, 0u, wrapX));
}

// Padded-input word of output (oy0, ox0)'s receptive field at tap t.
fn tapAt(t: Tap, base: u32, plane: u32) -> u32 {
  return t.c * plane + base + t.ky * params.dilation.x * params.padWidth + t.kx * params.dilation.y;
}

// ---------------------------------------------------------------------------
// Q8 dense: products of zero-point-corrected bytes in f32, exact

// Byte k of each word, as f32.
fn byteF(v: vec4<u32>, k: u32) -> vec4<f32> {
  return vec4<f32>((v >> vec4<u32>(8u * k)) & vec4<u32>(0xffu));
}

// 4 channels x 8 values: channel k's at aK (pixels or output channels 0-3) and bK (4-7).
struct XQuad {
  a0: vec4<f32>, b0: vec4<f32>, a1: vec4<f32>, b1: vec4<f32>,
  a2: vec4<f32>, b2: vec4<f32>, a3: vec4<f32>, b3: vec4<f32>,
}

fn xQuad(x: array<vec4<u32>, 2>) -> XQuad {
  return XQuad(
    byteF(x[0], 0u), byteF(x[1], 0u), byteF(x[0], 1u), byteF(x[1], 1u),
    byteF(x[0], 2u), byteF(x[1], 2u), byteF(x[0], 3u), byteF(x[1], 3u),
  );
}

// One tap of 4 input channels: w.aK / w.bK are channel K's weights of output channels 0-3 / 4-7.
fn quadF(r: Row, w: XQuad, x: XQuad) -> Row {
  var o = mac(r, w.a0, w.b0, x.a0, x.b0);
  o = mac(o, w.a1, w.b1, x.a1, x.b1);
  o = mac(o, w.a2, w.b2, x.a2, x.b2);
  return mac(o, w.a3, w.b3, x.a3, x.b3);
}

// The i32 accumulators of one invocation, in function memory (not registers): 4 rows x 16 vec4s.
alias Acc32 = array<vec4<i32>, 64>;

fn foldF(a: ptr<function, Acc32>, base: u32, r: Row) {
  (*a)[base] += vec4<i32>(r.c0a); (*a)[base + 1u] += vec4<i32>(r.c0b);
  (*a)[base + 2u] += vec4<i32>(r.c1a); (*a)[base + 3u] += vec4<i32>(r.c1b);
  (*a)[base + 4u] += vec4<i32>(r.c2a); (*a)[base + 5u] += vec4<i32>(r.c2b);
  (*a)[base + 6u] += vec4<i32>(r.c3a); (*a)[base + 7u] += vec4<i32>(r.c3b);
  (*a)[base + 8u] += vec4<i32>(r.c4a); (*a)[base + 9u] += vec4<i32>(r.c4b);
  (*a)[base + 10u] += vec4<i32>(r.c5a); (*a)[base + 11u] += vec4<i32>(r.c5b);
  (*a)[base + 12u] += vec4<i32>(r.c6a); (*a)[base + 13u] += vec4<i32>(r.c6b);
  (*a)[base + 14u] += vec4<i32>(r.c7a); (*a)[base + 15u] += vec4<i32>(r.c7b);
}

fn finish8(a: vec4<i32>, b: vec4<i32>, co: u32, oy: u32, ox0: u32) {
  if (co >= params.outChannels) {
    return;
  }
  let at = (co * params.outHeight + oy) * params.outWidth + ox0;
  let w = params.outWidth;
  let bv = bias[co];
  for (var p = 0u; p < 4u; p++) {
    if (ox0 + p < w) { finish32(a[p] + bv, co, at + p); }
    if (ox0 + 4u + p < w) { finish32(b[p] + bv, co, at + 4u + p); }
  }
}

fn finishRows(a: ptr<function, Acc32>, co0: u32, oy0: u32, ox0: u32) {
  for (var i = 0u; i < 32u; i++) {
    let oy = oy0 + i / 8u;
    if (oy < params.outHeight) {
      finish8((*a)[2u * i], (*a)[2u * i + 1u], co0 + i % 8u, oy, ox0);
    }
  }
}

fn q8Dense(gid: vec3<u32>) {
  let ox0 = gid.x * PX;
  let oy0 = gid.y * 4u;
  let cb = gid.z;
  let pw = params.padWidth;
  let plane = params.padHeight * pw;
  let sw = params.stride.y;
  let rowStep = params.stride.x * pw;
  let base = oy0 * rowStep + ox0 * sw;
  let co0 = cb * CO_BLOCK;
  let zw0 = vec4<f32>(vec4<i32>(weightZero[co0], weightZero[co0 + 1u], weightZero[co0 + 2u], weightZero[co0 + 3u]));
  let zw1 = vec4<f32>(vec4<i32>(weightZero[co0 + 4u], weightZero[co0 + 5u], weightZero[co0 + 6u], weightZero[co0 + 7u]));
  var a32 = Acc32();
  let taps = params.planes * params.kernelHeight * params.kernelWidth;
  var wi = 2u * cb * taps;
  var tap = Tap(0u, 0u, 0u);
  for (var t0 = 0u; t0 < taps; t0 += params.chunk) {
    var r0 = Row();
    var r1 = Row();
    var r2 = Row();
    var r3 = Row();
    let t1 = min(t0 + params.chunk, taps);
    for (var t = t0; t < t1; t++) {
      let w0 = weight[wi];
      let w1 = weight[wi + 1u];
      wi += 2u;
      let w = XQuad(byteF(w0, 0u) - zw0, byteF(w1, 0u) - zw1, byteF(w0, 1u) - zw0, byteF(w1, 1u) - zw1,
                    byteF(w0, 2u) - zw0, byteF(w1, 2u) - zw1, byteF(w0, 3u) - zw0, byteF(w1, 3u) - zw1);
      let at = tapAt(tap, base, plane);
      tap = nextTap(tap);
      r0 = quadF(r0, w, xQuad(load8(at, sw)));
      r1 = quadF(r1, w, xQuad(load8(at + rowStep, sw)));
      r2 = quadF(r2, w, xQuad(load8(at + 2u * rowStep, sw)));
      r3 = quadF(r3, w, xQuad(load8(at + 3u * rowStep, sw)));
    }
    foldF(&a32, 0u, r0);
    foldF(&a32, 16u, r1);
    foldF(&a32, 32u, r2);
    foldF(&a32, 48u, r3);
  }
  finishRows(&a32, co0, oy0, ox0);
}

// ---------------------------------------------------------------------------
// Q8 dense with packed 4 x 8-bit dot products (USE_DOT4: hardware adapters that have them)

// 8 output channels x 8 pixels of one row in wrapping u32 sums of x w, and the pixels' sums of x.
struct Row8 {
  c0a: vec4<u32>, c0b: vec4<u32>, c1a: vec4<u32>, c1b: vec4<u32>,
  c2a: vec4<u32>, c2b: vec4<u32>, c3a: vec4<u32>, c3b: vec4<u32>,
  c4a: vec4<u32>, c4b: vec4<u32>, c5a: vec4<u32>, c5b: vec4<u32>,
  c6a: vec4<u32>, c6b: vec4<u32>, c7a: vec4<u32>, c7b: vec4<u32>,
  sa: vec4<u32>, sb: vec4<u32>,
}

fn d4(x: vec4<u32>, w: u32) -> vec4<u32> {
  return vec4<u32>(dot4u8(x.x, w), dot4u8(x.y, w), dot4u8(x.z, w), dot4u8(x.w, w));
}

fn tap8(r: Row8, w0: vec4<u32>, w1: vec4<u32>, x: array<vec4<u32>, 2>) -> Row8 {
  let xa = x[0];
  let xb = x[1];
  return Row8(
    r.c0a + d4(xa, w0.x), r.c0b + d4(xb, w0.x), r.c1a + d4(xa, w0.y), r.c1b + d4(xb, w0.y),
    r.c2a + d4(xa, w0.z), r.c2b + d4(xb, w0.z), r.c3a + d4(xa, w0.w), r.c3b + d4(xb, w0.w),
    r.c4a + d4(xa, w1.x), r.c4b + d4(xb, w1.x), r.c5a + d4(xa, w1.y), r.c5b + d4(xb, w1.y),
    r.c6a + d4(xa, w1.z), r.c6b + d4(xb, w1.z), r.c7a + d4(xa, w1.w), r.c7b + d4(xb, w1.w),
    r.sa + d4(xa, 0x01010101u), r.sb + d4(xb, 0x01010101u),
  );
}

// acc = sum(x w) - z_w sum(x) + K - bias, all modulo 2^32 (finish8 adds K = bias[co]).
fn finishDot4(a: vec4<u32>, b: vec4<u32>, r: Row8, co: u32, oy: u32, ox0: u32) {
  let zw = bitcast<u32>(weightZero[min(co, params.outChannels - 1u)]);
  finish8(bitcast<vec4<i32>>(a - zw * r.sa), bitcast<vec4<i32>>(b - zw * r.sb), co, oy, ox0);
}

fn finishRow8(r: Row8, co0: u32, oy: u32, ox0: u32) {
  if (oy >= params.outHeight) {
    return;
  }
  finishDot4(r.c0a, r.c0b, r, co0, oy, ox0);
  finishDot4(r.c1a, r.c1b, r, co0 + 1u, oy, ox0);
  finishDot4(r.c2a, r.c2b, r, co0 + 2u, oy, ox0);
  finishDot4(r.c3a, r.c3b, r, co0 + 3u, oy, ox0);
  finishDot4(r.c4a, r.c4b, r, co0 + 4u, oy, ox0);
  finishDot4(r.c5a, r.c5b, r, co0 + 5u, oy, ox0);
  finishDot4(r.c6a, r.c6b, r, co0 + 6u, oy, ox0);
  finishDot4(r.c7a, r.c7b, r, co0 + 7u, oy, ox0);
}

fn q8DenseDot4(gid: vec3<u32>) {
  let ox0 = gid.x * PX;
  let oy0 = gid.y * 4u;
  let cb = gid.z;
  let pw = params.padWidth;
  let plane = params.padHeight * pw;
  let sw = params.stride.y;
  let rowStep = params.stride.x * pw;
  let base = oy0 * rowStep + ox0 * sw;
  var r0 = Row8();
  var r1 = Row8();
  var r2 = Row8();
  var r3 = Row8();
  let taps = params.planes * params.kernelHeight * params.kernelWidth;
  var wi = 2u * cb * taps;
  var tap = Tap(0u, 0u, 0u);
  for (var t = 0u; t < taps; t++) {
    let w0 = weight[wi];
    let w1 = weight[wi + 1u];
    wi += 2u;
    let at = tapAt(tap, base, plane);
    tap = nextTap(tap);
    r0 = tap8(r0, w0, w1, load8(at, sw));
    r1 = tap8(r1, w0, w1, load8(at + rowStep, sw));
    r2 = tap8(r2, w0, w1, load8(at + 2u * rowStep, sw));
    r3 = tap8(r3, w0, w1, load8(at + 3u * rowStep, sw));
  }
  let co0 = cb * CO_BLOCK;
  finishRow8(r0, co0, oy0, ox0);
  finishRow8(r1, co0, oy0 + 1u, ox0);
  finishRow8(r2, co0, oy0 + 2u, ox0);
  finishRow8(r3, co0, oy0 + 3u, ox0);
}

// ---------------------------------------------------------------------------
// Q16 dense: byte-split weights, exact i32 chunks folded into 64 bits

// 8 output channels x 8 pixels of one row; lo / hi halves of the weight products.
struct Row16 {
  l0a: vec4<i32>, l0b: vec4<i32>, l1a: vec4<i32>, l1b: vec4<i32>,
  l2a: vec4<i32>, l2b: vec4<i32>, l3a: vec4<i32>, l3b: vec4<i32>,
  l4a: vec4<i32>, l4b: vec4<i32>, l5a: vec4<i32>, l5b: vec4<i32>,
  l6a: vec4<i32>, l6b: vec4<i32>, l7a: vec4<i32>, l7b: vec4<i32>,
  h0a: vec4<i32>, h0b: vec4<i32>, h1a: vec4<i32>, h1b: vec4<i32>,
  h2a: vec4<i32>, h2b: vec4<i32>, h3a: vec4<i32>, h3b: vec4<i32>,
  h4a: vec4<i32>, h4b: vec4<i32>, h5a: vec4<i32>, h5b: vec4<i32>,
  h6a: vec4<i32>, h6b: vec4<i32>, h7a: vec4<i32>, h7b: vec4<i32>,
}

fn tap16(r: Row16, lo0: vec4<i32>, lo1: vec4<i32>, hi0: vec4<i32>, hi1: vec4<i32>, x: array<vec4<u32>, 2>) -> Row16 {
  let xa = bitcast<vec4<i32>>(x[0]) - vec4<i32>(params.inputZero);
  let xb = bitcast<vec4<i32>>(x[1]) - vec4<i32>(params.inputZero);
  return Row16(
    r.l0a + xa * lo0.x, r.l0b + xb * lo0.x, r.l1a + xa * lo0.y, r.l1b + xb * lo0.y,
    r.l2a + xa * lo0.z, r.l2b + xb * lo0.z, r.l3a + xa * lo0.w, r.l3b + xb * lo0.w,
    r.l4a + xa * lo1.x, r.l4b + xb * lo1.x, r.l5a + xa * lo1.y, r.l5b + xb * lo1.y,
    r.l6a + xa * lo1.z, r.l6b + xb * lo1.z, r.l7a + xa * lo1.w, r.l7b + xb * lo1.w,
    r.h0a + xa * hi0.x, r.h0b + xb * hi0.x, r.h1a + xa * hi0.y, r.h1b + xb * hi0.y,
    r.h2a + xa * hi0.z, r.h2b + xb * hi0.z, r.h3a + xa * hi0.w, r.h3b + xb * hi0.w,
    r.h4a + xa * hi1.x, r.h4b + xb * hi1.x, r.h5a + xa * hi1.y, r.h5b + xb * hi1.y,
    r.h6a + xa * hi1.z, r.h6b + xb * hi1.z, r.h7a + xa * hi1.w, r.h7b + xb * hi1.w,
  );
}

// The 64-bit accumulators of one invocation: 2 rows x 8 channels x 8 pixels, index (row * 8 + channel) * 8 + pixel.
alias Acc64 = array<I64, 128>;

fn fold4(a: ptr<function, Acc64>, at: u32, lo: vec4<i32>, hi: vec4<i32>) {
  for (var p = 0u; p < 4u; p++) {
    let v = i64_add(i64_shl(i64_from_i32(hi[p]), 8u), i64_from_i32(lo[p]));
    (*a)[at + p] = i64_add((*a)[at + p], v);
  }
}

fn foldRow(a: ptr<function, Acc64>, base: u32, r: Row16) {
  fold4(a, base, r.l0a, r.h0a); fold4(a, base + 4u, r.l0b, r.h0b);
  fold4(a, base + 8u, r.l1a, r.h1a); fold4(a, base + 12u, r.l1b, r.h1b);
  fold4(a, base + 16u, r.l2a, r.h2a); fold4(a, base + 20u, r.l2b, r.h2b);
  fold4(a, base + 24u, r.l3a, r.h3a); fold4(a, base + 28u, r.l3b, r.h3b);
  fold4(a, base + 32u, r.l4a, r.h4a); fold4(a, base + 36u, r.l4b, r.h4b);
  fold4(a, base + 40u, r.l5a, r.h5a); fold4(a, base + 44u, r.l5b, r.h5b);
  fold4(a, base + 48u, r.l6a, r.h6a); fold4(a, base + 52u, r.l6b, r.h6b);
  fold4(a, base + 56u, r.l7a, r.h7a); fold4(a, base + 60u, r.l7b, r.h7b);
}

fn q16Dense(gid: vec3<u32>) {
  let ox0 = gid.x * PX;
  let oy0 = gid.y * 2u;
  let cb = gid.z;
  let pw = params.padWidth;
  let plane = params.padHeight * pw;
  let sw = params.stride.y;
  let rowStep = params.stride.x * pw;
  let base = oy0 * rowStep + ox0 * sw;
  var a64 = Acc64();
  let taps = params.inChannels * params.kernelHeight * params.kernelWidth;
  var wi = 2u * cb * taps;
  var tap = Tap(0u, 0u, 0u);
  for (var t0 = 0u; t0 < taps; t0 += params.chunk) {
    var r0 = Row16();
    var r1 = Row16();
    let t1 = min(t0 + params.chunk, taps);
    for (var t = t0; t < t1; t++) {
      let w0 = bitcast<vec4<i32>>(weight[wi]);
      let w1 = bitcast<vec4<i32>>(weight[wi + 1u]);
      wi += 2u;
      let lo0 = w0 & vec4<i32>(255);
      let lo1 = w1 & vec4<i32>(255);
      let hi0 = w0 >> vec4<u32>(8u);
      let hi1 = w1 >> vec4<u32>(8u);
      let at = tapAt(tap, base, plane);
      tap = nextTap(tap);
      r0 = tap16(r0, lo0, lo1, hi0, hi1, load8(at, sw));
      r1 = tap16(r1, lo0, lo1, hi0, hi1, load8(at + rowStep, sw));
    }
    foldRow(&a64, 0u, r0);
    foldRow(&a64, 64u, r1);
  }
  let co0 = cb * CO_BLOCK;
  for (var i = 0u; i < 128u; i++) {
    let oy = oy0 + i / 64u;
    let co = co0 + (i / 8u) % 8u;
    let ox = ox0 + i % 8u;
    if (oy < params.outHeight && co < params.outChannels && ox < params.outWidth) {
      finish64(i64_add(a64[i], bias64(co)), co, (co * params.outHeight + oy) * params.outWidth + ox);
    }
  }
}

// ---------------------------------------------------------------------------
// Depthwise: one channel, 4 rows x 8 pixels

fn depthwise(gid: vec3<u32>) {
  let ox0 = gid.x * PX;
  let oy0 = gid.y * 4u;
  let c = gid.z;
  let pw = params.padWidth;
  let sh = params.stride.x;
  let sw = params.stride.y;
  let rowStep = sh * pw;
  let base = c * params.padHeight * pw + oy0 * sh * pw + ox0 * sw;
  let zx = vec4<i32>(params.inputZero);
  let kArea = params.kernelHeight * params.kernelWidth;
  // Q8: exact i32 sums of (x - z_in)(w - z_w). Q16: lo / hi halves as in q16Dense, chunked.
  var lo = array<vec4<i32>, 8>();
  var hi = array<vec4<i32>, 8>();
  var a64 = array<I64, 32>();
  var count = 0u;
  for (var t = 0u; t < kArea; t++) {
    let ky = t / params.kernelWidth;
    let kx = t % params.kernelWidth;
    let w = bitcast<i32>(weight[c * kArea + t].x);
    let at = base + ky * params.dilation.x * pw + kx * params.dilation.y;
    if (BITS == 16u && count == params.chunk) {
      for (var i = 0u; i < 32u; i++) {
        a64[i] = i64_add(a64[i], i64_add(i64_shl(i64_from_i32(hi[i / 4u][i % 4u]), 8u), i64_from_i32(lo[i / 4u][i % 4u])));
      }
      lo = array<vec4<i32>, 8>();
      hi = array<vec4<i32>, 8>();
      count = 0u;
    }
    count++;
    for (var r = 0u; r < 4u; r++) {
      let x = load8(at + r * rowStep, sw);
      let xa = bitcast<vec4<i32>>(x[0]) - zx;
      let xb = bitcast<vec4<i32>>(x[1]) - zx;
      if (BITS == 8u) {
        lo[2u * r] += xa * w;
        lo[2u * r + 1u] += xb * w;
      } else {
        let wl = w & 255;
        let wh = w >> 8u;
        lo[2u * r] += xa * wl;
        lo[2u * r + 1u] += xb * wl;
        hi[2u * r] += xa * wh;
        hi[2u * r + 1u] += xb * wh;
      }
    }
  }
  for (var i = 0u; i < 32u; i++) {
    let oy = oy0 + i / 8u;
    let ox = ox0 + i % 8u;
    if (oy >= params.outHeight || ox >= params.outWidth) {
      continue;
    }
    let idx = (c * params.outHeight + oy) * params.outWidth + ox;
    let l = lo[i / 4u][i % 4u];
    if (BITS == 8u) {
      finish32(bias[c] + l, c, idx);
    } else {
      let v = i64_add(a64[i], i64_add(i64_shl(i64_from_i32(hi[i / 4u][i % 4u]), 8u), i64_from_i32(l)));
      finish64(i64_add(v, bias64(c)), c, idx);
    }
  }
}

@compute @workgroup_size(TILE_X, TILE_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (DEPTHWISE) {
    depthwise(gid);
  } else if (BITS == 8u && USE_DOT4) {
    q8DenseDot4(gid);
  } else if (BITS == 8u) {
    q8Dense(gid);
  } else {
    q16Dense(gid);
  }
}
