/** Range observers and calibration parameters, on small hand-checked data. */
import { describe, expect, it } from 'vitest';
import { calibrationParams } from '../src/calibrate/calibrate.js';
import {
  MinMaxObserver,
  MseObserver,
  PercentileObserver,
  createObserver,
  percentileOfSorted,
  type RangeObserver,
} from '../src/calibrate/observers.js';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import { dequantizeValue, fakeQuantize, quantizeValue, quantParamsFromRanges, type SchemeOptions } from '../src/quant/index.js';
import { f32 } from '../src/tensor.js';
import { quantRoundTripTolerance } from './tolerance.js';

/** NCHW [1, 2, 1, 3]: channel 0 = a, channel 1 = b. */
function twoChannels(a: number[], b: number[]) {
  return f32([1, 2, 1, 3], [...a, ...b]);
}

describe('MinMaxObserver', () => {
  it('per channel (axis 1) accumulates over calls', () => {
    const o = new MinMaxObserver();
    o.observe(twoChannels([1, -2, 3], [10, 20, 30]), 1);
    o.observe(twoChannels([0, 5, -1], [15, 15, 15]), 1);
    expect(o.range()).toEqual({ axis: 1, lo: [-2, 10], hi: [5, 30] });
  });

  it('per tensor (axis null), including a batch dimension', () => {
    const o = new MinMaxObserver();
    o.observe(f32([2, 2, 1, 1], [1, -4, 2, 8]), null);
    expect(o.range()).toEqual({ axis: null, lo: [-4], hi: [8] });
  });

  it('axis 1 with N = 2 gathers both batch entries of each channel', () => {
    const o = new MinMaxObserver();
    // [2, 2, 1, 2]: n0c0 = [1, 2], n0c1 = [3, 4], n1c0 = [-5, 6], n1c1 = [7, -8]
    o.observe(f32([2, 2, 1, 2], [1, 2, 3, 4, -5, 6, 7, -8]), 1);
    expect(o.range()).toEqual({ axis: 1, lo: [-5, -8], hi: [6, 7] });
  });

  it('axis 0 for [4H, I] weights: one slice per row', () => {
    const o = new MinMaxObserver();
    o.observe(f32([4, 2], [1, 2, -3, 4, 0, 0, 9, -9]), 0);
    expect(o.range()).toEqual({ axis: 0, lo: [1, -3, 0, -9], hi: [2, 4, 0, 9] });
  });
});

describe('percentiles (NumPy linear interpolation)', () => {
  it('hand-checked on 1..101 and 1..4', () => {
    const v = Float32Array.from({ length: 101 }, (_, i) => i + 1);
    expect(percentileOfSorted(v, 99)).toBe(100);
    expect(percentileOfSorted(v, 1)).toBe(2);
    expect(percentileOfSorted(v, 99.5)).toBe(100.5);
    expect(percentileOfSorted(v, 0.5)).toBe(1.5);
    expect(percentileOfSorted(v, 100)).toBe(101);
    expect(percentileOfSorted(v, 0)).toBe(1);
    const w = Float32Array.from([1, 2, 3, 4]);
    expect(percentileOfSorted(w, 50)).toBe(2.5); // numpy.percentile([1,2,3,4], 50) = 2.5
    expect(percentileOfSorted(w, 90)).toBeCloseTo(3.7, 12); // 3 + 0.7 * (4 - 3)
  });

  it('PercentileObserver per channel over two calls, and p = 100 is min/max', () => {
    const o = new PercentileObserver(99);
    const p100 = new PercentileObserver(100);
    // channel 0 gets 1..101 in two calls (shuffled), channel 1 gets 101 copies of 7
    const vals = Array.from({ length: 101 }, (_, i) => i + 1).reverse();
    const a = f32([1, 2, 1, 51], [...vals.slice(0, 51), ...new Array(51).fill(7)]);
    const b = f32([1, 2, 1, 50], [...vals.slice(51), ...new Array(50).fill(7)]);
    for (const obs of [o, p100]) {
      obs.observe(a, 1);
      obs.observe(b, 1);
    }
    expect(o.range()).toEqual({ axis: 1, lo: [2, 7], hi: [100, 7] });
    expect(p100.range()).toEqual({ axis: 1, lo: [1, 7], hi: [101, 7] });
    // range() is repeatable and later data still counts
    expect(o.range()).toEqual({ axis: 1, lo: [2, 7], hi: [100, 7] });
    o.observe(f32([1, 2, 1, 1], [1000, 7]), 1);
    // now 1..101 and 1000: h = 101 * 0.99 = 99.99 -> sorted[99] + 0.99 (sorted[100] - sorted[99]) = 100.99
    expect(o.range().hi[0]).toBeCloseTo(100.99, 10);
  });

  it('the default p = 99.99 clips a single outlier of 20001 values', () => {
    const o = new PercentileObserver();
    expect(o.percentile).toBe(99.99);
    const data = Float32Array.from({ length: 20001 }, (_, i) => (i === 20000 ? 1e6 : i / 20000));
    o.observe(f32([20001], data), null);
    const r = o.range();
    // h = 20000 * 0.9999 = 19998: sorted[19998] = 0.9999; lo: h = 2 -> 0.0001
    expect(r.hi[0]).toBeCloseTo(Math.fround(19998 / 20000), 6);
    expect(r.lo[0]).toBeCloseTo(Math.fround(2 / 20000), 9);
  });

  it('bad percentiles -> InputError', () => {
    expect(() => new PercentileObserver(49)).toThrow(InputError);
    expect(() => new PercentileObserver(100.5)).toThrow(InputError);
    expect(() => new PercentileObserver(NaN)).toThrow(InputError);
  });
});

function sse(values: Float32Array, lo: number, hi: number, opts: SchemeOptions): number {
  const fq = fakeQuantize(f32([values.length], values), quantParamsFromRanges({ lo: [lo], hi: [hi] }, null, opts));
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i] - fq.data[i]) ** 2;
  return s;
}

describe('MseObserver', () => {
  it('exactly representable data keeps the full range (ties go to the wider range)', () => {
    // q16 pow2 on {0, 10}: [0, 10] gives f = 11, 10 * 2^11 = 20480 exact: SSE 0
    const o = new MseObserver({ scheme: 'q16' });
    o.observe(f32([4], [0, 0, 0, 10]), null);
    expect(o.range()).toEqual({ axis: null, lo: [0], hi: [10] });
  });

  it('seed 61: an outlier is clipped, and the chosen candidate has the smallest SSE of the grid', () => {
    const p = new Prng(61);
    const n = 100000;
    const data = p.fill(n, (r) => r.next());
    data[0] = 50; // full range: s = 50/255, the bulk in [0, 1] gets ~5 levels
    const opts: SchemeOptions = { scheme: 'q8' };
    const o = new MseObserver(opts);
    o.observe(f32([1, 1, 1, n], data), 1);
    const r = o.range();
    expect(r.axis).toBe(1);
    expect(r.lo[0]).toBe(0);
    expect(r.hi[0], 'the outlier should be clipped').toBeLessThan(50);
    const best = sse(data, r.lo[0], r.hi[0], opts);
    for (let k = 1; k <= 100; k++) {
      const s = sse(data, 0, (k / 100) * 50, opts); // the observer's candidate formula
      expect(best <= s, `candidate ${k}/100 has SSE ${s} < chosen ${best} (hi ${r.hi[0]})`).toBe(true);
    }
    expect(best).toBeLessThan(sse(data, 0, 50, opts));
  });

  it('per channel: each slice searched on its own values; an all-zero channel stays [0, 0]', () => {
    const o = new MseObserver({ scheme: 'q16', candidates: 10 });
    o.observe(f32([1, 2, 1, 2], [0, 0, -3, 1]), 1);
    const r = o.range();
    expect(r.lo[0]).toBe(0);
    expect(r.hi[0]).toBe(0);
    // [-3, 1] with q16 pow2: f = 13 represents both exactly -> full range kept
    expect([r.lo[1], r.hi[1]]).toEqual([-3, 1]);
  });

  it('bad options -> InputError', () => {
    expect(() => new MseObserver({ scheme: 'q8', candidates: 0 })).toThrow(InputError);
    expect(() => new MseObserver({ scheme: 'q12' as 'q8' })).toThrow(InputError);
  });
});

describe('observer errors', () => {
  const kinds: [string, () => RangeObserver][] = [
    ['minmax', () => new MinMaxObserver({ name: 'conv1/output' })],
    ['percentile', () => new PercentileObserver(99.9, { name: 'conv1/output' })],
    ['mse', () => new MseObserver({ scheme: 'q8', name: 'conv1/output' })],
  ];
  for (const [kind, make] of kinds) {
    it(`${kind}: non-finite values name the tensor, the call and the index`, () => {
      const o = make();
      o.observe(twoChannels([1, 2, 3], [4, 5, 6]), 1);
      expect(() => o.observe(twoChannels([1, 2, 3], [4, 5, NaN]), 1)).toThrow(/conv1\/output \(calibration tensor #2\).*NaN.*flat index 5/);
      expect(() => o.observe(twoChannels([Infinity, 2, 3], [4, 5, 6]), 1)).toThrow(/Infinity.*flat index 0/);
      // the failed calls did not count
      expect(o.range().lo).toHaveLength(2);
    });

    it(`${kind}: axis / slice-count changes, empty tensors and no data -> InputError`, () => {
      const o = make();
      expect(() => o.range()).toThrow(/conv1\/output: no calibration data/);
      o.observe(twoChannels([1, 2, 3], [4, 5, 6]), 1);
      expect(() => o.observe(twoChannels([1, 2, 3], [4, 5, 6]), null)).toThrow(/axis null.*axis 1/);
      expect(() => o.observe(f32([1, 3, 1, 1], [1, 2, 3]), 1)).toThrow(/3 slice\(s\).*into 2/);
      expect(() => o.observe(f32([1, 0, 1, 1], []), 1)).toThrow(/empty/);
      expect(() => o.observe(twoChannels([1, 2, 3], [4, 5, 6]), 4)).toThrow(/axis 4/);
    });
  }

  it('value-keeping observers stop at maxValues with a message that says what to do', () => {
    const o = new PercentileObserver(99, { name: 'lstm/h', maxValues: 10 });
    o.observe(f32([6], [1, 2, 3, 4, 5, 6]), null);
    expect(() => o.observe(f32([6], [1, 2, 3, 4, 5, 6]), null)).toThrow(/lstm\/h.*12 > maxValues 10.*minmax/);
    expect(() => new PercentileObserver(99, { maxValues: 0 })).toThrow(InputError);
  });

  it('createObserver builds each kind and rejects unknown names', () => {
    expect(createObserver('minmax', { scheme: 'q8' })).toBeInstanceOf(MinMaxObserver);
    const p = createObserver('percentile', { scheme: 'q8', percentile: 99.5 });
    expect(p).toBeInstanceOf(PercentileObserver);
    expect((p as PercentileObserver).percentile).toBe(99.5);
    expect(createObserver('mse', { scheme: 'q16', candidates: 7 })).toBeInstanceOf(MseObserver);
    expect(() => createObserver('kl' as 'mse', { scheme: 'q8' })).toThrow(InputError);
  });
});

describe('calibrationParams', () => {
  it('channel granularity: one slice per observed channel, along the observed axis', () => {
    const o = new MinMaxObserver();
    o.observe(twoChannels([-1, 0, 3], [0, 0, 0]), 1);
    const p = calibrationParams(o.range(), { scheme: 'q8', granularity: 'channel' });
    expect(p.axis).toBe(1);
    expect(Array.from(p.scale)).toEqual([Math.fround(4 / 255), Math.fround(1 / 255)]);
    expect(Array.from(p.zeroPoint)).toEqual([64, 0]);
  });

  it('tensor granularity: the envelope of the channel ranges equals observing per tensor (min-max)', () => {
    const a = new MinMaxObserver();
    const b = new MinMaxObserver();
    const t = twoChannels([-1, 0, 3], [0.5, 7, 2]);
    a.observe(t, 1);
    b.observe(t, null);
    for (const scheme of ['q8', 'q16'] as const) {
      const fromChannels = calibrationParams(a.range(), { scheme, granularity: 'tensor' });
      const fromTensor = calibrationParams(b.range(), { scheme, granularity: 'tensor' });
      expect(fromChannels).toEqual(fromTensor);
      expect(fromChannels.axis).toBeNull();
      expect(fromChannels.scale).toHaveLength(1);
    }
  });

  it('per-channel calibration of ranges observed per tensor -> InputError; bad ranges -> InputError', () => {
    const o = new MinMaxObserver();
    o.observe(twoChannels([1, 2, 3], [4, 5, 6]), null);
    expect(() => calibrationParams(o.range(), { scheme: 'q8', granularity: 'channel' }, 'conv1/output')).toThrow(/conv1\/output.*per-channel/);
    expect(() => calibrationParams({ axis: 1, lo: [0, 2], hi: [1, 1] }, { scheme: 'q8', granularity: 'tensor' })).toThrow(/slice 1/);
    expect(() => calibrationParams({ axis: 1, lo: [0, 2], hi: [1, 1] }, { scheme: 'q8', granularity: 'channel' })).toThrow(/slice 1/);
    expect(() => calibrationParams({ axis: 1, lo: [0], hi: [1] }, { scheme: 'q8', granularity: 'layer' as 'tensor' })).toThrow(InputError);
  });

  it('seed 71: nothing on the calibration data saturates (min-max, every scheme, channel and tensor)', () => {
    const p = new Prng(71);
    const batches = Array.from({ length: 3 }, () => {
      const data = new Float32Array(4 * 5 * 6);
      for (let c = 0; c < 4; c++) {
        const spread = 10 ** (c - 2); // channel ranges 0.01 .. 10
        for (let i = 0; i < 30; i++) data[c * 30 + i] = Math.fround(p.normal() * spread + (c === 3 ? spread : 0));
      }
      return f32([1, 4, 5, 6], data);
    });
    const o = new MinMaxObserver();
    for (const b of batches) o.observe(b, 1);
    const r = o.range();
    for (const scheme of ['q8', 'q16'] as const) {
      for (const scaleType of ['linear', 'pow2'] as const) {
        for (const granularity of ['channel', 'tensor'] as const) {
          const q = calibrationParams(r, { scheme, scaleType, granularity });
          for (const b of batches) {
            for (let i = 0; i < b.data.length; i++) {
              const c = Math.floor(i / 30);
              const slice = granularity === 'channel' ? c : 0;
              const lo = granularity === 'channel' ? r.lo[c] : Math.min(...r.lo);
              const hi = granularity === 'channel' ? r.hi[c] : Math.max(...r.hi);
              const x = b.data[i];
              const back = dequantizeValue(quantizeValue(x, q, slice), q, slice);
              const s = q.scale[slice];
              const tol = scaleType === 'pow2' ? s / 2 : quantRoundTripTolerance(s, Math.max(-Math.min(lo, 0), Math.max(hi, 0)));
              if (!(Math.abs(back - x) <= tol)) {
                expect.fail(`${scheme} ${scaleType} ${granularity}: element ${i} (channel ${c}) ${x} -> ${back}, |err| ${Math.abs(back - x)} > ${tol}`);
              }
            }
          }
        }
      }
    }
  });
});
