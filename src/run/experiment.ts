/**
 * The study's protocol, top to bottom:
 *
 *   config -> layer (seeded weights, or given) -> calibration set (its own
 *   random stream) -> ranges -> quantization plan -> for each trial k: input k
 *   (the test stream) -> fp32 output X and quantized output X' -> metrics ->
 *   summary over trials.
 *
 * Deterministic for a given config: trial k's input depends only on (seed, k),
 * so a resumed run regenerates exactly the trials it still needs. Finished
 * trials go to a TrialStore as they complete (src/run/journal.ts writes them
 * to a JSON Lines file), and trials already in the store are not redone.
 */
import { InputError, PeirError } from '../errors.js';
import type { Range } from '../quant/layer.js';
import type { Metrics } from '../metrics/metrics.js';
import { summarize, type Stats } from '../report/summary.js';
import type { Tensor } from '../tensor.js';
import { describeConfig, type RunConfig } from './config.js';
import type { Engine, EngineReport, Layer } from './engine.js';
import { buildLayer, calibrationInput, testInput } from './inputs.js';
import { calibrateLayer, forwardFp32, forwardQuantized, metricsOptionsFor, OUTPUT_CHANNEL_AXIS, prepareLayer } from './layer-runner.js';
import { trialZero, type TrialZero } from './trial-zero.js';

export type { ParamsDocument, TrialZero } from './trial-zero.js';

/** One finished trial: its index and its metrics (flattened for the summary). */
export interface TrialResult extends Metrics {
  trial: number;
}

/** Where finished trials go; the journal implements it on disk. */
export interface TrialStore {
  /** Trials already finished (from an earlier, interrupted run). */
  completed(): ReadonlyMap<number, TrialResult>;
  append(r: TrialResult): void;
}

export class MemoryStore implements TrialStore {
  private readonly done = new Map<number, TrialResult>();
  completed(): ReadonlyMap<number, TrialResult> {
    return this.done;
  }
  append(r: TrialResult): void {
    this.done.set(r.trial, r);
  }
}

export interface RunHooks {
  /** Called after each trial with (trials done, total). */
  onProgress?: (done: number, total: number) => void;
  store?: TrialStore;
  /** The layer to measure; default: seeded random weights from the config. */
  layer?: Layer;
  /** Abort between trials (finished trials stay in the store). */
  signal?: AbortSignal;
  /** Receives trial 0's tensors, for --dump. */
  onTrialZero?: (d: TrialZero) => void | Promise<void>;
  /**
   * Receives every computed (not resumed) trial's output tensors before they
   * are dropped, with the representable output range used for clip
   * attribution: the browser page draws the worst trial's error map from it.
   */
  onTrial?: (t: TrialTensors) => void | Promise<void>;
  /**
   * Given inputs instead of the seeded streams (real activations, `peir model
   * --inputs`): calibration input k is `calibration[k]`, trial k's input is
   * `test[k]`; at least `cfg.calib` and `cfg.trials` of them, each of the
   * layer's input shape.
   */
  inputs?: { calibration: readonly Tensor[]; test: readonly Tensor[] };
}

/** One computed trial's fp32 output X, quantized output X' (dequantized) and metrics. */
export interface TrialTensors {
  trial: number;
  reference: Tensor;
  approx: Tensor;
  result: TrialResult;
  /** Per output channel: the calibrated representable range [lo, hi] (X outside it was clipped). */
  outputRange: Range;
}

export interface RunReport {
  tool: 'peir';
  config: RunConfig;
  description: string;
  adapter: EngineReport;
  calibration: { input: Range; output: Range };
  trials: TrialResult[];
  summary: Record<string, Stats>;
  /** Wall-clock seconds of calibration and of the trials (this process only). */
  timing: { calibrationSeconds: number; trialSeconds: number; resumedTrials: number };
}

/** Run the protocol. The engine is the caller's: it is not disposed here. */
export async function runExperiment(cfg: RunConfig, engine: Engine, hooks: RunHooks = {}): Promise<RunReport> {
  const layer = hooks.layer ?? buildLayer(cfg);
  const store = hooks.store ?? new MemoryStore();
  const given = hooks.inputs;
  if (given && (given.calibration.length < cfg.calib || given.test.length < cfg.trials)) {
    throw new InputError(
      `given inputs: ${given.calibration.length} calibration and ${given.test.length} test tensors; the run needs ${cfg.calib} and ${cfg.trials}`,
    );
  }
  const calibrationX = (k: number): Tensor => (given ? given.calibration[k] : calibrationInput(cfg, k));
  const testX = (k: number): Tensor => (given ? given.test[k] : testInput(cfg, k));

  const t0 = performance.now();
  const calibration = await calibrateLayer(engine, layer, cfg, calibrationX);
  const prepared = await prepareLayer(engine, layer, calibration, cfg);
  const calibrationSeconds = (performance.now() - t0) / 1000;

  const trials: TrialResult[] = [];
  const done = store.completed();
  const t1 = performance.now();
  let resumed = 0;
  for (let k = 0; k < cfg.trials; k++) {
    const prior = done.get(k);
    // A resumed trial is reused, except trial 0 when its tensors are wanted (recomputed, not re-stored).
    if (prior && !(k === 0 && hooks.onTrialZero)) {
      trials.push(prior);
      resumed++;
      hooks.onProgress?.(k + 1, cfg.trials);
      continue;
    }
    if (hooks.signal?.aborted) throw new PeirError(`run cancelled after ${trials.length} of ${cfg.trials} trials (finished trials are kept)`);
    const x = testX(k);
    const reference = await forwardFp32(engine, layer, x);
    const { approx, integer } = await forwardQuantized(engine, prepared, x, k === 0 && !!hooks.onTrialZero);
    const mOpts = metricsOptionsFor(prepared, reference.shape[OUTPUT_CHANNEL_AXIS]);
    const result: TrialResult = prior ?? { trial: k, ...(await engine.metrics(reference, approx, mOpts)) };
    if (prior) resumed++;
    else store.append(result);
    trials.push(result);
    await hooks.onTrial?.({ trial: k, reference, approx, result, outputRange: mOpts.outputRange });
    if (k === 0 && hooks.onTrialZero) await hooks.onTrialZero(trialZero(cfg, prepared, x, reference, approx, integer));
    hooks.onProgress?.(k + 1, cfg.trials);
  }
  return {
    tool: 'peir',
    config: cfg,
    description: describeConfig(cfg),
    adapter: engine.report,
    calibration,
    trials,
    summary: summarize(trials as unknown as Record<string, unknown>[]),
    timing: { calibrationSeconds, trialSeconds: (performance.now() - t1) / 1000, resumedTrials: resumed },
  };
}
