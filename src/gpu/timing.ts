/**
 * GPU time of a batch from timestamp queries: every compute pass the batch
 * records gets a beginning- and end-of-pass timestamp, resolved into a buffer
 * and read back once the work is done. Needs the `timestamp-query` feature,
 * which createGpu requests when the adapter has it (`ctx.adapter.timestampQuery`).
 * Implementations may coarsen timestamps (browsers quantize them, to 100 µs in
 * Chrome without developer features), so time batches that run for
 * milliseconds, not single tiny dispatches.
 *
 * @example
 * ```ts
 * const timer = new GpuTimer(gpu);
 * try {
 *   const { timing } = await timer.run('conv2d', (b) => encodeConv2d(gpu, b, g, true, bufs));
 *   console.log(`${timing.spanNs / 1e6} ms on the GPU`);
 * } finally {
 *   timer.dispose();
 * }
 * ```
 */
import { GpuLimitError, GpuUnavailableError } from '../errors.js';
import type { GpuBatch, GpuContext } from './context.js';

/** GPU time of one batch, in nanoseconds of the adapter's timestamp clock. */
export interface GpuTiming {
  /** From the first pass's beginning to the last pass's end (includes copies and gaps between passes). */
  spanNs: number;
  /** Sum of the passes' own durations. */
  sumNs: number;
  /** Each compute pass in recording order, named by its kernel's label. */
  passes: { label: string; ns: number }[];
}

const QUERY_RESOLVE = 0x0200;
const COPY_SRC = 0x0004;

export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private disposed = false;

  /**
   * @param maxPasses most compute passes one timed batch may record (two queries each)
   */
  constructor(
    private readonly ctx: GpuContext,
    readonly maxPasses = 1024,
  ) {
    if (!GpuTimer.supported(ctx)) {
      throw new GpuUnavailableError(`GPU timing needs the 'timestamp-query' feature, which this adapter (${ctx.adapter.vendor || 'unknown'}) does not offer; time with the wall clock instead`);
    }
    this.querySet = ctx.device.createQuerySet({ label: 'peir/timer', type: 'timestamp', count: 2 * maxPasses });
  }

  /** Whether the context's device was created with timestamp queries. */
  static supported(ctx: GpuContext): boolean {
    return ctx.adapter.timestampQuery && ctx.device.features.has('timestamp-query');
  }

  /**
   * Like `ctx.run(label, record)`, with every compute pass of the batch
   * timed; resolves once the GPU has finished the work.
   */
  async run<T>(label: string, record: (batch: GpuBatch) => T): Promise<{ result: T; timing: GpuTiming }> {
    if (this.disposed) throw new GpuUnavailableError('this GpuTimer has been disposed');
    const labels: string[] = [];
    const resolveBytes = 2 * this.maxPasses * 8;
    const resolved = this.ctx.pool.acquire(resolveBytes, QUERY_RESOLVE | COPY_SRC, `${label}/timestamps`);
    try {
      const result = await this.ctx.run(label, (batch) => {
        batch.passTimestamps = (passLabel) => {
          const i = labels.length;
          if (i >= this.maxPasses) {
            throw new GpuLimitError(`${label}: more than ${this.maxPasses} compute passes in one timed batch; create the GpuTimer with a larger maxPasses`);
          }
          labels.push(passLabel);
          return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
        };
        try {
          const r = record(batch);
          if (labels.length > 0) batch.encoder.resolveQuerySet(this.querySet, 0, 2 * labels.length, resolved, 0);
          return r;
        } finally {
          batch.passTimestamps = undefined;
        }
      });
      if (labels.length === 0) return { result, timing: { spanNs: 0, sumNs: 0, passes: [] } };
      const stamps = new BigUint64Array(await this.ctx.read(resolved, 2 * labels.length * 8, `${label}/timestamps`));
      return { result, timing: timingFrom(labels, stamps) };
    } finally {
      this.ctx.pool.release(resolved);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.querySet.destroy();
  }
}

/** Durations from (begin, end) pairs. A pair whose end precedes its begin (a clock reset) counts as 0. */
export function timingFrom(labels: readonly string[], stamps: BigUint64Array): GpuTiming {
  const passes = labels.map((label, i) => {
    const d = stamps[2 * i + 1] - stamps[2 * i];
    return { label, ns: d > 0n ? Number(d) : 0 };
  });
  let first = stamps[0];
  let last = stamps[1];
  for (let i = 0; i < labels.length; i++) {
    if (stamps[2 * i] < first) first = stamps[2 * i];
    if (stamps[2 * i + 1] > last) last = stamps[2 * i + 1];
  }
  return { spanNs: last > first ? Number(last - first) : 0, sumNs: passes.reduce((s, p) => s + p.ns, 0), passes };
}
