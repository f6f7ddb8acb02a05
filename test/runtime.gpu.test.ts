import { describe, expect, it } from 'vitest';
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { depthwiseConv2dCpu } from '../src/cpu/depthwise-conv2d.js';
import { depthwiseConv2dGpu } from '../src/gpu/kernels/depthwise-conv2d.js';
import { Prng } from '../src/data/prng.js';
import { GpuDeviceLostError, GpuLimitError, GpuValidationError, PeirError } from '../src/errors.js';
import { createGpu, describeAdapter } from '../src/gpu/context.js';
import { CONV2D_SHADER, conv2dGpu } from '../src/gpu/kernels/conv2d.js';
import { absTensor, randomTensor, useGpu } from './helpers.js';
import { compareWithBound, describeMismatches, dotTolerance } from './tolerance.js';

describe('GPU runtime', () => {
  const gpu = useGpu();

  it('reports which adapter ran, as plain serialisable data', () => {
    const a = gpu().adapter;
    const copy = JSON.parse(JSON.stringify(a));
    expect(copy).toEqual(a);
    expect(a.host).toBe('node-dawn');
    expect(a.vendor.length + a.architecture.length).toBeGreaterThan(0);
    expect(typeof a.isFallbackAdapter).toBe('boolean');
    expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(describeAdapter(a)).toContain(a.vendor);
    if (a.architecture === 'swiftshader') {
      expect(a.isFallbackAdapter).toBe(true);
      expect(a.driver).toMatch(/SwiftShader|VK_ICD_FILENAMES/);
    }
  });

  it('reuses pooled buffers across runs and returns every buffer after use', async () => {
    const p = new Prng(11);
    const x = randomTensor(p, [1, 3, 17, 19]);
    const w = randomTensor(p, [5, 3, 3, 3]);
    await conv2dGpu(gpu(), x, w, undefined, { padding: 'same' });
    const before = gpu().poolStats();
    for (let i = 0; i < 10; i++) await conv2dGpu(gpu(), x, w, undefined, { padding: 'same' });
    const after = gpu().poolStats();
    expect(after.inUse).toBe(0);
    expect(after.created).toBe(before.created);
    expect(after.liveBytes).toBe(before.liveBytes);
  });

  it('caches pipelines per device', () => {
    const a = gpu().kernel(CONV2D_SHADER, 'main', { TILE_X: 8, TILE_Y: 8 });
    const b = gpu().kernel(CONV2D_SHADER, 'main', { TILE_Y: 8, TILE_X: 8 });
    expect(a).toBe(b);
  });

  it('turns a WebGPU validation error into a GpuValidationError naming the kernel', async () => {
    const ctx = gpu();
    const k = ctx.kernel(CONV2D_SHADER, 'main', { TILE_X: 8, TILE_Y: 8 });
    // A buffer without STORAGE usage cannot be bound as storage: WebGPU rejects the bind group.
    const bad = ctx.device.createBuffer({ size: 256, usage: GPUBufferUsage.COPY_DST, label: 'not-storage' });
    const ok = ctx.alloc(256, 'ok');
    const params = {
      inChannels: 1, inHeight: 1, inWidth: 1, outChannels: 1, outHeight: 1, outWidth: 1, kernelHeight: 1,
      kernelWidth: 1, stride: [1, 1], dilation: [1, 1], pad: [0, 0], hasBias: 0,
    };
    await expect(
      ctx.run('bad-binding', (b) =>
        b.dispatch(k, { buffers: { input: bad, weight: ok, bias: ok, output: ok }, params, workgroups: [1, 1, 1] }),
      ),
    ).rejects.toThrow(GpuValidationError);
    // The context stays usable after a captured validation error.
    ctx.release(ok);
    bad.destroy();
    const p = new Prng(12);
    const out = await conv2dGpu(ctx, randomTensor(p, [1, 1, 4, 4]), randomTensor(p, [1, 1, 1, 1]));
    expect(out.shape).toEqual([1, 1, 4, 4]);
  });

  it('rejects missing uniform members and unknown bindings with the kernel named', async () => {
    const ctx = gpu();
    const k = ctx.kernel(CONV2D_SHADER, 'main', { TILE_X: 8, TILE_Y: 8 });
    const buf = ctx.alloc(256, 'x');
    try {
      await expect(
        ctx.run('missing-param', (b) =>
          b.dispatch(k, { buffers: { input: buf, weight: buf, bias: buf, output: buf }, params: {}, workgroups: [1] }),
        ),
      ).rejects.toThrow(/conv2d\/main: uniform member 'params.inChannels' was not given/);
      await expect(
        ctx.run('unknown-binding', (b) => b.dispatch(k, { buffers: { input: buf, nope: buf }, workgroups: [1] })),
      ).rejects.toThrow(/no buffer given for binding 'weight'/);
    } finally {
      ctx.release(buf);
    }
  });

  it('refuses dispatches beyond maxComputeWorkgroupsPerDimension', async () => {
    const ctx = gpu();
    const k = ctx.kernel(CONV2D_SHADER, 'main', { TILE_X: 8, TILE_Y: 8 });
    const buf = ctx.alloc(256, 'x');
    try {
      await expect(
        ctx.run('too-many', (b) =>
          b.dispatch(k, { buffers: { input: buf, weight: buf, bias: buf, output: buf }, workgroups: [ctx.limits.maxComputeWorkgroupsPerDimension + 1] }),
        ),
      ).rejects.toThrow(GpuLimitError);
    } finally {
      ctx.release(buf);
    }
  });
});

describe('GPU runtime: limits and device loss', () => {
  it('splits a conv2d whose output or input exceeds the storage binding limit, and still matches the CPU', async () => {
    // 64 KiB bindings: each 48x40 output channel is 7.5 KiB, so 10 channels need 3 chunks of 8, 8... channels.
    const ctx = await createGpu({ maxStorageBindingBytes: 64 * 1024 });
    try {
      const p = new Prng(13);
      const x = randomTensor(p, [1, 2, 48, 40]);
      const w = randomTensor(p, [10, 2, 3, 3]);
      const b = randomTensor(p, [10]);
      const want = conv2dCpu(x, w, b, { padding: 'same' });
      const got = await conv2dGpu(ctx, x, w, b, { padding: 'same' });
      const mag = conv2dCpu(absTensor(x), absTensor(w), absTensor(b), { padding: 'same' }).data;
      const bad = compareWithBound(got.data, want.data, (i) => dotTolerance(18, mag[i]));
      expect(bad, describeMismatches(bad, got.data.length)).toHaveLength(0);
      // An input larger than one binding is split into input-channel groups whose partial outputs are summed
      // (here 12 channels of 48x40: 3 groups, an output of 76,800 bytes also split, and the sums in 2 pieces).
      const xi = randomTensor(p, [1, 12, 48, 40]);
      const wi = randomTensor(p, [10, 12, 3, 3]);
      const want2 = conv2dCpu(xi, wi, b, { padding: 'same' });
      const got2 = await conv2dGpu(ctx, xi, wi, b, { padding: 'same' });
      const mag2 = conv2dCpu(absTensor(xi), absTensor(wi), absTensor(b), { padding: 'same' }).data;
      const bad2 = compareWithBound(got2.data, want2.data, (i) => dotTolerance(12 * 9 + 3, mag2[i]));
      expect(bad2, describeMismatches(bad2, got2.data.length)).toHaveLength(0);
      // Depthwise honours the same cap, by channel chunks.
      const wd = randomTensor(p, [12, 1, 3, 3]);
      const wantD = depthwiseConv2dCpu(xi, wd, undefined, { padding: 'same' });
      const gotD = await depthwiseConv2dGpu(ctx, xi, wd, undefined, { padding: 'same' });
      const magD = depthwiseConv2dCpu(absTensor(xi), absTensor(wd), undefined, { padding: 'same' }).data;
      const badD = compareWithBound(gotD.data, wantD.data, (i) => dotTolerance(9, magD[i]));
      expect(badD, describeMismatches(badD, gotD.data.length)).toHaveLength(0);
      // One input channel that cannot fit a binding is refused with the limit named, never computed wrongly.
      await expect(conv2dGpu(ctx, randomTensor(p, [1, 1, 256, 256]), randomTensor(p, [1, 1, 1, 1]))).rejects.toThrow(
        /one 256x256 input channel .* exceeds the storage binding limit/,
      );
      expect(ctx.poolStats().inUse).toBe(0);
    } finally {
      ctx.dispose();
    }
  });

  it('turns device loss into a GpuDeviceLostError that stays in force', async () => {
    const ctx = await createGpu();
    const p = new Prng(14);
    const x = randomTensor(p, [1, 1, 8, 8]);
    const w = randomTensor(p, [1, 1, 3, 3]);
    await conv2dGpu(ctx, x, w);
    ctx.device.destroy();
    await ctx.device.lost;
    await expect(conv2dGpu(ctx, x, w)).rejects.toThrow(GpuDeviceLostError);
    await expect(conv2dGpu(ctx, x, w)).rejects.toThrow(/device was lost/);
    ctx.dispose();
    ctx.dispose(); // idempotent
    await expect(conv2dGpu(ctx, x, w)).rejects.toThrow(PeirError);
  });
});
