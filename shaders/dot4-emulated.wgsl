// dot4-emulated.wgsl: dot4u8(a, b) = sum over the 4 bytes of a and b (as uint8)
// of their products, from shifts and masks, for adapters without WGSL's
// packed_4x8_integer_dot_product. Library file, no bindings; the same function
// as dot4-native.wgsl. Exact: at most 4 * 255^2 < 2^18.

fn dot4u8(a: u32, b: u32) -> u32 {
  let x = (vec4<u32>(a) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
  let y = (vec4<u32>(b) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
  let p = x * y;
  return p.x + p.y + p.z + p.w;
}
