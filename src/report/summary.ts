/**
 * Summary statistics over trials: min, median, max, mean and (population)
 * standard deviation of every numeric metric. The median of an even count is
 * the mean of the two middle values. Non-finite values never reach a report:
 * metrics are finite by construction (src/metrics), and a summary over an
 * empty list is refused.
 */
import { PeirError } from '../errors.js';

export interface Stats {
  min: number;
  median: number;
  max: number;
  mean: number;
  std: number;
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) throw new PeirError('cannot summarise zero trials');
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of sorted) sq += (v - mean) ** 2;
  return { min: sorted[0], median, max: sorted[n - 1], mean, std: Math.sqrt(sq / n) };
}

/** Stats for every top-level numeric field common to all records (e.g. every trial's metrics). */
export function summarize(records: readonly Record<string, unknown>[], keys?: readonly string[]): Record<string, Stats> {
  if (records.length === 0) throw new PeirError('cannot summarise zero trials');
  const names = keys ?? Object.keys(records[0]).filter((k) => records.every((r) => typeof r[k] === 'number'));
  const out: Record<string, Stats> = {};
  for (const k of names) out[k] = stats(records.map((r) => r[k] as number));
  return out;
}
