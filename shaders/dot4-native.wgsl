// dot4-native.wgsl: dot4u8(a, b) = sum over the 4 bytes of a and b (as uint8)
// of their products, with WGSL's packed_4x8_integer_dot_product built-in.
// Library file, no bindings: prepended to conv2d-int.wgsl on adapters that
// have the feature (src/gpu/kernels/conv2d-int.ts); dot4-emulated.wgsl is the
// same function for the others. Exact: at most 4 * 255^2 < 2^18.

fn dot4u8(a: u32, b: u32) -> u32 {
  return dot4U8Packed(a, b);
}
