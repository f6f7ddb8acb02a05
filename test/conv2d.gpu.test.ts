import { describe, expect, it } from 'vitest';
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { Prng } from '../src/data/prng.js';
import { conv2dGpu } from '../src/gpu/kernels/conv2d.js';
import type { Conv2dOptions } from '../src/layers/conv-geometry.js';
import { absTensor, randomTensor, useGpu } from './helpers.js';
import { compareWithBound, describeMismatches, dotTolerance } from './tolerance.js';

interface Case {
  seed: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: [number, number];
  opts: Conv2dOptions;
  bias: boolean;
}

const CASES: Case[] = [
  { seed: 1, cin: 1, cout: 1, h: 1, w: 1, k: [1, 1], opts: {}, bias: true },
  { seed: 2, cin: 3, cout: 5, h: 7, w: 13, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { seed: 3, cin: 2, cout: 7, h: 7, w: 13, k: [3, 5], opts: { padding: 'valid', stride: 2 }, bias: false },
  { seed: 4, cin: 4, cout: 6, h: 9, w: 11, k: [3, 3], opts: { padding: [1, 2, 0, 3], stride: [2, 1], dilation: [1, 2] }, bias: true },
  { seed: 5, cin: 3, cout: 4, h: 16, w: 15, k: [5, 5], opts: { padding: 'same', stride: 2, dilation: 2 }, bias: true },
  { seed: 6, cin: 3, cout: 8, h: 224, w: 224, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { seed: 7, cin: 4, cout: 9, h: 512, w: 512, k: [3, 3], opts: { padding: 'same' }, bias: true },
  // The 3x3 stride-1 path with asymmetric padding, several tiles each way, channels not a multiple of 8.
  { seed: 8, cin: 5, cout: 17, h: 37, w: 70, k: [3, 3], opts: { padding: [2, 0, 1, 3] }, bias: true },
  // The generic path: 1x1, and a wide kernel with stride and dilation over several tiles.
  { seed: 9, cin: 6, cout: 10, h: 33, w: 65, k: [1, 1], opts: {}, bias: false },
  { seed: 10, cin: 3, cout: 12, h: 70, w: 131, k: [2, 7], opts: { padding: 'same', stride: [1, 3], dilation: [3, 1] }, bias: true },
];

describe('conv2d fp32 on WebGPU vs the CPU reference', () => {
  const gpu = useGpu();
  for (const c of CASES) {
    it(`seed ${c.seed}: ${c.cin}->${c.cout} ${c.h}x${c.w} k${c.k.join('x')} ${JSON.stringify(c.opts)}`, async () => {
      const p = new Prng(c.seed);
      const x = randomTensor(p, [1, c.cin, c.h, c.w]);
      const w = randomTensor(p, [c.cout, c.cin, ...c.k]);
      const b = c.bias ? randomTensor(p, [c.cout]) : undefined;
      const want = conv2dCpu(x, w, b, c.opts);
      const got = await conv2dGpu(gpu(), x, w, b, c.opts);
      expect(got.shape).toEqual(want.shape);
      const mag = conv2dCpu(absTensor(x), absTensor(w), b && absTensor(b), c.opts).data;
      const n = c.cin * c.k[0] * c.k[1];
      const bad = compareWithBound(got.data, want.data, (i) => dotTolerance(n, mag[i]));
      expect(bad, describeMismatches(bad, got.data.length)).toHaveLength(0);
    });
  }
});
