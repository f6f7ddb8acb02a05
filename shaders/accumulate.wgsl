// accumulate.wgsl: dst[i] = dst[i] + src[i] for i < count, f32.
//
// Used by src/gpu/kernels/conv2d.ts to sum the partial convolutions of input
// channel groups when a conv2d's input is larger than one storage binding:
// out = conv(x[0:k], w[:, 0:k]) + conv(x[k:2k], w[:, k:2k]) + ... One invocation
// per element on a 2-D grid of rowPitch invocations per row. The float sum is
// one more rounding per group, covered by the dot-product bound of
// test/tolerance.ts (any summation order).

override WG: u32 = 256u;

struct Params {
  count: u32,
  rowPitch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowPitch;
  if (i >= params.count) {
    return;
  }
  dst[i] = dst[i] + src[i];
}
