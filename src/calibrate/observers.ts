/**
 * Range observers: they watch the tensors of a calibration set go by and
 * report a range [lo, hi] per slice (channel), from which `calibrate.ts`
 * derives quantization parameters.
 *
 * - `MinMaxObserver` (default): the smallest and largest value seen. Memory:
 *   two numbers per slice.
 * - `PercentileObserver(p)`: the (100 - p)-th and p-th percentiles of every
 *   value seen, computed exactly by sorting (NumPy's default 'linear'
 *   method: position (n - 1) * pct / 100 between order statistics, linearly
 *   interpolated). Memory: it keeps every observed value, 4 bytes each (ten
 *   64x112x112 activations: 32 MiB), capped by `maxValues`.
 * - `MseObserver`: MSE-optimal clipping for a given scheme. Per slice, with
 *   [lo, hi] the min-max range widened to include 0, it tries the K
 *   candidate ranges [a lo, a hi], a = k / K for k = K..1 (K = 100 by
 *   default), quantizes every observed value of the slice with the
 *   parameters that range gives (the scheme's own rules and f32 formulas),
 *   and keeps the range with the smallest sum of squared errors; ties go to
 *   the wider range. Cost: K fake-quantizations per observed value. Memory:
 *   as the percentile observer. Derive the parameters from its ranges with
 *   the same scheme options it searched with.
 *
 * Slices: `observe(t, axis)` splits `t` along `axis` (null: one slice); every
 * call on one observer must use the same axis and slice count. A value that
 * is NaN or infinite throws an InputError naming the observer, the
 * calibration tensor (by call number) and the flat index.
 */
import { InputError } from '../errors.js';
import { numElements, shapeToString, type Tensor } from '../tensor.js';
import { quantParamsFromRanges, resolveSchemeOptions, sliceLayout, sliceQuantizer, type QuantParams, type SchemeOptions } from '../quant/scheme.js';

/** Per-slice ranges and the axis the slices run along. */
export interface ObservedRange {
  axis: number | null;
  lo: number[];
  hi: number[];
}

export interface RangeObserver {
  /** Accumulate one calibration tensor, split into slices along `axis` (null: the whole tensor). */
  observe(t: Tensor, axis: number | null): void;
  /** The range per slice of everything observed so far. */
  range(): ObservedRange;
}

export interface ObserverOptions {
  /** Names the observed tensor in error messages, e.g. 'conv1/output'. */
  name?: string;
}

export interface StoringObserverOptions extends ObserverOptions {
  /** Most values kept in total (all slices); beyond it observe() throws. Default 2^27 (512 MiB). */
  maxValues?: number;
}

export const DEFAULT_MAX_VALUES = 2 ** 27;
export const DEFAULT_PERCENTILE = 99.99;
export const DEFAULT_MSE_CANDIDATES = 100;

/** Shared bookkeeping: axis consistency, non-finite checks, slicing. */
abstract class SlicedObserver implements RangeObserver {
  protected readonly name: string;
  private axis: number | null | undefined = undefined;
  protected channels = 0;
  private calls = 0;

  constructor(opts: ObserverOptions) {
    this.name = opts.name ?? 'calibration tensor';
  }

  observe(t: Tensor, axis: number | null): void {
    const callNo = this.calls + 1;
    const what = `${this.name} (calibration tensor #${callNo})`;
    if (numElements(t.shape) === 0) throw new InputError(`${what} is empty (shape ${shapeToString(t.shape)})`);
    const { outer, channels, inner } = sliceLayout(t.shape, axis, what);
    if (this.axis !== undefined && (this.axis !== axis || this.channels !== channels)) {
      throw new InputError(
        `${what} is sliced along axis ${axis} into ${channels} slice(s), but earlier tensors were sliced along axis ${this.axis} into ${this.channels}`,
      );
    }
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new InputError(`${what} holds a non-finite value (${d[i]}) at flat index ${i}; calibration data must be finite`);
      }
    }
    if (this.axis === undefined) {
      this.axis = axis;
      this.channels = channels;
      this.start(channels);
    }
    this.beforeObserve(d.length, what);
    this.calls = callNo;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const base = (o * channels + c) * inner;
        this.absorb(c, d.subarray(base, base + inner));
      }
    }
  }

  range(): ObservedRange {
    if (this.axis === undefined) throw new InputError(`${this.name}: no calibration data observed yet`);
    const lo: number[] = [];
    const hi: number[] = [];
    for (let c = 0; c < this.channels; c++) {
      const r = this.sliceRange(c);
      lo.push(r.lo);
      hi.push(r.hi);
    }
    return { axis: this.axis, lo, hi };
  }

  /** Called once, at the first observe, with the slice count. */
  protected abstract start(channels: number): void;
  /** Called before a tensor of `n` values is absorbed (may throw). */
  protected beforeObserve(_n: number, _what: string): void {}
  /** Take in one contiguous run of slice `c` (finite values; the view is only valid during the call). */
  protected abstract absorb(c: number, block: Float32Array): void;
  protected abstract sliceRange(c: number): { lo: number; hi: number };
}

/** Smallest and largest value per slice. */
export class MinMaxObserver extends SlicedObserver {
  private lo = new Float64Array(0);
  private hi = new Float64Array(0);

  constructor(opts: ObserverOptions = {}) {
    super(opts);
  }

  protected start(channels: number): void {
    this.lo = new Float64Array(channels).fill(Infinity);
    this.hi = new Float64Array(channels).fill(-Infinity);
  }

  protected absorb(c: number, block: Float32Array): void {
    let lo = this.lo[c];
    let hi = this.hi[c];
    for (let i = 0; i < block.length; i++) {
      const v = block[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.lo[c] = lo;
    this.hi[c] = hi;
  }

  protected sliceRange(c: number): { lo: number; hi: number } {
    return { lo: this.lo[c], hi: this.hi[c] };
  }
}

/** Keeps every observed value per slice (for the percentile and MSE observers). */
abstract class StoringObserver extends SlicedObserver {
  private chunks: Float32Array[][] = [];
  private counts: number[] = [];
  private total = 0;
  private readonly maxValues: number;
  private sortedCache: (Float32Array | undefined)[] = [];

  constructor(opts: StoringObserverOptions) {
    super(opts);
    this.maxValues = opts.maxValues ?? DEFAULT_MAX_VALUES;
    if (!Number.isInteger(this.maxValues) || this.maxValues < 1) {
      throw new InputError(`${this.name}: maxValues must be a positive integer, got ${opts.maxValues}`);
    }
  }

  protected start(channels: number): void {
    this.chunks = Array.from({ length: channels }, () => []);
    this.counts = new Array<number>(channels).fill(0);
    this.sortedCache = new Array<Float32Array | undefined>(channels).fill(undefined);
  }

  protected override beforeObserve(n: number, what: string): void {
    if (this.total + n > this.maxValues) {
      throw new InputError(
        `${what}: this observer keeps every calibration value and would hold ${this.total + n} > maxValues ${this.maxValues}; ` +
          'use fewer or smaller calibration inputs, raise maxValues, or use the minmax observer',
      );
    }
    this.total += n;
  }

  protected absorb(c: number, block: Float32Array): void {
    this.chunks[c].push(block.slice());
    this.counts[c] += block.length;
    this.sortedCache[c] = undefined;
  }

  /** All values of slice c, sorted ascending (cached until the next observe). */
  protected sortedValues(c: number): Float32Array {
    const cached = this.sortedCache[c];
    if (cached) return cached;
    const all = new Float32Array(this.counts[c]);
    let off = 0;
    for (const ch of this.chunks[c]) {
      all.set(ch, off);
      off += ch.length;
    }
    all.sort();
    this.chunks[c] = [all];
    this.sortedCache[c] = all;
    return all;
  }
}

/**
 * The `pct`-th percentile of ascending `v` (NumPy 'linear'): position
 * h = (n - 1) pct / 100, v[floor h] + frac(h) (v[floor h + 1] - v[floor h]).
 */
export function percentileOfSorted(v: Float32Array, pct: number): number {
  const n = v.length;
  if (n === 0) throw new InputError('percentile of an empty set');
  const h = ((n - 1) * pct) / 100;
  const i = Math.floor(h);
  if (i >= n - 1) return v[n - 1];
  if (i < 0) return v[0];
  const a = v[i];
  const b = v[i + 1];
  const r = a + (h - i) * (b - a);
  return r < a ? a : r > b ? b : r;
}

/** Per slice, the (100 - p)-th and p-th percentiles of all observed values (exact, by sorting). */
export class PercentileObserver extends StoringObserver {
  constructor(
    readonly percentile: number = DEFAULT_PERCENTILE,
    opts: StoringObserverOptions = {},
  ) {
    super(opts);
    if (!(percentile >= 50 && percentile <= 100)) {
      throw new InputError(`${this.name}: percentile must be in [50, 100], got ${percentile}`);
    }
  }

  protected sliceRange(c: number): { lo: number; hi: number } {
    const v = this.sortedValues(c);
    return { lo: percentileOfSorted(v, 100 - this.percentile), hi: percentileOfSorted(v, this.percentile) };
  }
}

export interface MseObserverOptions extends StoringObserverOptions, SchemeOptions {
  /** Number K of candidate ranges (fractions k / K of the min-max range). Default 100. */
  candidates?: number;
}

/** Per slice, the clipping range (a fraction of the min-max range) with the smallest quantization MSE. */
export class MseObserver extends StoringObserver {
  private readonly scheme: SchemeOptions;
  readonly candidates: number;

  constructor(opts: MseObserverOptions) {
    super(opts);
    this.scheme = resolveSchemeOptions(opts);
    this.candidates = opts.candidates ?? DEFAULT_MSE_CANDIDATES;
    if (!Number.isInteger(this.candidates) || this.candidates < 1) {
      throw new InputError(`${this.name}: candidates must be a positive integer, got ${opts.candidates}`);
    }
  }

  protected sliceRange(c: number): { lo: number; hi: number } {
    const v = this.sortedValues(c);
    const lo0 = Math.min(v[0], 0);
    const hi0 = Math.max(v[v.length - 1], 0);
    if (lo0 === 0 && hi0 === 0) return { lo: 0, hi: 0 };
    const k = this.candidates;
    let best = { lo: lo0, hi: hi0 };
    let bestSse = Infinity;
    // Candidates that yield the same (scale, zero point) as a wider one score the same and lose the tie: skip them.
    const seen = new Set<string>();
    for (let j = k; j >= 1; j--) {
      const a = j / k;
      const cand = { lo: a * lo0, hi: a * hi0 };
      const p = quantParamsFromRanges({ lo: [cand.lo], hi: [cand.hi] }, null, this.scheme, `${this.name} slice ${c} candidate range`);
      const key = `${p.scale[0]}/${p.zeroPoint[0]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const sse = sumSquaredError(v, p);
      if (sse < bestSse) {
        bestSse = sse;
        best = cand;
      }
    }
    return best;
  }
}

/** Sum over v of (x - dequantize(quantize(x)))^2 with single-slice parameters p. */
function sumSquaredError(v: Float32Array, p: QuantParams): number {
  const quantize = sliceQuantizer(p, 0);
  const s = p.scale[0];
  const z = p.zeroPoint[0];
  let sse = 0;
  for (let i = 0; i < v.length; i++) {
    const e = v[i] - Math.fround((quantize(v[i]) - z) * s);
    sse += e * e;
  }
  return sse;
}

export type ObserverKind = 'minmax' | 'percentile' | 'mse';
export const OBSERVER_KINDS: readonly ObserverKind[] = ['minmax', 'percentile', 'mse'];

export interface CreateObserverOptions extends StoringObserverOptions, SchemeOptions {
  /** Percentile observer: p. Default 99.99. */
  percentile?: number;
  /** MSE observer: number of candidates. Default 100. */
  candidates?: number;
}

/** An observer by name; the scheme options matter only for 'mse'. */
export function createObserver(kind: ObserverKind, opts: CreateObserverOptions): RangeObserver {
  switch (kind) {
    case 'minmax':
      return new MinMaxObserver(opts);
    case 'percentile':
      return new PercentileObserver(opts.percentile ?? DEFAULT_PERCENTILE, opts);
    case 'mse':
      return new MseObserver(opts);
    default:
      throw new InputError(`observer must be one of ${OBSERVER_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
}
