/**
 * GPU timing from timestamp queries (src/gpu/timing.ts): every compute pass of
 * a timed batch is reported, in order, with its kernel's label; the span
 * covers the passes; and the batch's results are the same as untimed.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/data/prng.js';
import { GpuLimitError } from '../src/errors.js';
import { encodeConv2d } from '../src/gpu/kernels/conv2d.js';
import { GpuTimer, timingFrom } from '../src/gpu/timing.js';
import { conv2dGeometry } from '../src/layers/conv-geometry.js';
import { randomTensor, useGpu } from './helpers.js';

describe('timingFrom', () => {
  it('turns (begin, end) pairs into pass durations and the span from first begin to last end', () => {
    const t = timingFrom(['a', 'b'], new BigUint64Array([100n, 250n, 300n, 1000n]));
    expect(t.passes).toEqual([{ label: 'a', ns: 150 }, { label: 'b', ns: 700 }]);
    expect(t.sumNs).toBe(850);
    expect(t.spanNs).toBe(900);
  });

  it('counts a pair whose end precedes its begin (a clock reset) as zero', () => {
    const t = timingFrom(['a'], new BigUint64Array([500n, 400n]));
    expect(t.passes[0].ns).toBe(0);
    expect(t.spanNs).toBe(0);
  });
});

describe('GpuTimer', () => {
  const gpu = useGpu();

  it('seed 60: times each pass of a conv2d batch and leaves its output unchanged', async () => {
    const ctx = gpu();
    if (!GpuTimer.supported(ctx)) {
      expect(() => new GpuTimer(ctx)).toThrow(/timestamp-query/);
      return;
    }
    const p = new Prng(60);
    const x = randomTensor(p, [1, 3, 40, 40]);
    const w = randomTensor(p, [9, 3, 3, 3]);
    const b = randomTensor(p, [9]);
    const g = conv2dGeometry(x, w, b, { padding: 'same' });
    const outLen = 9 * 40 * 40;
    const bufs = { input: ctx.upload(x.data, 't/x'), weight: ctx.upload(w.data, 't/w'), bias: ctx.upload(b.data, 't/b'), output: ctx.alloc(outLen * 4, 't/y') };
    const timer = new GpuTimer(ctx, 8);
    try {
      await ctx.run('untimed', (batch) => encodeConv2d(ctx, batch, g, true, bufs));
      const untimed = await ctx.readF32(bufs.output, outLen);
      const { timing } = await timer.run('timed', (batch) => encodeConv2d(ctx, batch, g, true, bufs));
      const timed = await ctx.readF32(bufs.output, outLen);
      expect(timed).toEqual(untimed);
      expect(timing.passes.map((q) => q.label)).toEqual(['conv2d/pad', 'conv2d/packWeights', 'conv2d/main']);
      for (const q of timing.passes) expect(q.ns).toBeGreaterThanOrEqual(0);
      expect(timing.spanNs).toBeGreaterThanOrEqual(Math.max(...timing.passes.map((q) => q.ns)));
      expect(timing.spanNs).toBeGreaterThan(0);
      // A batch with more passes than the timer has queries for is refused, naming the limit.
      const small = new GpuTimer(ctx, 2);
      try {
        await expect(small.run('too-many', (batch) => encodeConv2d(ctx, batch, g, true, bufs))).rejects.toThrow(GpuLimitError);
        await expect(small.run('too-many', (batch) => encodeConv2d(ctx, batch, g, true, bufs))).rejects.toThrow(/more than 2 compute passes/);
      } finally {
        small.dispose();
      }
      expect(ctx.poolStats().inUse).toBe(4);
    } finally {
      timer.dispose();
      ctx.release(...Object.values(bufs));
    }
  });
});
