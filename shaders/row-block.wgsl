// row-block.wgsl: a register block of 8 output channels x 8 adjacent pixels
// of one output row, and its multiply-add.
//
// Library file, no bindings: compiled before shaders/conv2d.wgsl and
// shaders/conv2d-int.wgsl (src/gpu/shader-lib.ts). fma in f32: exact in the
// integer kernel (products and sums of bytes below 2^24), the float kernel's
// rounding is covered by the dot-product bound in test/tolerance.ts.

// 8 output channels x 8 adjacent pixels of one output row: cNa holds channel
// N at pixels 0-3, cNb at pixels 4-7.
struct Row {
  c0a: vec4<f32>, c0b: vec4<f32>, c1a: vec4<f32>, c1b: vec4<f32>,
  c2a: vec4<f32>, c2b: vec4<f32>, c3a: vec4<f32>, c3b: vec4<f32>,
  c4a: vec4<f32>, c4b: vec4<f32>, c5a: vec4<f32>, c5b: vec4<f32>,
  c6a: vec4<f32>, c6b: vec4<f32>, c7a: vec4<f32>, c7b: vec4<f32>,
}

// One tap: weights w0 (channels 0-3), w1 (channels 4-7) times pixels xa (0-3), xb (4-7).
fn mac(r: Row, w0: vec4<f32>, w1: vec4<f32>, xa: vec4<f32>, xb: vec4<f32>) -> Row {
  return Row(
    fma(vec4<f32>(w0.x), xa, r.c0a), fma(vec4<f32>(w0.x), xb, r.c0b),
    fma(vec4<f32>(w0.y), xa, r.c1a), fma(vec4<f32>(w0.y), xb, r.c1b),
    fma(vec4<f32>(w0.z), xa, r.c2a), fma(vec4<f32>(w0.z), xb, r.c2b),
    fma(vec4<f32>(w0.w), xa, r.c3a), fma(vec4<f32>(w0.w), xb, r.c3b),
    fma(vec4<f32>(w1.x), xa, r.c4a), fma(vec4<f32>(w1.x), xb, r.c4b),
    fma(vec4<f32>(w1.y), xa, r.c5a), fma(vec4<f32>(w1.y), xb, r.c5b),
    fma(vec4<f32>(w1.z), xa, r.c6a), fma(vec4<f32>(w1.z), xb, r.c6b),
    fma(vec4<f32>(w1.w), xa, r.c7a), fma(vec4<f32>(w1.w), xb, r.c7b),
  );
}
