import { describe, expect, it } from 'vitest';
import { depthwiseConv2dCpu } from '../src/cpu/depthwise-conv2d.js';
import { Prng } from '../src/data/prng.js';
import { GpuLimitError, InputError } from '../src/errors.js';
import { depthwiseConv2dGpu, encodeDepthwiseConv2d } from '../src/gpu/kernels/depthwise-conv2d.js';
import { depthwiseGeometry, type Conv2dOptions } from '../src/layers/conv-geometry.js';
import type { Tensor } from '../src/tensor.js';
import { depthwiseBadCases } from './bad-inputs.js';
import { absTensor, randomTensor, useGpu } from './helpers.js';
import { compareWithBound, describeMismatches, dotTolerance } from './tolerance.js';

interface Case {
  seed: number;
  c: number;
  h: number;
  w: number;
  k: [number, number];
  opts: Conv2dOptions;
  bias: boolean;
}

// Spatial sizes 1x1, 7x13, 224x224 and 512x512; widths that do not fill the
// 64-output rows a workgroup covers; every padding form, strides and dilations.
const CASES: Case[] = [
  { seed: 1, c: 1, h: 1, w: 1, k: [1, 1], opts: {}, bias: true },
  { seed: 2, c: 3, h: 1, w: 1, k: [3, 3], opts: { padding: 'same' }, bias: false },
  { seed: 3, c: 5, h: 7, w: 13, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { seed: 4, c: 3, h: 7, w: 13, k: [3, 5], opts: { padding: 'valid', stride: 2 }, bias: false },
  { seed: 5, c: 4, h: 7, w: 13, k: [3, 3], opts: { padding: [1, 2, 0, 3], stride: [2, 1], dilation: [1, 2] }, bias: true },
  { seed: 6, c: 6, h: 9, w: 11, k: [5, 5], opts: { padding: 'same', stride: 2, dilation: 2 }, bias: true },
  { seed: 7, c: 3, h: 7, w: 13, k: [2, 2], opts: { padding: 1, stride: 3 }, bias: false },
  { seed: 8, c: 2, h: 7, w: 13, k: [7, 1], opts: { padding: 'valid', dilation: [1, 3] }, bias: true },
  { seed: 9, c: 8, h: 224, w: 224, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { seed: 10, c: 3, h: 224, w: 224, k: [5, 5], opts: { padding: 'same', stride: 2 }, bias: false },
  { seed: 11, c: 2, h: 224, w: 224, k: [3, 3], opts: { padding: [0, 1, 2, 3], stride: [1, 3], dilation: [2, 1] }, bias: true },
  { seed: 12, c: 3, h: 512, w: 512, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { seed: 13, c: 2, h: 512, w: 512, k: [7, 7], opts: { padding: 'valid', stride: [2, 1], dilation: 2 }, bias: false },
];

/** Compare a GPU result with the CPU reference through dotTolerance(kh * kw, magnitude). */
function expectClose(got: Tensor, x: Tensor, w: Tensor, b: Tensor | undefined, opts: Conv2dOptions): void {
  const want = depthwiseConv2dCpu(x, w, b, opts);
  expect(got.shape).toEqual(want.shape);
  const mag = depthwiseConv2dCpu(absTensor(x), absTensor(w), b && absTensor(b), opts).data;
  const n = w.shape[2] * w.shape[3];
  const bad = compareWithBound(got.data, want.data, (i) => dotTolerance(n, mag[i]));
  expect(bad, describeMismatches(bad, got.data.length)).toHaveLength(0);
}

describe('depthwise conv2d fp32 on WebGPU vs the CPU reference', () => {
  const gpu = useGpu();
  for (const c of CASES) {
    it(`seed ${c.seed}: C=${c.c} ${c.h}x${c.w} k${c.k.join('x')} ${JSON.stringify(c.opts)}${c.bias ? ' +bias' : ''}`, async () => {
      const p = new Prng(c.seed);
      const x = randomTensor(p, [1, c.c, c.h, c.w]);
      const w = randomTensor(p, [c.c, 1, ...c.k]);
      const b = c.bias ? randomTensor(p, [c.c]) : undefined;
      expectClose(await depthwiseConv2dGpu(gpu(), x, w, b, c.opts), x, w, b, c.opts);
    });
  }

  for (const bias of [true, false]) {
    it(`seed 20: channels split over 3 dispatches when a binding may hold only 3 channels${bias ? ' +bias' : ''}`, async () => {
      const ctx = gpu();
      const p = new Prng(20);
      const opts: Conv2dOptions = { padding: 'same', stride: [1, 2] };
      const x = randomTensor(p, [1, 7, 9, 10]);
      const w = randomTensor(p, [7, 1, 3, 3]);
      const b = bias ? randomTensor(p, [7]) : undefined;
      const g = depthwiseGeometry(x, w, b, opts);
      const outLen = 7 * g.outHeight * g.outWidth;
      const bufs = {
        input: ctx.upload(x.data, 'test/input'),
        weight: ctx.upload(w.data, 'test/weight'),
        bias: ctx.upload(b?.data ?? new Float32Array(7), 'test/bias'),
        output: ctx.alloc(outLen * 4, 'test/output'),
      };
      try {
        // The input plane (9 x 10 floats) is the largest per-channel binding.
        await ctx.run('test/depthwise-chunked', (batch) => encodeDepthwiseConv2d(ctx, batch, g, bias, bufs, 3 * 9 * 10 * 4));
        const out = await ctx.readF32(bufs.output, outLen);
        expectClose({ dtype: 'float32', shape: [1, 7, g.outHeight, g.outWidth], data: out }, x, w, b, opts);
      } finally {
        ctx.release(...Object.values(bufs));
      }
    });
  }

  it('throws GpuLimitError when one channel cannot fit a binding', async () => {
    const ctx = gpu();
    const x = randomTensor(new Prng(21), [1, 2, 8, 8]);
    const w = randomTensor(new Prng(22), [2, 1, 3, 3]);
    const g = depthwiseGeometry(x, w, undefined, {});
    const bufs = { input: ctx.alloc(512, 'i'), weight: ctx.alloc(72, 'w'), bias: ctx.alloc(8, 'b'), output: ctx.alloc(288, 'o') };
    try {
      await expect(ctx.run('test/too-big', (batch) => encodeDepthwiseConv2d(ctx, batch, g, false, bufs, 8 * 8 * 4 - 4))).rejects.toThrow(
        /depthwise conv2d: one channel .* does not fit the storage binding limit/,
      );
      await expect(ctx.run('test/too-big', (batch) => encodeDepthwiseConv2d(ctx, batch, g, false, bufs, 8 * 8 * 4 - 4))).rejects.toThrow(GpuLimitError);
    } finally {
      ctx.release(...Object.values(bufs));
    }
  });

  for (const c of depthwiseBadCases()) {
    it(`rejects bad input before any GPU work: ${c.name}`, async () => {
      const before = gpu().poolStats();
      await expect(depthwiseConv2dGpu(gpu(), ...c.args)).rejects.toThrow(InputError);
      await expect(depthwiseConv2dGpu(gpu(), ...c.args)).rejects.toThrow(c.error);
      expect(gpu().poolStats().inUse).toBe(before.inUse);
    });
  }
});
