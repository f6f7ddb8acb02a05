// The README's library example: a conv2d on a 512x512 input on WebGPU, checked against the CPU reference.
// Run after the set-up: node scripts/example-conv2d.mjs
import { createGpu, conv2dGpu, conv2dCpu, f32, Prng } from 'peir';

const gpu = await createGpu(); // a hardware adapter if there is one, else SwiftShader
try {
  const p = new Prng(1);
  const x = f32([1, 16, 512, 512], p.fill(16 * 512 * 512, (r) => r.normal()));
  const w = f32([32, 16, 3, 3], p.fill(32 * 16 * 9, (r) => r.uniform(-0.1, 0.1)));
  const b = f32([32], p.fill(32, (r) => r.uniform(-0.1, 0.1)));
  const y = await conv2dGpu(gpu, x, w, b, { padding: 'same' }); // [1, 32, 512, 512]
  const ref = conv2dCpu(x, w, b, { padding: 'same' });
  let maxDiff = 0;
  for (let i = 0; i < y.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(y.data[i] - ref.data[i]));
  console.log(`${gpu.adapter.vendor} ${gpu.adapter.architecture}: output [${y.shape}], max |gpu - cpu| = ${maxDiff.toExponential(2)}`);
} finally {
  gpu.dispose(); // destroys the device; the process can exit
}
