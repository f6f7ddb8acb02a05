/**
 * GPU metrics (shaders/metrics.wgsl): the definitions of src/metrics/metrics.ts
 * computed from tensors that stay on the GPU. One submission records a
 * reduction pass (per channel segment: max-based partials and f32 sums) and
 * a three-round radix select for the 99.9th percentile; only
 * 64 bytes per workgroup plus 16 bytes come back, and `finishMetrics` turns
 * them into the same Metrics object as `computeMetrics`.
 *
 * Agreement with the CPU reference:
 * - exact: peir, perChannelPeir, perChannelMaxAbsError, interval, the
 *   degenerate flags, maxAbsError, worst (index, channel, position, values,
 *   cause), pesr, p999AbsError (radix select on the bits of e: exact) and
 *   clippedFraction (integer counts). Caveat: a GPU that flushes subnormal
 *   floats to zero can differ where X, X' or X - X' is subnormal (|v| <
 *   2^-126), and then only there.
 * - within a bound: meanAbsError, mse, sqnrDb, cosine, clipShare. Each
 *   workgroup sums f32 terms (one rounding to form e^2, X^2, X'^2 or X X',
 *   exact power-of-two scaling) through at most METRICS_SUM_DEPTH =
 *   METRICS_ITEMS_PER_THREAD + log2(METRICS_WG) = 70 additions per term; the
 *   host adds the partials in f64. By Higham's bound for any summation order
 *   each sum S is within gamma_{70 + 3} sum|terms| ~= 4.4e-6 sum|terms| of the
 *   exact value (test/tolerance.ts, metricsSumRelTolerance), i.e. relative
 *   4.4e-6 for sums of non-negative terms; the derived metrics' bounds follow
 *   there.
 *   Terms smaller than 2^-126 after scaling (2^-126 times the largest |X| or
 *   |X'| of their segment) may be flushed to zero by the GPU.
 *
 * @example
 *   const pending = encodeMetrics(ctx, batch, refBuf, approxBuf, [1, 16, 224, 224], { outputRange, outputScale });
 *   // ... ctx.run(...) submits the batch with the layer kernels ...
 *   const m = await readMetrics(ctx, pending);
 */
import source from '../../../shaders/metrics.wgsl';
import { GpuLimitError, InputError } from '../../errors.js';
import {
  checkMetricsInputs,
  finishMetrics,
  resolveMetricsOptions,
  TAIL_PERCENTILE,
  type ChannelAggregate,
  type Metrics,
  type MetricsOptions,
  type ResolvedMetricsOptions,
} from '../../metrics/metrics.js';
import { nearestRankIndex } from '../../metrics/percentile.js';
import { numElements, shapeToString, type Tensor } from '../../tensor.js';
import type { GpuBatch, GpuContext } from '../context.js';

export const METRICS_SHADER = { label: 'metrics', code: source };
/**
 * Workgroup size. 64 rather than 256: on SwiftShader a 256-wide workgroup
 * made the reduction ~6x slower (barriers switch between all invocations),
 * and 64 lanes with many elements each loses nothing on hardware GPUs.
 */
export const METRICS_WG = 64;
/** Elements per thread per segment of the reduce pass. */
export const METRICS_ITEMS_PER_THREAD = 64;
/** The most f32 additions any term of a GPU partial sum goes through. */
export const METRICS_SUM_DEPTH = METRICS_ITEMS_PER_THREAD + Math.log2(METRICS_WG);
const SEG_LEN = METRICS_WG * METRICS_ITEMS_PER_THREAD;
const HIST_BLOCK = METRICS_WG * 256;
const HIST_BINS = 2048;
const PARTIAL_BYTES = 64;
const STATE_BYTES = 16;
/** Bits [30:20], [19:9], [8:0] of e (bit 31, the sign, is 0). */
const RADIX_ROUNDS = [
  { hiShift: 31, loShift: 20 },
  { hiShift: 20, loShift: 9 },
  { hiShift: 9, loShift: 0 },
] as const;
/** Bit pattern of 2^127: |values| at or above are rejected (src/metrics/metrics.ts). */
const LIMIT_BITS = 0x7f000000;
const INF_BITS = 0x7f800000;
const F32_MAX = 3.4028234663852886e38;

/** Work recorded by `encodeMetrics`, to be finished by `readMetrics` after submission. */
export interface PendingMetrics {
  readonly shape: readonly number[];
  readonly options: ResolvedMetricsOptions;
  readonly segments: number;
  readonly workgroups: number;
  /** Partials then the select state; read back by readMetrics. */
  readonly result: GPUBuffer;
  /** Buffers readMetrics releases. */
  readonly owned: GPUBuffer[];
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The float32 neighbour of the f32 value r (or +-Infinity) towards +inf (up) or -inf. */
function nextF32(r: number, up: boolean): number {
  if (r === 0) return up ? 2 ** -149 : -(2 ** -149);
  f32Scratch[0] = r;
  u32Scratch[0] += (r > 0) === up ? 1 : -1;
  return f32Scratch[0];
}

/**
 * Bounds for f32 comparisons equal to exact ones: x < lo <=> x < ceilF32(lo)
 * and x > hi <=> x > floorF32(hi) for every f32 x with |x| < 2^127 (the
 * results are clamped to +-F32_MAX, which no such x reaches).
 */
function ceilF32(v: number): number {
  let r = Math.fround(v);
  if (r < v) r = nextF32(r, true);
  return Math.min(F32_MAX, Math.max(-F32_MAX, r));
}

function floorF32(v: number): number {
  let r = Math.fround(v);
  if (r > v) r = nextF32(r, false);
  return Math.min(F32_MAX, Math.max(-F32_MAX, r));
}

function grid(groups: number, maxPerDim: number, what: string): { workgroups: [number, number]; groupsX: number } {
  const x = Math.max(1, Math.min(groups, maxPerDim));
  const y = Math.ceil(groups / x);
  if (y > maxPerDim) throw new GpuLimitError(`metrics ${what}: ${groups} workgroups exceed ${maxPerDim}^2 on this device`);
  return { workgroups: [x, y], groupsX: x };
}

/**
 * Record the metrics of X (`refBuffer`) and X' (`approxBuffer`), f32 tensors
 * of `shape` already on the GPU, into `batch`. Finish with `readMetrics`
 * once the batch is submitted (it also releases what this allocated). The
 * values are checked on the way back: a NaN, an infinity or |v| >= 2^127
 * makes readMetrics throw an InputError naming the tensor and channel.
 */
export function encodeMetrics(
  ctx: GpuContext, batch: GpuBatch, refBuffer: GPUBuffer, approxBuffer: GPUBuffer, shape: readonly number[], opts: MetricsOptions = {},
): PendingMetrics {
  const o = resolveMetricsOptions(shape, opts);
  const count = numElements(shape);
  const bytes = count * 4;
  for (const [b, what] of [[refBuffer, 'reference output'], [approxBuffer, 'quantized output']] as const) {
    if (b.size < bytes) throw new InputError(`metrics: ${what} buffer holds ${b.size} bytes, shape ${shapeToString(shape)} needs ${bytes}`);
  }
  if (count >= 2 ** 32) throw new GpuLimitError(`metrics: ${count} elements exceed 32-bit indexing`);
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const perChannel = o.outer * o.inner;
  const segments = Math.ceil(perChannel / SEG_LEN);
  const workgroups = o.channels * segments;
  const red = grid(workgroups, maxPerDim, 'reduction');
  const hist = grid(Math.ceil(count / HIST_BLOCK), maxPerDim, 'histogram');

  const lo = new Float32Array(o.channels);
  const hi = new Float32Array(o.channels);
  if (o.range) {
    for (let c = 0; c < o.channels; c++) {
      lo[c] = ceilF32(o.range.lo[c]);
      hi[c] = floorF32(o.range.hi[c]);
    }
  }
  const rangeLo = ctx.upload(lo, 'metrics/range-lo');
  const rangeHi = ctx.upload(hi, 'metrics/range-hi');
  const result = ctx.alloc(workgroups * PARTIAL_BYTES + STATE_BYTES, 'metrics/result');
  const owned = [rangeLo, rangeHi, result];
  try {
    const state = batch.scratch(STATE_BYTES, 'metrics/select-state');
    const histBuf = batch.scratch(HIST_BINS * 4, 'metrics/histogram');
    const values = { refValues: { buffer: refBuffer, size: bytes }, approxValues: { buffer: approxBuffer, size: bytes } };
    const base = {
      count, channels: o.channels, inner: o.inner, perChannel, segLen: SEG_LEN, segments, groupsX: red.groupsX,
      hasRange: o.range ? 1 : 0, blockLen: HIST_BLOCK, firstRound: 1, rank: nearestRankIndex(count, TAIL_PERCENTILE.num, TAIL_PERCENTILE.den),
      hiShift: 0, loShift: 0, binMask: 0, bins: HIST_BINS,
    };
    batch.dispatch(ctx.kernel(METRICS_SHADER, 'reduce', { WG: METRICS_WG }), {
      buffers: { ...values, rangeLo, rangeHi, partials: { buffer: result, offset: 0, size: workgroups * PARTIAL_BYTES } },
      params: base,
      workgroups: red.workgroups,
    });
    RADIX_ROUNDS.forEach((r, round) => {
      const bits = r.hiShift - r.loShift;
      const p = { ...base, groupsX: hist.groupsX, firstRound: round === 0 ? 1 : 0, hiShift: r.hiShift, loShift: r.loShift, binMask: (1 << bits) - 1, bins: 1 << bits };
      batch.encoder.clearBuffer(histBuf);
      batch.dispatch(ctx.kernel(METRICS_SHADER, 'histogram', { WG: METRICS_WG }), {
        buffers: { ...values, hist: histBuf, selectIn: state },
        params: p,
        workgroups: hist.workgroups,
      });
      batch.dispatch(ctx.kernel(METRICS_SHADER, 'selectRank'), { buffers: { histIn: histBuf, selectState: state }, params: p, workgroups: [1] });
    });
    batch.encoder.copyBufferToBuffer(state, 0, result, workgroups * PARTIAL_BYTES, STATE_BYTES);
  } catch (e) {
    ctx.release(...owned);
    throw e;
  }
  return { shape: [...shape], options: o, segments, workgroups, result, owned };
}

function boundsError(bits: number, what: string, channel: number): InputError {
  const why = bits >= INF_BITS ? 'a NaN or infinite value' : 'a value with |v| >= 2^127';
  return new InputError(`${what} holds ${why} in channel ${channel}; metrics need finite values with |v| < 2^127`);
}

/** Read back what `encodeMetrics` recorded (after its batch was submitted) and finish the metrics. */
export async function readMetrics(ctx: GpuContext, pending: PendingMetrics): Promise<Metrics> {
  const { workgroups, segments, options: o } = pending;
  let raw: ArrayBuffer;
  try {
    raw = await ctx.read(pending.result, workgroups * PARTIAL_BYTES + STATE_BYTES, 'metrics/result');
  } finally {
    ctx.release(...pending.owned);
  }
  const f = new Float32Array(raw);
  const u = new Uint32Array(raw);
  const channels: ChannelAggregate[] = [];
  for (let c = 0; c < o.channels; c++) {
    const a: ChannelAggregate = {
      count: 0, minRef: Infinity, maxRef: -Infinity, maxErr: -1, argmax: -1, refAtMax: 0, approxAtMax: 0,
      sumAbsErr: 0, sumSqErr: 0, sumSqRef: 0, sumSqApprox: 0, sumRefApprox: 0, clipCount: 0, clipAbsErr: 0,
    };
    for (let s = 0; s < segments; s++) {
      const at = (c * segments + s) * (PARTIAL_BYTES / 4);
      const refBits = u[at + 6];
      const approxBits = u[at + 7];
      if (refBits >= LIMIT_BITS) throw boundsError(refBits, 'reference output', c);
      if (approxBits >= LIMIT_BITS) throw boundsError(approxBits, 'quantized output', c);
      const maxErr = f[at];
      const argmax = u[at + 1];
      if (maxErr > a.maxErr || (maxErr === a.maxErr && argmax < a.argmax)) {
        a.maxErr = maxErr;
        a.argmax = argmax;
        a.refAtMax = f[at + 2];
        a.approxAtMax = f[at + 3];
      }
      a.minRef = Math.min(a.minRef, f[at + 4]);
      a.maxRef = Math.max(a.maxRef, f[at + 5]);
      // Undo the shader's scaling by 2^(127 - clamp(E, 1, 253)): exact in f64.
      const inv = 2 ** (Math.min(Math.max(Math.max(refBits, approxBits) >>> 23, 1), 253) - 127);
      const inv2 = inv * inv;
      a.sumAbsErr += f[at + 8] * inv;
      a.sumSqErr += f[at + 9] * inv2;
      a.sumSqRef += f[at + 10] * inv2;
      a.sumSqApprox += f[at + 11] * inv2;
      a.sumRefApprox += f[at + 12] * inv2;
      a.clipAbsErr += f[at + 13] * inv;
      a.clipCount += u[at + 14];
      a.count += u[at + 15];
    }
    channels.push(a);
  }
  const p999 = f[workgroups * (PARTIAL_BYTES / 4)];
  return finishMetrics({ shape: pending.shape, channels, p999 }, o);
}

/** Metrics of two f32 tensors already on the GPU: encode, submit, read. */
export async function metricsGpu(
  ctx: GpuContext, refBuffer: GPUBuffer, approxBuffer: GPUBuffer, shape: readonly number[], opts: MetricsOptions = {},
): Promise<Metrics> {
  let pending: PendingMetrics | undefined;
  try {
    await ctx.run('metrics', (b) => {
      pending = encodeMetrics(ctx, b, refBuffer, approxBuffer, shape, opts);
    });
  } catch (e) {
    if (pending) ctx.release(...pending.owned);
    throw e;
  }
  return readMetrics(ctx, pending!);
}

/**
 * The GPU path for tensors on the CPU (uploads them): same contract as `computeMetrics`.
 *
 * @example const m = await computeMetricsGpu(gpu, reference, dequantized, { outputRange, outputScale });
 */
export async function computeMetricsGpu(ctx: GpuContext, ref: Tensor, approx: Tensor, opts: MetricsOptions = {}): Promise<Metrics> {
  checkMetricsInputs(ref, approx);
  resolveMetricsOptions(ref.shape, opts);
  const r = ctx.upload(ref.data, 'metrics/reference');
  const a = ctx.upload(approx.data, 'metrics/approx');
  try {
    return await metricsGpu(ctx, r, a, ref.shape, opts);
  } finally {
    ctx.release(r, a);
  }
}
