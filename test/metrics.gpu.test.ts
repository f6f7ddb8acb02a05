/**
 * GPU metrics (shaders/metrics.wgsl) against computeMetrics: max-based
 * metrics, the percentile and the counts exactly, sums within the bound of
 * test/tolerance.ts (metricsDerivedTolerances).
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import { computeMetricsGpu, encodeMetrics, METRICS_SUM_DEPTH, metricsGpu, readMetrics } from '../src/gpu/kernels/metrics.js';
import { encodeDequantize, encodeQuantize, packedBytes, uploadQuantConstants } from '../src/gpu/kernels/quantize.js';
import { computeMetrics, type Metrics, type MetricsOptions } from '../src/metrics/metrics.js';
import { effectiveRange, fakeQuantize, quantParamsFromRanges, type QuantParams, type SchemeOptions } from '../src/quant/scheme.js';
import { f32, numElements, type Tensor } from '../src/tensor.js';
import { useGpu } from './helpers.js';
import { metricsDerivedTolerances } from './tolerance.js';

const EXACT_KEYS = [
  'peir', 'perChannelPeir', 'perChannelMaxAbsError', 'interval', 'degenerateInterval', 'degenerateChannels',
  'maxAbsError', 'pesr', 'p999AbsError', 'worst', 'clippedFraction',
] as const;

/** Exact fields equal, sum-based fields within the derived bounds; returns readable failures. */
function compareMetrics(gpu: Metrics, cpu: Metrics): string[] {
  const bad: string[] = [];
  for (const k of EXACT_KEYS) {
    if (JSON.stringify(gpu[k]) !== JSON.stringify(cpu[k])) bad.push(`${k}: gpu ${JSON.stringify(gpu[k])} cpu ${JSON.stringify(cpu[k])}`);
  }
  const tol = metricsDerivedTolerances(METRICS_SUM_DEPTH, cpu);
  for (const k of ['meanAbsError', 'mse', 'sqnrDb', 'cosine'] as const) {
    const d = Math.abs(gpu[k] - cpu[k]);
    if (!(d <= tol[k])) bad.push(`${k}: gpu ${gpu[k]} cpu ${cpu[k]} |diff| ${d} > tol ${tol[k]}`);
  }
  if ((gpu.clipShare === null) !== (cpu.clipShare === null)) bad.push(`clipShare: gpu ${gpu.clipShare} cpu ${cpu.clipShare}`);
  else if (gpu.clipShare !== null && !(Math.abs(gpu.clipShare - cpu.clipShare!) <= tol.clipShare)) {
    bad.push(`clipShare: gpu ${gpu.clipShare} cpu ${cpu.clipShare} |diff| ${Math.abs(gpu.clipShare - cpu.clipShare!)} > tol ${tol.clipShare}`);
  }
  return bad;
}

function randomTensor(p: Prng, shape: number[], draw: (p: Prng) => number): Tensor {
  return f32(shape, p.fill(numElements(shape), draw));
}

/** Per-channel params from ranges narrower than the data (so that some values clip), and the metrics options they imply. */
function quantized(ref: Tensor, axis: number, scheme: SchemeOptions, shrink: number): { approx: Tensor; params: QuantParams; opts: MetricsOptions } {
  const channels = ref.shape[axis];
  const inner = ref.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const lo = new Array<number>(channels).fill(Infinity);
  const hi = new Array<number>(channels).fill(-Infinity);
  ref.data.forEach((v, i) => {
    const c = Math.floor(i / inner) % channels;
    lo[c] = Math.min(lo[c], v * shrink);
    hi[c] = Math.max(hi[c], v * shrink);
  });
  const params = quantParamsFromRanges({ lo, hi }, axis, scheme, 'output');
  const eff = Array.from({ length: channels }, (_, c) => effectiveRange(params, c));
  return {
    approx: fakeQuantize(ref, params),
    params,
    opts: { channelAxis: axis, outputRange: { lo: eff.map((r) => r.lo), hi: eff.map((r) => r.hi) }, outputScale: Array.from(params.scale) },
  };
}

interface Case {
  seed: number;
  shape: number[];
  axis: number;
  scheme: SchemeOptions;
  shrink: number;
  scale?: number;
}

const CASES: Case[] = [
  { seed: 700, shape: [1, 8, 512, 512], axis: 1, scheme: { scheme: 'q16' }, shrink: 0.9 },
  { seed: 701, shape: [1, 8, 512, 512], axis: 1, scheme: { scheme: 'q8' }, shrink: 0.8 },
  { seed: 702, shape: [1, 3, 7, 13], axis: 1, scheme: { scheme: 'q8' }, shrink: 0.7 },
  { seed: 703, shape: [1, 1, 1, 1], axis: 1, scheme: { scheme: 'q8' }, shrink: 1 },
  { seed: 704, shape: [224, 128], axis: 1, scheme: { scheme: 'q8' }, shrink: 0.95 },
  { seed: 705, shape: [3, 5, 4099], axis: 1, scheme: { scheme: 'q16', scaleType: 'linear' }, shrink: 0.5 },
  { seed: 706, shape: [1, 1, 1000, 1001], axis: 1, scheme: { scheme: 'q8', scaleType: 'pow2' }, shrink: 0.99 },
  { seed: 707, shape: [37, 300], axis: 0, scheme: { scheme: 'q8' }, shrink: 0.9 },
  { seed: 708, shape: [1, 6, 33, 17], axis: 1, scheme: { scheme: 'q8' }, shrink: 0.9, scale: 1e30 },
  { seed: 709, shape: [1, 6, 33, 17], axis: 1, scheme: { scheme: 'q16' }, shrink: 0.9, scale: 1e-30 },
];

describe('metrics on WebGPU vs computeMetrics', () => {
  const gpu = useGpu();

  for (const c of CASES) {
    it(`seed ${c.seed}: shape [${c.shape.join(', ')}] axis ${c.axis} ${JSON.stringify(c.scheme)} range x${c.shrink}${c.scale ? ` values x${c.scale}` : ''}`, async () => {
      const p = new Prng(c.seed);
      const s = c.scale ?? 1;
      const ref = randomTensor(p, c.shape, (r) => r.normal() * 3 * s);
      const { approx, opts } = quantized(ref, c.axis, c.scheme, c.shrink);
      const cpu = computeMetrics(ref, approx, opts);
      const got = await computeMetricsGpu(gpu(), ref, approx, opts);
      expect(compareMetrics(got, cpu)).toEqual([]);
      // Without ranges and scales: cause, clip figures and PESR are null on both paths.
      const bare = await computeMetricsGpu(gpu(), ref, approx, { channelAxis: c.axis });
      expect(compareMetrics(bare, computeMetrics(ref, approx, { channelAxis: c.axis }))).toEqual([]);
      expect([bare.worst.cause, bare.clipShare, bare.pesr]).toEqual([null, null, null]);
    });
  }

  it('seed 720: ties of the largest error across channels and segments resolve to the lowest flat index', async () => {
    const p = new Prng(720);
    const shape = [2, 3, 9000];
    const ref = randomTensor(p, shape, (r) => r.uniform(-1, 1));
    const approx = f32(shape, ref.data.map((v) => v + Math.fround(p.uniform(-0.25, 0.25))));
    // The same, largest error (exactly 2) at indices in channel 2, channel 1 (outer 1) and two segments of channel 1.
    for (const i of [2 * 9000 + 8000, (1 * 3 + 1) * 9000 + 5000, 9000 + 4500, 9000 + 4200]) approx.data[i] = ref.data[i] + 2;
    const wantIndex = 9000 + 4200;
    const cpu = computeMetrics(ref, approx);
    expect(cpu.worst.index).toBe(wantIndex);
    const got = await computeMetricsGpu(gpu(), ref, approx);
    expect(compareMetrics(got, cpu)).toEqual([]);
  });

  it('seed 721: all-zero tensors, constant channels and exact copies give the documented finite values', async () => {
    const zero = f32([1, 4, 5, 5]);
    const m = await computeMetricsGpu(gpu(), zero, zero, { outputRange: { lo: [0], hi: [0] } });
    expect(compareMetrics(m, computeMetrics(zero, zero, { outputRange: { lo: [0], hi: [0] } }))).toEqual([]);
    expect([m.peir, m.sqnrDb, m.sqnrClamped, m.cosine, m.clipShare, m.degenerateInterval]).toEqual([0, 200, true, 1, 0, true]);
    const p = new Prng(721);
    const ref = randomTensor(p, [1, 4, 5, 5], (r) => r.normal());
    ref.data.fill(2.5, 25, 50); // channel 1 constant
    const copy = f32(ref.shape, ref.data.slice());
    const exact = await computeMetricsGpu(gpu(), ref, copy);
    expect(compareMetrics(exact, computeMetrics(ref, copy))).toEqual([]);
    expect([exact.maxAbsError, exact.sqnrDb, exact.degenerateChannels]).toEqual([0, 200, [1]]);
  });

  it('seed 722: a NaN, an infinity or |v| >= 2^127 in a GPU buffer is reported as an InputError', async () => {
    const ctx = gpu();
    const good = new Prng(722).fill(300, (r) => r.normal());
    for (const [bad, which] of [[NaN, 'reference'], [Infinity, 'quantized'], [-(2 ** 127), 'reference']] as const) {
      const x = good.slice();
      x[123] = bad;
      const r = ctx.upload(which === 'reference' ? x : good, 'test/ref');
      const a = ctx.upload(which === 'reference' ? good : x, 'test/approx');
      try {
        const run = metricsGpu(ctx, r, a, [1, 3, 100]);
        await expect(run).rejects.toThrow(InputError);
        await expect(run).rejects.toThrow(which === 'reference' ? /reference output .* channel 1/ : /quantized output .* channel 1/);
      } finally {
        ctx.release(r, a);
      }
    }
  });

  it('seed 724: range bounds that are not float32 numbers: values on either side of them are classified exactly', async () => {
    const bits = new Float32Array(1);
    const word = new Uint32Array(bits.buffer);
    const step = (v: number, away: 1 | -1) => {
      bits[0] = v;
      word[0] += away;
      return bits[0];
    };
    const hi = Math.fround(0.1); // above 0.1: outside [lo, 0.1]; a GPU comparing with f32(0.1) would call it inside
    const lo = Math.fround(-0.3); // below -0.3: outside
    const p = new Prng(724);
    const edges = [hi, step(hi, -1), lo, step(lo, -1), 0.05, -0.05];
    const ref = f32([1, 2, 3000], new Prng(724).fill(6000, (r) => r.uniform(-0.29, 0.09)));
    edges.forEach((v, j) => {
      ref.data[j * 7] = v;
      ref.data[3000 + j * 11] = v;
    });
    const approx = f32(ref.shape, ref.data.map((v) => v + Math.fround(p.uniform(-1e-3, 1e-3))));
    approx.data[3000 + 0 * 11] = ref.data[3000] + 0.5; // the worst element: X = f32(0.1) > 0.1 in channel 1
    const opts = { outputRange: { lo: [-0.3], hi: [0.1] }, outputScale: [0.001] };
    const cpu = computeMetrics(ref, approx, opts);
    expect(cpu.worst).toMatchObject({ index: 3000, cause: 'clip' });
    expect(cpu.clippedFraction).toBe(4 / 6000);
    expect(compareMetrics(await computeMetricsGpu(gpu(), ref, approx, opts), cpu)).toEqual([]);
  });

  it('seed 723: quantize, dequantize and metrics recorded in one submission, no readback of the tensors, no leaked buffers', async () => {
    const ctx = gpu();
    const p = new Prng(723);
    const shape = [1, 5, 64, 48];
    const ref = randomTensor(p, shape, (r) => r.normal() * 2);
    const { params, opts } = quantized(ref, 1, { scheme: 'q8' }, 0.85);
    const before = ctx.poolStats().inUse;
    const count = numElements(shape);
    const x = ctx.upload(ref.data, 'test/x');
    const consts = uploadQuantConstants(ctx, params, 'test/q');
    const packed = ctx.alloc(packedBytes(count, params.dtype), 'test/packed');
    const xq = ctx.alloc(count * 4, 'test/xq');
    try {
      const pending = await ctx.run('quantize+metrics', (b) => {
        encodeQuantize(ctx, b, params, shape, x, consts, packed);
        encodeDequantize(ctx, b, params, shape, packed, consts, xq);
        return encodeMetrics(ctx, b, x, xq, shape, opts);
      });
      const got = await readMetrics(ctx, pending);
      expect(compareMetrics(got, computeMetrics(ref, fakeQuantize(ref, params), opts))).toEqual([]);
      expect(got.clippedFraction).toBeGreaterThan(0);
    } finally {
      ctx.release(x, packed, xq, ...Object.values(consts));
    }
    expect(ctx.poolStats().inUse).toBe(before);
  });
});
