/**
 * Exact order statistics for the tail metric: the nearest-rank percentile
 * (no interpolation, so the result is always one of the data values and a
 * GPU radix select can reproduce it bit for bit).
 */
import { InputError } from '../errors.js';

/**
 * 0-based rank of the nearest-rank `num/den` quantile of `n` values sorted
 * ascending: k = ceil(n num / den) - 1, at least 0. The quantile is the
 * smallest value with at least num/den of the data at or below it. Integer
 * arithmetic (exact for n up to 2^43 with den = 1000).
 *
 * @example nearestRankIndex(1000) === 998; nearestRankIndex(1001) === 999; nearestRankIndex(1) === 0
 */
export function nearestRankIndex(n: number, num = 999, den = 1000): number {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`percentile of ${n} values: need a positive integer count`);
  if (!Number.isInteger(num) || !Number.isInteger(den) || num < 0 || den < 1 || num > den) {
    throw new InputError(`percentile fraction ${num}/${den} must be a fraction of integers in [0, 1]`);
  }
  return Math.max(0, Math.floor((n * num + den - 1) / den) - 1);
}

/** Rounds of partitioning after which the remaining range is sorted instead (guards the O(n^2) worst case). */
const MAX_PARTITION_ROUNDS = 64;

/**
 * The value of rank `k` (0-based, ascending) of `a`: Hoare quickselect with
 * a median-of-three pivot, falling back to sorting the remaining range after
 * MAX_PARTITION_ROUNDS rounds. Reorders `a`. Values must not be NaN.
 */
export function selectKth(a: Float32Array, k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= a.length) throw new InputError(`rank ${k} is out of range for ${a.length} values`);
  let lo = 0;
  let hi = a.length - 1;
  for (let round = 0; hi > lo; round++) {
    if (round >= MAX_PARTITION_ROUNDS) {
      a.subarray(lo, hi + 1).sort();
      return a[k];
    }
    const mid = lo + ((hi - lo) >> 1);
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot, a[i..hi] >= pivot and everything strictly between equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
