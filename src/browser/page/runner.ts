/**
 * One experiment in this JavaScript realm (the page's dedicated worker, or
 * the page itself where its worker has no WebGPU): the same `resolveConfig`,
 * `runExperiment` and `GpuEngine` / `CpuEngine` as `peir run` in Node, with
 * the trials kept in a MemoryStore. Besides the report it keeps the worst
 * trial's error map |X - X'| (taken through runExperiment's `onTrial` hook
 * before the tensors are dropped) for the page's heatmap.
 */
import { createGpu, type AdapterReport } from '../../gpu/context.js';
import { resolveConfig, type RunOptions } from '../../run/config.js';
import { CpuEngine, GpuEngine, type Engine } from '../../run/engine.js';
import { MemoryStore, runExperiment, type RunReport, type TrialTensors } from '../../run/experiment.js';
import { InputError } from '../../errors.js';
import { layerFromJson, type LayerJson } from '../page-protocol.js';

/**
 * |X - X'| of the worst trial (highest PEIR; the first such trial, as in the
 * text report). Convolutions: the output channel holding the worst element,
 * rows x cols = output height x width. LSTM: the whole output, rows = time
 * steps, cols = hidden units, the worst unit's column marked.
 */
export interface ErrorMap {
  trial: number;
  /** The channel (conv) or hidden unit (LSTM) holding the trial's worst element. */
  channel: number;
  layout: 'channel' | 'sequence';
  rows: number;
  cols: number;
  /** rows * cols values of |f32(X - X')|, row-major. */
  absError: Float32Array;
  /** 1 where X lay outside its channel's representable range (a clipping error), else 0 (rounding). */
  clipped: Uint8Array;
  /** The worst element's row and column in the map. */
  worstRow: number;
  worstCol: number;
}

export interface RunOutcome {
  report: RunReport;
  errorMap: ErrorMap;
}

export interface RunHereOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Yield to the event loop before every engine step (main-thread runs, so that the page stays responsive). */
  yieldBetweenSteps?: boolean;
}

/** This realm's WebGPU adapter (a device is created and destroyed to read its limits), or why there is none. */
export async function probeGpu(): Promise<{ adapter: AdapterReport | null; problem: string | null }> {
  try {
    const gpu = await createGpu();
    const adapter = gpu.adapter;
    gpu.dispose();
    return { adapter, problem: null };
  } catch (e) {
    return { adapter: null, problem: (e as Error).message };
  }
}

/** A macrotask boundary: lets the browser handle input and paint. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * `engine` with a yield to the event loop before each of its (asynchronous)
 * operations. A proxy rather than a list of methods, so that an operation
 * added to the Engine interface is covered without change here.
 */
function yielding(engine: Engine): Engine {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'dispose') return v;
      return async (...args: unknown[]) => {
        await yieldToEventLoop();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function errorMapOf(t: TrialTensors, module: string): ErrorMap {
  const { reference: x, approx: xq, result, outputRange } = t;
  const channel = result.worst.channel;
  if (module === 'lstm') {
    const [rows, cols] = x.shape;
    const absError = new Float32Array(rows * cols);
    const clipped = new Uint8Array(rows * cols);
    for (let i = 0; i < absError.length; i++) {
      const c = i % cols;
      absError[i] = Math.abs(Math.fround(x.data[i] - xq.data[i]));
      clipped[i] = x.data[i] < outputRange.lo[c] || x.data[i] > outputRange.hi[c] ? 1 : 0;
    }
    const [worstRow, worstCol] = result.worst.position;
    return { trial: t.trial, channel, layout: 'sequence', rows, cols, absError, clipped, worstRow, worstCol };
  }
  // NCHW: the worst element's image n and channel c.
  const [, channels, rows, cols] = x.shape;
  const n = result.worst.position[0];
  const offset = (n * channels + channel) * rows * cols;
  const absError = new Float32Array(rows * cols);
  const clipped = new Uint8Array(rows * cols);
  const lo = outputRange.lo[channel];
  const hi = outputRange.hi[channel];
  for (let i = 0; i < absError.length; i++) {
    const v = x.data[offset + i];
    absError[i] = Math.abs(Math.fround(v - xq.data[offset + i]));
    clipped[i] = v < lo || v > hi ? 1 : 0;
  }
  const [, , worstRow, worstCol] = result.worst.position;
  return { trial: t.trial, channel, layout: 'channel', rows, cols, absError, clipped, worstRow, worstCol };
}

/** Run one experiment here. The engine is created for the run and destroyed after it. */
export async function runHere(options: RunOptions, layer: LayerJson | undefined, opts: RunHereOptions = {}): Promise<RunOutcome> {
  const cfg = resolveConfig(options);
  if (cfg.weightsDir && !layer) {
    throw new InputError(`--weights ${cfg.weightsDir}: a page cannot read files; the weights must come with the request (peir browser run loads them)`);
  }
  const base: Engine = cfg.backend === 'cpu' ? new CpuEngine() : await GpuEngine.create();
  const engine = opts.yieldBetweenSteps ? yielding(base) : base;
  let worst: { peir: number; map: ErrorMap } | undefined;
  try {
    const report = await runExperiment(cfg, engine, {
      store: new MemoryStore(),
      layer: layer && layerFromJson(layer),
      signal: opts.signal,
      onProgress: opts.onProgress,
      onTrial: (t) => {
        if (!worst || t.result.peir > worst.peir) worst = { peir: t.result.peir, map: errorMapOf(t, cfg.module) };
      },
    });
    return { report, errorMap: worst!.map };
  } finally {
    engine.dispose();
  }
}
