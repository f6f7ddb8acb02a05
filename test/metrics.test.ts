/** CPU metrics (src/metrics): hand-checked cases for every metric and rule of the module doc, and a finiteness property. */
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import { computeMetrics, F32_EPSILON, SQNR_CAP_DB, type Metrics } from '../src/metrics/metrics.js';
import { nearestRankIndex, selectKth } from '../src/metrics/percentile.js';
import { effectiveRange, fakeQuantize, quantParamsFromRanges, type SchemeOptions } from '../src/quant/scheme.js';
import { f32, numElements, type Tensor } from '../src/tensor.js';
import { quantRoundTripTolerance } from './tolerance.js';

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
/** The float32 next to the f32 value v, away from zero (dir +1) or towards it (-1); v != 0. */
function f32Neighbour(v: number, dir: 1 | -1): number {
  f32Bits[0] = v;
  u32Bits[0] += dir;
  return f32Bits[0];
}

describe('metrics: hand-checked values', () => {
  // Channels (axis 1) hold [0, 1] and [2, 4]; X' = [0, 1.5, 2, 3], so e = [0, 0.5, 0, 1].
  const ref = f32([1, 2, 2], [0, 1, 2, 4]);
  const approx = f32([1, 2, 2], [0, 1.5, 2, 3]);

  it('PEIR, per-channel PEIR, max / mean abs error, MSE, SQNR, cosine, p99.9 and the worst element', () => {
    const m = computeMetrics(ref, approx);
    expect(m.peir).toBe(1 / 4); // max e 1 over the interval 4 - 0
    expect(m.perChannelPeir).toEqual([0.5 / 1, 1 / 2]);
    expect(m.perChannelMaxAbsError).toEqual([0.5, 1]);
    expect(m.interval).toBe(4);
    expect([m.degenerateInterval, m.degenerateChannels]).toEqual([false, []]);
    expect(m.maxAbsError).toBe(1);
    expect(m.meanAbsError).toBe(1.5 / 4);
    expect(m.mse).toBe((0.25 + 1) / 4);
    // sum X^2 = 21, sum e^2 = 1.25: 10 log10(16.8) = 12.253 dB
    expect(m.sqnrDb).toBe(10 * Math.log10(21 / 1.25));
    expect(m.sqnrDb).toBeGreaterThan(12.25);
    expect(m.sqnrDb).toBeLessThan(12.26);
    expect(m.sqnrClamped).toBe(false);
    // sum X X' = 17.5, sum X'^2 = 15.25: 17.5 / sqrt(21 * 15.25) = 0.97790 (4 s.f.)
    expect(m.cosine).toBe(17.5 / (Math.sqrt(21) * Math.sqrt(15.25)));
    expect(m.cosine).toBeGreaterThan(0.9778);
    expect(m.cosine).toBeLessThan(0.978);
    expect(m.p999AbsError).toBe(1); // rank ceil(0.999 * 4) - 1 = 3: the largest
    expect(m.worst).toEqual({ index: 3, channel: 1, position: [0, 1, 1], reference: 4, approx: 3, error: 1, cause: null });
    expect([m.pesr, m.clippedFraction, m.clipShare]).toEqual([null, null, null]);
  });

  it('clip attribution, clipped fraction, clip share and PESR from the output range and scale', () => {
    // Channel 1's range [2, 3.5]: X = 4 (e = 1) lies outside it, nothing else does.
    const m = computeMetrics(ref, approx, { outputRange: { lo: [0, 2], hi: [1, 3.5] }, outputScale: [0.1, 0.5] });
    expect(m.worst.cause).toBe('clip');
    expect(m.clippedFraction).toBe(1 / 4);
    expect(m.clipShare).toBe(1 / 1.5);
    expect(m.pesr).toBe(1 / 0.5); // the scale of channel 1, where the peak is
    // Wider channel-1 range: the same peak is a rounding error, and nothing is clipped.
    const r = computeMetrics(ref, approx, { outputRange: { lo: [0, 2], hi: [1, 4] }, outputScale: [0.25] });
    expect([r.worst.cause, r.clippedFraction, r.clipShare, r.pesr]).toEqual(['round', 0, 0, 1 / 0.25]);
  });

  it('range bounds compare exactly: values on the bound are inside, the next float32 outside', () => {
    const hi = Math.fround(0.1); // 0.100000001490116..., above 0.1
    const x = f32([1, 1, 6], [hi, f32Neighbour(hi, -1), -0.5, f32Neighbour(-0.5, 1), 0.25, f32Neighbour(0.25, 1)]);
    const m = computeMetrics(x, f32([1, 1, 6]), { outputRange: { lo: [-0.5], hi: [0.1] } });
    // Outside [-0.5, 0.1]: fround(0.1) > 0.1, the float below -0.5, 0.25 and above.
    expect(m.clippedFraction).toBe(4 / 6);
    // X' = 0, so e = |X|; sums of these six float32 values are exact in f64, in any order.
    const e = x.data.map(Math.abs);
    const clippedAbs = e[0] + e[3] + e[4] + e[5];
    expect(m.clipShare).toBe(clippedAbs / (clippedAbs + e[1] + e[2]));
  });

  it('channel axis 0 and LSTM outputs [T, H] (channel = hidden unit, axis 1)', () => {
    const x = f32([3, 2], [0, 1, 2, 3, 4, 5]);
    const y = f32([3, 2], [0, 1, 2, 3.5, 4, 5]);
    const byUnit = computeMetrics(x, y); // channels: columns {0, 2, 4} and {1, 3, 5}
    expect(byUnit.perChannelPeir).toEqual([0, 0.5 / 4]);
    expect(byUnit.worst).toMatchObject({ index: 3, channel: 1, position: [1, 1] });
    const byRow = computeMetrics(x, y, { channelAxis: 0 }); // channels: rows [0, 1], [2, 3], [4, 5]
    expect(byRow.perChannelPeir).toEqual([0, 0.5 / 1, 0]);
    expect(byRow.worst).toMatchObject({ index: 3, channel: 1, position: [1, 1] });
  });

  it('ties of the largest error go to the lowest flat index, across channels', () => {
    const x = f32([1, 3, 2], [0, 0, 0, 0, 0, 0]);
    const y = f32([1, 3, 2], [0, 0.5, 0, 1, -1, 1]); // e = 1 at 3, 4, 5
    expect(computeMetrics(x, y).worst).toMatchObject({ index: 3, channel: 1, error: 1 });
    expect(computeMetrics(f32([1, 3, 2], [0, 0, 0, 0, 0, 1]), f32([1, 3, 2], [0, 1, 0, 1, 0, 0])).worst.index).toBe(1);
  });

  it('errors are float32 differences: |X - X\'| rounded once to f32, as on the GPU', () => {
    const a = 1 + 2 ** -23;
    const b = -(2 ** -25); // a - b = 1 + 2^-23 + 2^-25 is not a float32; it rounds to 1 + 2^-23
    const m = computeMetrics(f32([1, 1, 1], [a]), f32([1, 1, 1], [b]));
    expect(m.maxAbsError).toBe(Math.fround(a - b));
    expect(m.maxAbsError).toBe(1 + 2 ** -23);
  });
});

describe('metrics: degenerate inputs follow the documented rules', () => {
  it('a constant reference: PEIR 0 without error, error / (2^-23 max|X|) with one, flagged', () => {
    const x = f32([1, 1, 4], [5, 5, 5, 5]);
    const same = computeMetrics(x, x);
    expect([same.peir, same.degenerateInterval, same.degenerateChannels, same.perChannelPeir]).toEqual([0, true, [0], [0]]);
    const off = computeMetrics(x, f32([1, 1, 4], [5, 5.5, 5, 5]));
    expect(off.peir).toBe(0.5 / (F32_EPSILON * 5));
    expect(off.degenerateInterval).toBe(true);
  });

  it('an all-zero reference uses the floor 1 of the magnitude: PEIR = error / 2^-23', () => {
    const m = computeMetrics(f32([1, 1, 4]), f32([1, 1, 4], [0, 0.25, 0, 0]));
    expect(m.peir).toBe(0.25 / F32_EPSILON);
    expect(m.peir).toBe(2 ** 21);
  });

  it('the rule is continuous: an interval below tau is replaced, one above is used', () => {
    const below = computeMetrics(f32([1, 1, 2], [1, 1 + 2 ** -23]), f32([1, 1, 2], [1, 1]));
    expect(below.degenerateInterval).toBe(true); // 2^-23 < tau = 2^-23 (1 + 2^-23)
    expect(below.peir).toBe(2 ** -23 / (F32_EPSILON * (1 + 2 ** -23)));
    const above = computeMetrics(f32([1, 1, 2], [1, 1 + 2 ** -22]), f32([1, 1, 2], [1, 1]));
    expect([above.degenerateInterval, above.peir]).toEqual([false, 1]);
  });

  it('per channel: a dead (all-zero) channel next to live ones is flagged and scored on its own', () => {
    const x = f32([1, 2, 2], [0, 0, -1, 1]);
    const y = f32([1, 2, 2], [0, 0.001, -1, 1]);
    const m = computeMetrics(x, y);
    expect(m.degenerateChannels).toEqual([0]);
    expect(m.degenerateInterval).toBe(false);
    expect(m.perChannelPeir).toEqual([Math.fround(0.001) / F32_EPSILON, 0]);
    expect(m.peir).toBe(Math.fround(0.001) / 2);
  });

  it('zero error: SQNR at the cap (flagged), cosine 1, every error figure 0', () => {
    const p = new Prng(11);
    const x = f32([1, 3, 5, 7], p.fill(105, (r) => r.normal()));
    const m = computeMetrics(x, f32(x.shape, x.data.slice()), { outputRange: { lo: [-10], hi: [10] }, outputScale: [0.01] });
    expect([m.sqnrDb, m.sqnrClamped, m.cosine]).toEqual([SQNR_CAP_DB, true, 1]);
    expect([m.peir, m.maxAbsError, m.meanAbsError, m.mse, m.p999AbsError, m.pesr, m.clipShare]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(m.worst).toMatchObject({ index: 0, error: 0, cause: 'round' });
  });

  it('all-zero signal: +cap and cosine 1 when X\' is zero too, -cap and cosine 0 otherwise', () => {
    const z = f32([1, 2, 3]);
    const both = computeMetrics(z, z);
    expect([both.sqnrDb, both.sqnrClamped, both.cosine, both.peir]).toEqual([SQNR_CAP_DB, true, 1, 0]);
    const noisy = computeMetrics(z, f32([1, 2, 3], [0, 0, 0.5, 0, 0, 0]));
    expect([noisy.sqnrDb, noisy.sqnrClamped, noisy.cosine]).toEqual([-SQNR_CAP_DB, true, 0]);
    const lost = computeMetrics(f32([1, 2, 3], [0, 0, 0.5, 0, 0, 0]), z); // X' all zero: everything lost
    expect([lost.sqnrDb, lost.sqnrClamped, lost.cosine]).toEqual([0, false, 0]);
  });
});

describe('metrics on real quantization', () => {
  for (const [seed, scheme] of [[21, { scheme: 'q8' }], [22, { scheme: 'q16' }], [23, { scheme: 'q8', scaleType: 'pow2' }]] as [number, SchemeOptions][]) {
    it(`seed ${seed}: ${JSON.stringify(scheme)} inside the calibrated range is rounding (PESR <= 1/2 + f32 slack), outside is clipping`, () => {
      const p = new Prng(seed);
      const lo = [-1, -3, 0];
      const hi = [1, 2, 5];
      const params = quantParamsFromRanges({ lo, hi }, 1, scheme, 'output');
      const inner = 400;
      const eff = [0, 1, 2].map((c) => effectiveRange(params, c));
      // The nudged q8 grid may end up to half a step inside [lo, hi]: draw within both.
      const inside = f32([1, 3, 20, 20]);
      inside.data.forEach((_, i) => {
        const c = Math.floor(i / inner);
        inside.data[i] = p.uniform(Math.max(lo[c], eff[c].lo), Math.min(hi[c], eff[c].hi));
      });
      const opts = { outputRange: { lo: eff.map((r) => r.lo), hi: eff.map((r) => r.hi) }, outputScale: Array.from(params.scale) };
      const m = computeMetrics(inside, fakeQuantize(inside, params), opts);
      const c = m.worst.channel;
      expect(m.worst.cause).toBe('round');
      expect([m.clippedFraction, m.clipShare]).toEqual([0, 0]);
      const bound = quantRoundTripTolerance(params.scale[c], Math.max(-lo[c], hi[c]));
      expect(m.maxAbsError, `max error ${m.maxAbsError} vs rounding bound ${bound}`).toBeLessThanOrEqual(bound);
      expect(m.pesr!).toBeLessThanOrEqual(bound / params.scale[c]);
      expect(m.pesr!).toBeGreaterThan(0.45); // 1200 values: some land near half a step
      // Push a few values of channel 2 far above its range: the worst error is now clipping.
      const outside = f32(inside.shape, inside.data.slice());
      for (const i of [2 * inner + 3, 2 * inner + 50, 2 * inner + 399]) outside.data[i] = 9;
      const mc = computeMetrics(outside, fakeQuantize(outside, params), opts);
      expect(mc.worst).toMatchObject({ channel: 2, index: 2 * inner + 3, reference: 9, cause: 'clip' });
      expect(mc.clippedFraction).toBe(3 / 1200);
      expect(mc.clipShare!).toBeGreaterThan(0);
      expect(mc.clipShare!).toBeLessThan(1);
      expect(mc.pesr).toBe(mc.maxAbsError / params.scale[2]);
    });
  }
});

describe('metrics: the 99.9th percentile (nearest rank)', () => {
  it('rank ceil(0.999 n) - 1 in integer arithmetic', () => {
    expect([1, 2, 999, 1000, 1001, 2000, 2001, 1_000_000].map((n) => nearestRankIndex(n))).toEqual([0, 1, 998, 998, 999, 1997, 1998, 998_999]);
    for (let n = 1; n <= 5000; n++) {
      const k = nearestRankIndex(n);
      // The smallest k with (k + 1) / n >= 0.999, checked with integers.
      expect(1000 * (k + 1) >= 999 * n && (k === 0 || 1000 * k < 999 * n), `n = ${n}, k = ${k}`).toBe(true);
    }
    expect(() => nearestRankIndex(0)).toThrow(InputError);
  });

  it('known data: errors 1..1000 give 999; 0..1000 give 999; one value gives itself', () => {
    const errs = (n: number, first: number) => f32([1, 1, n]).data.map((_, i) => first + i);
    for (const [n, first, want] of [[1000, 1, 999], [1001, 0, 999], [1, 7, 7]]) {
      const e = errs(n, first);
      const m = computeMetrics(f32([1, 1, n]), f32([1, 1, n], e));
      expect(m.p999AbsError, `n ${n}`).toBe(want);
    }
  });

  it('seed 31: selectKth agrees with a full sort on random, duplicated, sorted and reversed data', () => {
    const p = new Prng(31);
    const sets: Float32Array[] = [
      p.fill(10_007, (r) => r.normal()),
      p.fill(10_000, (r) => r.int(0, 3)),
      Float32Array.from({ length: 5000 }, (_, i) => i),
      Float32Array.from({ length: 5000 }, (_, i) => 5000 - i),
      new Float32Array(3000).fill(2.5),
      Float32Array.from([3]),
    ];
    for (const [s, data] of sets.entries()) {
      const sorted = data.slice().sort();
      for (const k of [0, 1, data.length >> 1, nearestRankIndex(data.length), data.length - 1]) {
        if (k >= data.length) continue;
        expect(selectKth(data.slice(), k), `set ${s} rank ${k}`).toBe(sorted[k]);
      }
    }
  });
});

describe('metrics: input checks', () => {
  const x = f32([1, 2, 3]);
  it('shapes, dtypes, values, axes, ranges and scales are checked with messages that name them', () => {
    expect(() => computeMetrics(x, f32([1, 3, 2]))).toThrow(/same shape/);
    expect(() => computeMetrics(f32([1, 0, 3]), f32([1, 0, 3]))).toThrow(/non-empty/);
    expect(() => computeMetrics(x, f32([1, 2, 3], [0, 0, NaN, 0, 0, 0]))).toThrow(/quantized output .*flat index 2/);
    expect(() => computeMetrics(f32([1, 2, 3], [0, 0, 0, 0, 3e38, 0]), x)).toThrow(/reference output .* 2\^127/);
    expect(() => computeMetrics(x, x, { channelAxis: 3 })).toThrow(/axis 3/);
    expect(() => computeMetrics(x, x, { outputRange: { lo: [0, 0, 0], hi: [1, 1, 1] } })).toThrow(/outputRange.lo has 3 entries/);
    expect(() => computeMetrics(x, x, { outputRange: { lo: [1, 0], hi: [0, 1] } })).toThrow(/channel 0 .*lo <= hi/);
    expect(() => computeMetrics(x, x, { outputRange: { lo: [-Infinity], hi: [1] } })).toThrow(/finite/);
    expect(() => computeMetrics(x, x, { outputScale: [0.1, 0] })).toThrow(/outputScale\[1\]/);
    expect(() => computeMetrics(x, { dtype: 'int32', shape: [1, 2, 3], data: new Int32Array(6) } as unknown as Tensor)).toThrow(/float32/);
    for (const f of [() => computeMetrics(x, x, { channelAxis: 3 }), () => computeMetrics(x, f32([2, 3]))]) expect(f).toThrow(InputError);
  });

  it('one range or scale stands for every channel', () => {
    const y = f32([1, 2, 3], [0, 0, 0, 0, 0, 2]);
    const one = computeMetrics(x, y, { outputRange: { lo: [-1], hi: [1] }, outputScale: [0.5] });
    const each = computeMetrics(x, y, { outputRange: { lo: [-1, -1], hi: [1, 1] }, outputScale: [0.5, 0.5] });
    expect(one).toEqual(each);
    expect(one.pesr).toBe(4);
  });
});

/** Every number anywhere in `v`, with its path. */
function numbersIn(v: unknown, path = 'metrics'): [string, number][] {
  if (typeof v === 'number') return [[path, v]];
  if (Array.isArray(v)) return v.flatMap((e, i) => numbersIn(e, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, e]) => numbersIn(e, `${path}.${k}`));
  return [];
}

describe('metrics: never NaN or infinite (property)', () => {
  const KINDS = ['normal', 'zero', 'constant', 'tiny', 'subnormal', 'huge', 'mixed', 'ints'] as const;
  function draw(p: Prng, kind: (typeof KINDS)[number], n: number): Float32Array {
    const c = p.normal() * 10;
    switch (kind) {
      case 'normal': return p.fill(n, (r) => r.normal());
      case 'zero': return new Float32Array(n);
      case 'constant': return new Float32Array(n).fill(c);
      case 'tiny': return p.fill(n, (r) => r.normal() * 1e-37);
      case 'subnormal': return p.fill(n, (r) => r.int(-3, 3) * 2 ** -149);
      case 'huge': return p.fill(n, (r) => r.uniform(-1.7e38, 1.7e38));
      case 'mixed': return p.fill(n, (r) => (r.int(0, 1) ? r.normal() * 1e30 : r.normal() * 1e-30));
      case 'ints': return p.fill(n, (r) => r.int(-2, 2));
    }
  }

  it('seeds 1000-1299: random shapes, data kinds, ranges and scales give finite, in-range figures', () => {
    for (let seed = 1000; seed < 1300; seed++) {
      const p = new Prng(seed);
      const rank = p.int(1, 4);
      const shape = Array.from({ length: rank }, () => p.int(1, 6));
      const n = numElements(shape);
      const ref = f32(shape, draw(p, KINDS[p.int(0, KINDS.length - 1)], n));
      const mode = p.int(0, 3);
      const approx = f32(
        shape,
        mode === 0 ? ref.data.slice() : mode === 1 ? new Float32Array(n) : mode === 2 ? draw(p, KINDS[p.int(0, KINDS.length - 1)], n) : ref.data.map((v) => v * (1 + p.normal() * 1e-3)),
      );
      const axis = p.int(0, rank - 1);
      const channels = shape[axis];
      const lo = Array.from({ length: channels }, () => (p.int(0, 3) === 0 ? 0 : p.normal() * 10 ** p.int(-30, 30)));
      const hi = lo.map((l) => (p.int(0, 3) === 0 ? l : l + Math.abs(p.normal()) * 10 ** p.int(-30, 30)));
      const scale = lo.map(() => 10 ** p.int(-40, 37));
      const m: Metrics = computeMetrics(ref, approx, { channelAxis: axis, outputRange: { lo, hi }, outputScale: scale });
      const what = `seed ${seed}, shape [${shape}], axis ${axis}`;
      for (const [path, v] of numbersIn(m)) expect(Number.isFinite(v), `${what}: ${path} = ${v}`).toBe(true);
      expect(m.peir, what).toBeGreaterThanOrEqual(0);
      expect(Math.abs(m.cosine), what).toBeLessThanOrEqual(1);
      expect(Math.abs(m.sqnrDb), what).toBeLessThanOrEqual(SQNR_CAP_DB);
      expect(m.clipShare!, what).toBeGreaterThanOrEqual(0);
      expect(m.clipShare!, what).toBeLessThanOrEqual(1);
      expect(m.p999AbsError, what).toBeLessThanOrEqual(m.maxAbsError);
      expect(JSON.parse(JSON.stringify(m)).perChannelPeir, what).toEqual(m.perChannelPeir);
      expect(JSON.stringify(m), what).not.toMatch(/NaN|Infinity/);
    }
  });
});
