/**
 * `npm run bench:soak`: many trials of one experiment on one GPU context,
 * printing the buffer pool's counters (src/gpu/buffer-pool.ts) and the
 * process's memory at the start, along the way and at the end. A leak shows
 * as buffers created or live bytes growing after the first trials, or RSS
 * climbing; a flat run creates no buffer after warm-up. Node only.
 */
import { createGpu } from '../src/gpu/context.js';
import { resolveConfig } from '../src/run/config.js';
import { GpuEngine } from '../src/run/engine.js';
import { runExperiment } from '../src/run/experiment.js';

export interface SoakOptions {
  trials: number;
  size: number;
  log: (line: string) => void;
}

interface Snapshot {
  trial: number;
  created: number;
  inUse: number;
  free: number;
  liveBytes: number;
  rssMiB: number;
  heapMiB: number;
}

/** Trials after which the pool must have stopped growing (pipelines compiled, every buffer size seen). */
const WARMUP_TRIALS = 10;
/** RSS may drift by allocator noise and JIT code; more than this is reported as growth. */
const RSS_SLACK_MIB = 64;

/** Run the soak; returns whether memory stayed flat. */
export async function runSoak(o: SoakOptions): Promise<boolean> {
  const ctx = await createGpu();
  const engine = new GpuEngine(ctx);
  const snaps: Snapshot[] = [];
  const snap = (trial: number) => {
    const p = ctx.poolStats();
    const m = process.memoryUsage();
    const s = { trial, ...p, rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20 };
    snaps.push(s);
    o.log(
      `trial ${String(trial).padStart(5)}: pool created ${s.created}, in use ${s.inUse}, free ${s.free}, ` +
        `live ${(s.liveBytes / 2 ** 20).toFixed(2)} MiB; RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)} MiB`,
    );
  };
  const every = Math.max(1, Math.floor(o.trials / 10));
  try {
    const cfg = resolveConfig({ module: 'conv2d', scheme: 'q8', size: o.size, trials: o.trials, calib: 4 });
    o.log(`soak: peir run --module conv2d --scheme q8 --size ${o.size} --trials ${o.trials} --calib 4 on ${ctx.adapter.vendor} ${ctx.adapter.architecture}`);
    snap(0);
    const t0 = performance.now();
    await runExperiment(cfg, engine, {
      onProgress: (done) => {
        if (done === WARMUP_TRIALS || done % every === 0 || done === o.trials) snap(done);
      },
    });
    o.log(`${o.trials} trials in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    engine.dispose();
  }
  const warm = snaps.find((s) => s.trial >= WARMUP_TRIALS) ?? snaps[0];
  const end = snaps[snaps.length - 1];
  const problems: string[] = [];
  if (end.created !== warm.created) problems.push(`the pool created ${end.created - warm.created} buffers after trial ${warm.trial}`);
  if (end.liveBytes !== warm.liveBytes) problems.push(`live pool bytes went from ${warm.liveBytes} to ${end.liveBytes}`);
  if (end.inUse !== 0) problems.push(`${end.inUse} buffers still in use after the run`);
  if (end.rssMiB - warm.rssMiB > RSS_SLACK_MIB) problems.push(`RSS grew by ${(end.rssMiB - warm.rssMiB).toFixed(1)} MiB after trial ${warm.trial}`);
  o.log(problems.length === 0
    ? `flat: no buffer created after trial ${warm.trial}; RSS ${warm.rssMiB.toFixed(1)} -> ${end.rssMiB.toFixed(1)} MiB (slack ${RSS_SLACK_MIB} MiB)`
    : `NOT FLAT: ${problems.join('; ')}`);
  return problems.length === 0;
}
