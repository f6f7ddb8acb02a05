/**
 * Repetition and statistics for the benchmark suite (host-agnostic: no Node
 * imports). Each implementation of a case is warmed up once (pipelines
 * compile, buffers are pooled), then the implementations of one case are run
 * round-robin until every one has had its time budget, so that a load spike
 * on a shared machine hits all of them alike. Minimum and median are reported;
 * on a noisy machine the minimum is the better estimate of the cost.
 */

/** What one repetition reports: wall milliseconds always, GPU milliseconds when a GPU clock measured it. */
export interface Sample {
  wallMs: number;
  gpuMs?: number;
  /** Process CPU milliseconds (Node hosts only; all threads, so SwiftShader's workers too). */
  cpuMs?: number;
}

export interface Stats {
  reps: number;
  wallMs: { min: number; median: number };
  gpuMs?: { min: number; median: number };
  cpuMs?: { min: number; median: number };
}

/** One implementation of a case: `rep` runs it once and returns what it measured. */
export interface Runner {
  name: string;
  rep: () => Promise<Omit<Sample, 'cpuMs'>>;
}

export interface MeasureOptions {
  /** Time budget per runner, in wall milliseconds (warm-up not counted). */
  budgetMs: number;
  /** At least this many measured repetitions per runner. Default 1. */
  minReps?: number;
  /** At most this many. Default 50. */
  maxReps?: number;
  /** Process CPU time in milliseconds, where the host can tell (Node: process.cpuUsage). */
  cpuClock?: () => number;
  /** Skip the warm-up repetition (when the caller already warmed up). */
  noWarmup?: boolean;
}

function minMedian(xs: number[]): { min: number; median: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2 };
}

export function summarize(samples: Sample[]): Stats {
  const gpu = samples.filter((s) => s.gpuMs !== undefined).map((s) => s.gpuMs!);
  const cpu = samples.filter((s) => s.cpuMs !== undefined).map((s) => s.cpuMs!);
  return {
    reps: samples.length,
    wallMs: minMedian(samples.map((s) => s.wallMs)),
    gpuMs: gpu.length === samples.length && gpu.length > 0 ? minMedian(gpu) : undefined,
    cpuMs: cpu.length === samples.length && cpu.length > 0 ? minMedian(cpu) : undefined,
  };
}

async function once(r: Runner, cpuClock?: () => number): Promise<Sample> {
  const c0 = cpuClock?.();
  const s = await r.rep();
  return c0 === undefined ? s : { ...s, cpuMs: cpuClock!() - c0 };
}

/** Warm up each runner, then run them round-robin until each has used its budget. */
export async function measureInterleaved(runners: Runner[], o: MeasureOptions): Promise<Map<string, Stats>> {
  const minReps = o.minReps ?? 1;
  const maxReps = o.maxReps ?? 50;
  if (!o.noWarmup) for (const r of runners) await once(r, o.cpuClock);
  const samples = new Map<string, Sample[]>(runners.map((r) => [r.name, []]));
  const spent = new Map<string, number>(runners.map((r) => [r.name, 0]));
  for (;;) {
    const active = runners.filter((r) => {
      const n = samples.get(r.name)!.length;
      return n < maxReps && (n < minReps || spent.get(r.name)! < o.budgetMs);
    });
    if (active.length === 0) break;
    for (const r of active) {
      const t0 = performance.now();
      samples.get(r.name)!.push(await once(r, o.cpuClock));
      spent.set(r.name, spent.get(r.name)! + performance.now() - t0);
    }
  }
  return new Map([...samples].map(([k, v]) => [k, summarize(v)]));
}

/** Milliseconds of a wall-clock interval around `f`. */
export async function wall<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}
