/**
 * The benchmark suite's core: the cases, the peers side by side, the targets.
 * Host-agnostic (it imports only browser-safe modules), so the same suite runs
 * in Node (bench/main.ts, Dawn) and in a browser page
 * (src/browser/page/bench.ts); the host passes in its peers and its CPU clock.
 *
 * Every case times its implementations interleaved (bench/measure.ts) on the
 * same adapter: peir's kernels from already-uploaded buffers, GPU time from
 * timestamp queries where the adapter has them (src/gpu/timing.ts), wall time
 * including the readback of the output otherwise; peers the same way
 * (tfjs: tf.time's kernelMs, or wall time with data()).
 */
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { conv2dIntCpu } from '../src/cpu/conv2d-int.js';
import { depthwiseConv2dCpu } from '../src/cpu/depthwise-conv2d.js';
import { lstmCpu } from '../src/cpu/lstm.js';
import { generateInput, randomConvWeights, randomLstmWeights, weightStream } from '../src/data/generate.js';
import { describeAdapter, type AdapterReport, type GpuBatch, type GpuContext } from '../src/gpu/context.js';
import { encodeConv2d } from '../src/gpu/kernels/conv2d.js';
import { encodeConv2dInt, packInts, uploadIntConv } from '../src/gpu/kernels/conv2d-int.js';
import { encodeDepthwiseConv2d } from '../src/gpu/kernels/depthwise-conv2d.js';
import { encodeLstm, type LstmBuffers } from '../src/gpu/kernels/lstm.js';
import { encodeLstmInt, uploadLstmInt } from '../src/gpu/kernels/lstm-int.js';
import { encodeMetrics, readMetrics } from '../src/gpu/kernels/metrics.js';
import { encodeMinMax, encodeQuantize, packedBytes, uploadQuantConstants } from '../src/gpu/kernels/quantize.js';
import { GpuTimer } from '../src/gpu/timing.js';
import { conv2dGeometry, depthwiseGeometry, type ConvGeometry } from '../src/layers/conv-geometry.js';
import { lstmShape, type LstmInputs } from '../src/layers/lstm-shape.js';
import { intConvSpec, planConvQuant, tensorRange } from '../src/quant/layer.js';
import { intLstmSpec, planLstmQuant, quantizeLstmInput } from '../src/quant/lstm-layer.js';
import { quantParamsFromRanges, quantizeTensor } from '../src/quant/scheme.js';
import { resolveConfig } from '../src/run/config.js';
import { GpuEngine } from '../src/run/engine.js';
import { runExperiment } from '../src/run/experiment.js';
import { f32, type Tensor } from '../src/tensor.js';
import { measureInterleaved, type MeasureOptions, type Runner, type Stats } from './measure.js';
import { TimedEngine, type EngineMethod } from './timed-engine.js';

/** Which clock a row's headline time comes from. */
export type Clock = 'gpu-timestamp' | 'wall';

export interface ImplResult {
  /** e.g. 'peir fp32', 'peir q8', 'tfjs-webgpu', 'cpu-reference'. */
  impl: string;
  clock: Clock;
  stats: Stats;
  /** The headline minimum / median (of `clock`), scaled to the case's size where `scale` says so. */
  minMs: number;
  medianMs: number;
  /** Operations per second (2 per multiply-add) at the minimum, in G/s; undefined for cases without a count. */
  gops?: number;
  /** Bytes read + written once, per second at the minimum, in GB/s. */
  gbps?: number;
  /** Measured at a smaller size and multiplied up by this factor (the work's ratio). */
  scale?: { factor: number; measuredAt: string };
  note?: string;
}

export interface CaseResult {
  id: string;
  title: string;
  /** Multiply-adds x 2; 0 for data-movement passes. */
  ops: number;
  bytes: number;
  results: ImplResult[];
  /** Free-form facts (correctness checks against peers, breakdowns). */
  notes: string[];
}

export interface TargetResult {
  name: string;
  met: boolean | null;
  measured: string;
  detail: string;
}

export interface SuiteReport {
  tool: 'peir-bench';
  date: string;
  adapter: AdapterReport;
  adapterLine: string;
  host: string;
  clocks: string;
  options: { size: number; budgetMs: number; quick: boolean; cases: string[] };
  cases: CaseResult[];
  targets: TargetResult[];
  /** Host facts (machine load, CPU count), filled in by the host. */
  machine?: Record<string, string | number>;
}

/** One operation a peer can run: set up once, then `rep` runs it and reports its times. */
export interface PeerOp {
  rep(): Promise<{ wallMs: number; gpuMs?: number }>;
  /** The peer's output in peir's layout (NCHW / [T, H]), for a correctness check. */
  output(): Promise<Float32Array>;
  dispose(): void;
}

/** Another engine on the same host (and, for GPU peers, the same adapter). */
export interface Peer {
  name: string;
  /** 'gpu-timestamp' when the peer reports GPU time. */
  clock: Clock;
  conv2d?(x: Tensor, w: Tensor, b: Tensor, stride: number, padding: 'same' | 'valid'): Promise<PeerOp>;
  depthwise?(x: Tensor, w: Tensor, b: Tensor): Promise<PeerOp>;
  lstm?(args: Required<Pick<LstmInputs, 'input' | 'weightIh' | 'weightHh' | 'biasIh' | 'biasHh'>>): Promise<PeerOp>;
  dispose(): void;
}

export interface SuiteOptions {
  size: number;
  /** Case ids to run (default: all). */
  cases?: string[];
  budgetMs: number;
  quick: boolean;
  peers: Peer[];
  /** Process CPU milliseconds, where the host can tell. */
  cpuClock?: () => number;
  log?: (line: string) => void;
  /** Trials of the study case (default 100, quick 5). */
  studyTrials?: number;
}

export const CASE_IDS = ['conv2d', 'conv2d-1x1', 'conv2d-s2', 'depthwise', 'lstm', 'quantize', 'minmax', 'metrics', 'trial'] as const;

/** The targets the suite checks (the README of bench/ explains each). */
export const TARGETS = {
  conv2dVsTfjs: 12,
  depthwiseVsTfjs: 3,
  lstmVsPerStep: 2,
  q8VsFp32: 1,
  q16VsFp32: 2,
  overheadFraction: 0.2,
  studySeconds: 60,
};

const CONV_IN = 16;
const CONV_OUT = 32;
const DW_CHANNELS = 32;
const LSTM_HIDDEN = 128;
/** The CPU reference runs at most this size (then its time is scaled by the work ratio). */
const CPU_MAX_SIZE = 256;

function seeded(seed: number, shape: number[]): Tensor {
  return generateInput(seed, 'test', 0, shape, 'normal');
}

class Context {
  readonly timer: GpuTimer | undefined;
  constructor(readonly ctx: GpuContext, readonly o: SuiteOptions) {
    this.timer = GpuTimer.supported(ctx) ? new GpuTimer(ctx, 2048) : undefined;
  }

  get clock(): Clock {
    return this.timer ? 'gpu-timestamp' : 'wall';
  }

  /** A runner for peir work recorded by `record`; wall time includes reading `readBack` (bytes) back. */
  runner(name: string, record: (b: GpuBatch) => void, readBack?: { buffer: GPUBuffer; bytes: number }): Runner {
    const ctx = this.ctx;
    return {
      name,
      rep: async () => {
        const t0 = performance.now();
        let gpuMs: number | undefined;
        if (this.timer) {
          const { timing } = await this.timer.run(name, record);
          gpuMs = timing.spanNs / 1e6;
        } else {
          await ctx.run(name, record);
        }
        if (readBack) await ctx.read(readBack.buffer, Math.min(readBack.bytes, readBack.buffer.size));
        else await ctx.device.queue.onSubmittedWorkDone();
        return { wallMs: performance.now() - t0, gpuMs };
      },
    };
  }

  measureOpts(): MeasureOptions {
    return { budgetMs: this.o.budgetMs, cpuClock: this.o.cpuClock, minReps: 1 };
  }

  log(line: string): void {
    this.o.log?.(line);
  }

  dispose(): void {
    this.timer?.dispose();
  }
}

function result(impl: string, clock: Clock, stats: Stats, ops: number, bytes: number, extra: Partial<ImplResult> = {}): ImplResult {
  const chosen = clock === 'gpu-timestamp' && stats.gpuMs ? stats.gpuMs : stats.wallMs;
  const factor = extra.scale?.factor ?? 1;
  const minMs = chosen.min * factor;
  const medianMs = chosen.median * factor;
  return {
    impl,
    clock: clock === 'gpu-timestamp' && stats.gpuMs ? 'gpu-timestamp' : 'wall',
    stats,
    minMs,
    medianMs,
    gops: ops > 0 ? ops / minMs / 1e6 : undefined,
    gbps: bytes > 0 ? bytes / minMs / 1e6 : undefined,
    ...extra,
  };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale > 0 ? m / scale : m;
}

/** Time a CPU function: one warm-up then reps within the budget (wall clock). */
async function cpuRunner(name: string, f: () => unknown): Promise<Runner> {
  return {
    name,
    rep: async () => {
      const t0 = performance.now();
      f();
      return { wallMs: performance.now() - t0 };
    },
  };
}

// ---------------------------------------------------------------------------
// conv2d and depthwise

async function convCase(c: Context, id: string, k: number, stride: number, depthwise: boolean): Promise<CaseResult> {
  const S = c.o.size;
  const ctx = c.ctx;
  const cin = depthwise ? DW_CHANNELS : CONV_IN;
  const cout = depthwise ? DW_CHANNELS : CONV_OUT;
  const wShape = depthwise ? [cin, 1, k, k] : [cout, cin, k, k];
  const { weight: w, bias: b } = randomConvWeights(weightStream(7), wShape);
  const x = seeded(7, [1, cin, S, S]);
  const opts = { stride, padding: 'same' as const };
  const g: ConvGeometry = depthwise ? depthwiseGeometry(x, w, b, opts) : conv2dGeometry(x, w, b, opts);
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  const macs = outLen * (depthwise ? 1 : cin) * k * k;
  const ops = 2 * macs;
  const bytes = (x.data.length + w.data.length + b.data.length + outLen) * 4;
  const title = `${depthwise ? 'depthwise' : 'conv2d'} ${cin}->${cout} ${k}x${k} stride ${stride} same, ${S}x${S}`;
  c.log(`case ${id}: ${title}`);
  const notes: string[] = [];

  const bufs = {
    input: ctx.upload(x.data, `bench/${id}/x`),
    weight: ctx.upload(w.data, `bench/${id}/w`),
    bias: ctx.upload(b.data, `bench/${id}/b`),
    output: ctx.alloc(outLen * 4, `bench/${id}/y`),
  };
  const encodeFp32 = (batch: GpuBatch) =>
    depthwise ? encodeDepthwiseConv2d(ctx, batch, g, true, bufs) : encodeConv2d(ctx, batch, g, true, bufs);
  // The fp32 output, for calibration of the integer plans and for checking peers.
  await ctx.run(`bench/${id}/reference`, encodeFp32);
  const y = f32([1, g.outChannels, g.outHeight, g.outWidth], await ctx.readF32(bufs.output, outLen));

  const runners: Runner[] = [c.runner('peir fp32', encodeFp32, { buffer: bufs.output, bytes: outLen * 4 })];
  const toRelease: GPUBuffer[] = [...Object.values(bufs)];
  const intBytes: Record<string, number> = {};
  for (const scheme of ['q8', 'q16'] as const) {
    const plan = planConvQuant(w, b, tensorRange(x, null), tensorRange(y, 1), { scheme });
    const spec = intConvSpec(plan, g, depthwise, Int32Array.from(quantizeTensor(x, plan.input).data));
    const input = ctx.upload(packInts(spec.input, spec.bits), `bench/${id}/${scheme}/x`);
    const ib = uploadIntConv(ctx, spec, input);
    toRelease.push(...Object.values(ib));
    const perElt = spec.bits / 8;
    intBytes[scheme] = (x.data.length + w.data.length) * perElt + b.data.length * (spec.bits === 8 ? 4 : 8) + outLen * 4;
    runners.push(c.runner(`peir ${scheme}`, (batch) => encodeConv2dInt(ctx, batch, spec, ib, false), { buffer: ib.qOut, bytes: outLen * 4 }));
    if (S <= 64) {
      // Small sizes (tests, --quick): check the integer kernel against the reference while we are here.
      await ctx.run(`bench/${id}/${scheme}/check`, (batch) => encodeConv2dInt(ctx, batch, spec, ib, false));
      const got = new Int32Array(await ctx.read(ib.qOut, outLen * 4));
      const want = conv2dIntCpu(spec).q;
      let bad = 0;
      for (let i = 0; i < outLen; i++) if (got[i] !== want[i]) bad++;
      notes.push(`${scheme}: ${bad} of ${outLen} outputs differ from the CPU reference`);
    }
  }

  const peerOps: { peer: Peer; op: PeerOp }[] = [];
  for (const peer of c.o.peers) {
    const op = depthwise ? await peer.depthwise?.(x, w, b) : await peer.conv2d?.(x, w, b, stride, 'same');
    if (!op) continue;
    peerOps.push({ peer, op });
    const diff = maxRelDiff(await op.output(), y.data);
    notes.push(`${peer.name} output vs peir fp32: max |diff| / max |y| = ${diff.toExponential(2)}`);
    runners.push({ name: peer.name, rep: () => op.rep() });
  }

  const stats = await measureInterleaved(runners, c.measureOpts());
  const results: ImplResult[] = [];
  for (const r of runners) {
    const s = stats.get(r.name)!;
    const peer = peerOps.find((p) => p.peer.name === r.name);
    const clock = peer ? peer.peer.clock : c.clock;
    const scheme = r.name.endsWith('q8') ? 'q8' : r.name.endsWith('q16') ? 'q16' : undefined;
    results.push(result(r.name, clock, s, ops, scheme ? intBytes[scheme] : bytes));
  }
  for (const p of peerOps) p.op.dispose();
  ctx.release(...toRelease);

  // The CPU reference, at a reduced size when the full one would take long.
  const cs = Math.min(S, CPU_MAX_SIZE);
  const xs = cs === S ? x : seeded(8, [1, cin, cs, cs]);
  const cpu = await cpuRunner('cpu-reference', () => (depthwise ? depthwiseConv2dCpu(xs, w, b, opts) : conv2dCpu(xs, w, b, opts)));
  const cpuStats = (await measureInterleaved([cpu], { ...c.measureOpts(), maxReps: 3 })).get('cpu-reference')!;
  const factor = (S / cs) ** 2;
  results.push(result('cpu-reference', 'wall', cpuStats, ops, bytes, factor === 1 ? {} : { scale: { factor, measuredAt: `${cs}x${cs}` } }));
  return { id, title, ops, bytes, results, notes };
}

// ---------------------------------------------------------------------------
// LSTM

async function lstmCase(c: Context): Promise<CaseResult> {
  const ctx = c.ctx;
  const T = c.o.size;
  const I = c.o.size;
  const H = LSTM_HIDDEN;
  const wts = randomLstmWeights(weightStream(9), I, H);
  const args = { input: seeded(9, [T, I]), weightIh: wts.weightIh, weightHh: wts.weightHh, biasIh: wts.biasIh, biasHh: wts.biasHh };
  const s = lstmShape(args);
  const macs = T * (4 * H * I + 4 * H * H);
  const ops = 2 * macs;
  const bytes = (T * I + 4 * H * I + 4 * H * H + 8 * H + T * H) * 4;
  const title = `lstm T=${T} I=${I} H=${H}`;
  c.log(`case lstm: ${title}`);
  const notes: string[] = [];
  const bufs: LstmBuffers = {
    input: ctx.upload(args.input.data, 'bench/lstm/x'),
    weightIh: ctx.upload(args.weightIh.data, 'bench/lstm/w-ih'),
    weightHh: ctx.upload(args.weightHh.data, 'bench/lstm/w-hh'),
    biasIh: ctx.upload(args.biasIh.data, 'bench/lstm/b-ih'),
    biasHh: ctx.upload(args.biasHh.data, 'bench/lstm/b-hh'),
    h0: ctx.upload(new Float32Array(H), 'bench/lstm/h0'),
    cState: ctx.upload(new Float32Array(H), 'bench/lstm/c'),
    output: ctx.alloc(T * H * 4, 'bench/lstm/y'),
  };
  const zeros = new Float32Array(H);
  // Each repetition starts from c = 0 (the kernel leaves c_T in cState); queued before the batch is submitted.
  const resetC = () => ctx.device.queue.writeBuffer(bufs.cState, 0, zeros);
  await ctx.run('bench/lstm/reference', (b) => {
    resetC();
    encodeLstm(ctx, b, s, bufs);
  });
  const y = f32([T, H], await ctx.readF32(bufs.output, T * H));
  const runners: Runner[] = [
    c.runner('peir fp32', (b) => {
      resetC();
      encodeLstm(ctx, b, s, bufs);
    }, { buffer: bufs.output, bytes: T * H * 4 }),
    // The baseline the one-dispatch recurrence replaced: the same recurrence kernel, one dispatch per step.
    c.runner('per-step dispatch baseline', (b) => {
      resetC();
      encodeLstm(ctx, b, s, bufs, { maxStepsPerDispatch: 1 });
    }, { buffer: bufs.output, bytes: T * H * 4 }),
  ];
  const toRelease: GPUBuffer[] = [...Object.values(bufs)];
  for (const scheme of ['q8', 'q16'] as const) {
    const plan = planLstmQuant(args, { input: tensorRange(args.input, null), hidden: tensorRange(y, null) }, { scheme });
    const spec = intLstmSpec(plan, quantizeLstmInput(plan, args.input));
    const ib = uploadLstmInt(ctx, spec);
    toRelease.push(...Object.values(ib));
    runners.push(c.runner(`peir ${scheme}`, (b) => {
      ctx.device.queue.writeBuffer(ib.cState, 0, spec.c0.buffer as ArrayBuffer, spec.c0.byteOffset, spec.c0.byteLength);
      encodeLstmInt(ctx, b, spec, ib);
    }, { buffer: ib.hOut, bytes: T * H * 4 }));
  }
  const peerOps: { peer: Peer; op: PeerOp }[] = [];
  for (const peer of c.o.peers) {
    const op = await peer.lstm?.(args);
    if (!op) continue;
    peerOps.push({ peer, op });
    notes.push(`${peer.name} output vs peir fp32: max |diff| / max |h| = ${maxRelDiff(await op.output(), y.data).toExponential(2)}`);
    runners.push({ name: peer.name, rep: () => op.rep() });
  }
  const stats = await measureInterleaved(runners, c.measureOpts());
  const results = runners.map((r) => {
    const peer = peerOps.find((p) => p.peer.name === r.name);
    return result(r.name, peer ? peer.peer.clock : c.clock, stats.get(r.name)!, ops, bytes);
  });
  for (const p of peerOps) p.op.dispose();
  ctx.release(...toRelease);

  const ts = Math.min(T, CPU_MAX_SIZE);
  const cpuArgs = ts === T ? args : { ...args, input: f32([ts, I], args.input.data.slice(0, ts * I)) };
  const cpu = await cpuRunner('cpu-reference', () => lstmCpu(cpuArgs));
  const cpuStats = (await measureInterleaved([cpu], { ...c.measureOpts(), maxReps: 3 })).get('cpu-reference')!;
  const factor = T / ts;
  results.push(result('cpu-reference', 'wall', cpuStats, ops, bytes, factor === 1 ? {} : { scale: { factor, measuredAt: `T=${ts}` } }));
  return { id: 'lstm', title, ops, bytes, results, notes };
}

// ---------------------------------------------------------------------------
// Data passes: quantize, min/max, metrics

async function quantizeCase(c: Context): Promise<CaseResult> {
  const ctx = c.ctx;
  const S = c.o.size;
  const shape = [1, CONV_IN, S, S];
  const x = seeded(11, shape);
  const count = x.data.length;
  const values = ctx.upload(x.data, 'bench/quantize/x');
  const range = tensorRange(x, null);
  const runners: Runner[] = [];
  const toRelease: GPUBuffer[] = [values];
  const bytes: Record<string, number> = {};
  for (const scheme of ['q8', 'q16'] as const) {
    const p = quantParamsFromRanges(range, null, { scheme });
    const consts = uploadQuantConstants(ctx, p, `bench/quantize/${scheme}`);
    const packed = ctx.alloc(packedBytes(count, p.dtype), `bench/quantize/${scheme}/packed`);
    toRelease.push(packed, ...Object.values(consts));
    bytes[scheme] = count * 4 + packedBytes(count, p.dtype);
    runners.push(c.runner(`peir ${scheme}`, (b) => encodeQuantize(ctx, b, p, shape, values, consts, packed), { buffer: packed, bytes: packedBytes(count, p.dtype) }));
  }
  c.log(`case quantize: ${CONV_IN}x${S}x${S} f32 -> uint8 / int16`);
  const stats = await measureInterleaved(runners, c.measureOpts());
  ctx.release(...toRelease);
  return {
    id: 'quantize',
    title: `quantize ${CONV_IN}x${S}x${S} f32 (per tensor) -> packed uint8 / int16`,
    ops: 0,
    bytes: bytes.q8,
    results: runners.map((r) => result(r.name, c.clock, stats.get(r.name)!, 0, bytes[r.name.slice(5)])),
    notes: [],
  };
}

async function minMaxCase(c: Context): Promise<CaseResult> {
  const ctx = c.ctx;
  const S = c.o.size;
  const shape = [1, CONV_OUT, S, S];
  const x = seeded(12, shape);
  const values = ctx.upload(x.data, 'bench/minmax/x');
  const out = ctx.alloc(CONV_OUT * 8, 'bench/minmax/range');
  c.log(`case minmax: per-channel min/max of ${CONV_OUT}x${S}x${S}`);
  const runners = [c.runner('peir', (b) => encodeMinMax(ctx, b, shape, 1, values, out), { buffer: out, bytes: CONV_OUT * 8 })];
  const stats = await measureInterleaved(runners, c.measureOpts());
  ctx.release(values, out);
  const bytes = x.data.length * 4;
  return {
    id: 'minmax',
    title: `per-channel min/max (calibration) of ${CONV_OUT}x${S}x${S} f32`,
    ops: 0,
    bytes,
    results: [result('peir', c.clock, stats.get('peir')!, 0, bytes)],
    notes: [],
  };
}

async function metricsCase(c: Context): Promise<CaseResult> {
  const ctx = c.ctx;
  const S = c.o.size;
  const shape = [1, CONV_OUT, S, S];
  const ref = seeded(13, shape);
  const approx = f32(shape, ref.data.map((v, i) => v + ((i % 7) - 3) * 1e-3));
  const refBuf = ctx.upload(ref.data, 'bench/metrics/ref');
  const approxBuf = ctx.upload(approx.data, 'bench/metrics/approx');
  const range = tensorRange(ref, 1);
  const opts = { outputRange: range, channelAxis: 1 };
  c.log(`case metrics: PEIR and friends of ${CONV_OUT}x${S}x${S}`);
  const timer = c.timer;
  const runner: Runner = {
    name: 'peir',
    rep: async () => {
      const t0 = performance.now();
      let gpuMs: number | undefined;
      let pending;
      if (timer) {
        const r = await timer.run('bench/metrics', (b) => encodeMetrics(ctx, b, refBuf, approxBuf, shape, opts));
        pending = r.result;
        gpuMs = r.timing.spanNs / 1e6;
      } else {
        pending = await ctx.run('bench/metrics', (b) => encodeMetrics(ctx, b, refBuf, approxBuf, shape, opts));
      }
      await readMetrics(ctx, pending);
      return { wallMs: performance.now() - t0, gpuMs };
    },
  };
  const stats = await measureInterleaved([runner], c.measureOpts());
  ctx.release(refBuf, approxBuf);
  const bytes = ref.data.length * 8;
  return {
    id: 'metrics',
    title: `metrics reduction (PEIR, MSE, SQNR, cosine, p99.9, clip attribution) of ${CONV_OUT}x${S}x${S} pairs`,
    ops: 0,
    bytes,
    results: [result('peir', c.clock, stats.get('peir')!, 0, bytes)],
    notes: ['wall time includes the readback and the host-side finish (readMetrics)'],
  };
}

// ---------------------------------------------------------------------------
// A whole study, as `peir run` does it

async function trialCase(c: Context): Promise<CaseResult> {
  const trials = c.o.studyTrials ?? (c.o.quick ? 5 : 100);
  const cfg = resolveConfig({ module: 'conv2d', scheme: 'q16', size: c.o.size, trials });
  c.log(`case trial: peir run --module conv2d --scheme q16 --size ${c.o.size} --trials ${trials} (${cfg.inChannels}->${cfg.outChannels}, ${cfg.calib} calibration inputs)`);
  const engine = new TimedEngine(new GpuEngine(c.ctx));
  const t0 = performance.now();
  const report = await runExperiment(cfg, engine);
  const totalMs = performance.now() - t0;
  const calibMs = report.timing.calibrationSeconds * 1000;
  const trialMs = (report.timing.trialSeconds * 1000) / trials;
  // Calibration runs the fp32 layer `calib` times (and min/max); the trials run it once each after that.
  const per = (m: EngineMethod, from = 0) => engine.total(m, from) / trials;
  const layerMs = per('conv', cfg.calib) + per('convInt');
  const passesMs = per('quantize') + per('dequantize') + per('metrics');
  const calibShareMs = calibMs / trials;
  const macs = cfg.outChannels * cfg.height * cfg.width * cfg.inChannels * cfg.kernel[0] * cfg.kernel[1];
  const single = (ms: number): Stats => ({ reps: 1, wallMs: { min: ms, median: ms } });
  const row = (impl: string, ms: number, note?: string): ImplResult => ({ impl, clock: 'wall', stats: single(ms), minMs: ms, medianMs: ms, note });
  const results: ImplResult[] = [
    row(`study: ${trials} trials + calibration`, totalMs, `${(totalMs / 1000).toFixed(1)} s`),
    { ...row('one trial (mean)', trialMs), gops: (4 * macs) / trialMs / 1e6 },
    row('  fp32 layer (engine.conv)', per('conv', cfg.calib)),
    row('  integer layer (engine.convInt)', per('convInt')),
    row('  quantize input', per('quantize')),
    row('  dequantize output', per('dequantize')),
    row('  metrics', per('metrics')),
    row('  host (data generation, spec building)', Math.max(0, trialMs - layerMs - passesMs)),
    row('calibration, per trial', calibShareMs, `${cfg.calib} inputs, ${calibMs.toFixed(0)} ms in all`),
  ];
  const overhead = (passesMs + calibShareMs) / (trialMs - passesMs);
  return {
    id: 'trial',
    title: `peir run --module conv2d --scheme q16 --size ${c.o.size} (${cfg.inChannels}->${cfg.outChannels} 3x3), ${trials} trials`,
    ops: 0,
    bytes: 0,
    results,
    notes: [
      `quantize + dequantize + metrics + calibration share = ${(passesMs + calibShareMs).toFixed(1)} ms per trial, ` +
        `${(overhead * 100).toFixed(1)} % on top of the rest of the trial (${(trialMs - passesMs).toFixed(1)} ms)`,
    ],
  };
}

// ---------------------------------------------------------------------------

function find(cases: CaseResult[], id: string, impl: string): ImplResult | undefined {
  return cases.find((k) => k.id === id)?.results.find((r) => r.impl === impl);
}

/** Time ratio a / b on a clock both have (GPU time when both were timed on the GPU, else wall). */
export function timeRatio(a: ImplResult, b: ImplResult): { ratio: number; clock: Clock } {
  if (a.clock === 'gpu-timestamp' && b.clock === 'gpu-timestamp') return { ratio: a.minMs / b.minMs, clock: 'gpu-timestamp' };
  return { ratio: (a.stats.wallMs.min * (a.scale?.factor ?? 1)) / (b.stats.wallMs.min * (b.scale?.factor ?? 1)), clock: 'wall' };
}

export function evaluateTargets(cases: CaseResult[], peerName = 'tfjs-webgpu'): TargetResult[] {
  const out: TargetResult[] = [];
  const speedup = (name: string, id: string, fast: string, slow: string, want: number) => {
    const a = find(cases, id, fast);
    const b = find(cases, id, slow);
    if (!a || !b) {
      out.push({ name, met: null, measured: 'not measured', detail: `case ${id} lacks '${fast}' or '${slow}'` });
      return;
    }
    const { ratio, clock } = timeRatio(b, a);
    out.push({
      name,
      met: ratio >= want,
      measured: `${ratio.toFixed(2)}x`,
      detail: `${slow} ${b.minMs.toFixed(1)} ms / ${fast} ${a.minMs.toFixed(1)} ms (${clock}, minimum)`,
    });
  };
  speedup(`conv2d fp32 >= ${TARGETS.conv2dVsTfjs}x faster than ${peerName}`, 'conv2d', 'peir fp32', peerName, TARGETS.conv2dVsTfjs);
  speedup(`depthwise fp32 >= ${TARGETS.depthwiseVsTfjs}x faster than ${peerName}`, 'depthwise', 'peir fp32', peerName, TARGETS.depthwiseVsTfjs);
  speedup(`LSTM >= ${TARGETS.lstmVsPerStep}x the one-dispatch-per-step baseline`, 'lstm', 'peir fp32', 'per-step dispatch baseline', TARGETS.lstmVsPerStep);
  speedup('Q8 integer conv2d at least as fast as fp32', 'conv2d', 'peir q8', 'peir fp32', TARGETS.q8VsFp32);
  {
    const q16 = find(cases, 'conv2d', 'peir q16');
    const fp = find(cases, 'conv2d', 'peir fp32');
    if (q16 && fp) {
      const { ratio, clock } = timeRatio(q16, fp);
      out.push({ name: 'Q16 integer conv2d within 2x of fp32', met: ratio <= TARGETS.q16VsFp32, measured: `${ratio.toFixed(2)}x fp32's time`, detail: `q16 ${q16.minMs.toFixed(1)} ms / fp32 ${fp.minMs.toFixed(1)} ms (${clock})` });
    } else out.push({ name: 'Q16 integer conv2d within 2x of fp32', met: null, measured: 'not measured', detail: 'case conv2d not run' });
  }
  const trial = cases.find((k) => k.id === 'trial');
  if (trial) {
    const row = (p: string) => trial.results.find((r) => r.impl.trim().startsWith(p))?.minMs ?? 0;
    const passes = row('quantize input') + row('dequantize output') + row('metrics') + row('calibration, per trial');
    const trialMs = row('one trial');
    const rest = trialMs - (passes - row('calibration, per trial'));
    const frac = passes / rest;
    out.push({
      name: `quantization + calibration + metric passes add <= ${TARGETS.overheadFraction * 100} % to a trial`,
      met: frac <= TARGETS.overheadFraction,
      measured: `${(frac * 100).toFixed(1)} %`,
      detail: `${passes.toFixed(1)} ms of passes per trial on top of ${rest.toFixed(1)} ms (wall, through the engine as peir run does it)`,
    });
    const study = trial.results[0];
    const trials = Number(/(\d+) trials/.exec(study.impl)?.[1] ?? 0);
    const secs = study.minMs / 1000;
    const full = trials === 100 && /--size 512/.test(trial.title);
    out.push({
      name: `100-trial Q16 conv2d study at 512x512 under ${TARGETS.studySeconds} s`,
      met: full ? secs < TARGETS.studySeconds : null,
      measured: `${secs.toFixed(1)} s for ${trials} trials at this size`,
      detail: full ? 'peir run --module conv2d --scheme q16 --trials 100 (defaults 3->16), measured in full' : 'not the full configuration (run without --quick at --size 512)',
    });
  } else {
    out.push({ name: `quantization + calibration + metric passes add <= ${TARGETS.overheadFraction * 100} % to a trial`, met: null, measured: 'not measured', detail: 'case trial not run' });
  }
  return out;
}

/** Run the suite on `ctx` (which the caller created and disposes). */
export async function runSuite(ctx: GpuContext, o: SuiteOptions): Promise<SuiteReport> {
  const wanted = o.cases ?? [...CASE_IDS];
  for (const id of wanted) {
    if (!(CASE_IDS as readonly string[]).includes(id)) throw new Error(`unknown case '${id}'; the cases are ${CASE_IDS.join(', ')}`);
  }
  const c = new Context(ctx, o);
  const cases: CaseResult[] = [];
  try {
    const run: Record<(typeof CASE_IDS)[number], () => Promise<CaseResult>> = {
      conv2d: () => convCase(c, 'conv2d', 3, 1, false),
      'conv2d-1x1': () => convCase(c, 'conv2d-1x1', 1, 1, false),
      'conv2d-s2': () => convCase(c, 'conv2d-s2', 3, 2, false),
      depthwise: () => convCase(c, 'depthwise', 3, 1, true),
      lstm: () => lstmCase(c),
      quantize: () => quantizeCase(c),
      minmax: () => minMaxCase(c),
      metrics: () => metricsCase(c),
      trial: () => trialCase(c),
    };
    for (const id of CASE_IDS) if (wanted.includes(id)) cases.push(await run[id]());
  } finally {
    c.dispose();
  }
  const clocks = c.timer
    ? 'peir: GPU timestamp queries (span of the batch\'s passes); peers: their own GPU timers where they have them (tfjs: tf.time kernelMs); CPU reference: wall clock'
    : 'wall clock, including the readback of each output (this adapter has no timestamp queries)';
  return {
    tool: 'peir-bench',
    date: new Date().toISOString(),
    adapter: ctx.adapter,
    adapterLine: describeAdapter(ctx.adapter),
    host: ctx.adapter.host,
    clocks,
    options: { size: o.size, budgetMs: o.budgetMs, quick: o.quick, cases: wanted },
    cases,
    targets: evaluateTargets(cases, o.peers[0]?.name),
  };
}
