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
import { createObserver } from '../calibrate/observers.js';
import { PeirError } from '../errors.js';
import { convGeometry } from '../layers/conv-geometry.js';
import type { LstmInputs } from '../layers/lstm-shape.js';
import { intConvSpec, planConvQuant, type ConvQuantPlan, type QuantConfig, type Range } from '../quant/layer.js';
import { planLstmQuant, intLstmSpec, type IntLstmResult, type LstmQuantPlan } from '../quant/lstm-layer.js';
import { effectiveRange, toJson, type QuantDType, type QuantParams } from '../quant/scheme.js';
import { computeMetrics, type Metrics } from '../metrics/metrics.js';
import { summarize, type Stats } from '../report/summary.js';
import { tensor, type Tensor } from '../tensor.js';
import { describeConfig, type RunConfig } from './config.js';
import type { Engine, EngineReport, Layer } from './engine.js';
import { buildLayer, calibrationInput, testInput } from './inputs.js';

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
}

/** Everything needed to recompute trial 0 elsewhere (see src/run/dump.ts). */
export interface TrialZero {
  layer: Layer;
  input: Tensor;
  outputFp32: Tensor;
  outputDequant: Tensor;
  /** Integer mode only. */
  integer?: {
    input: Tensor<QuantDType>;
    weights: Record<string, Tensor<QuantDType>>;
    biases: Record<string, Tensor<'int32' | 'int64'>>;
    acc: Tensor<'int32' | 'int64'>;
    output: Tensor<QuantDType>;
  };
  params: ParamsDocument;
}

/** params.json: every quantized tensor's parameters and the requantization constants. */
export interface ParamsDocument {
  scheme: string;
  rounding: string;
  tensors: Record<string, ReturnType<typeof toJson>>;
  requant: { rule: string; multiplier: number[]; shift: number[] } | Record<string, { rule: string; multiplier: number[]; shift: number[] }>;
}

export interface RunReport {
  tool: 'peir';
  config: RunConfig;
  description: string;
  adapter: EngineReport;
  calibration: { input: Range; output: Range; hidden?: Range };
  trials: TrialResult[];
  summary: Record<string, Stats>;
  /** Wall-clock seconds of calibration and of the trials (this process only). */
  timing: { calibrationSeconds: number; trialSeconds: number; resumedTrials: number };
}

function quantConfig(cfg: RunConfig): QuantConfig {
  return { scheme: cfg.scheme, scaleType: cfg.scaleType, granularity: cfg.granularity, rounding: cfg.rounding };
}

function asQuantTensor(shape: readonly number[], q: Int32Array, p: QuantParams): Tensor<QuantDType> {
  return tensor(p.dtype, shape, (p.dtype === 'uint8' ? Uint8Array.from(q) : Int16Array.from(q)) as Uint8Array & Int16Array);
}

/** NCHW's channel, or the hidden unit of an LSTM output [T, H]. */
function outputAxisOf(_cfg: RunConfig): number {
  return 1;
}

/** The calibrated representable range of each output channel, for clip attribution. */
function representable(p: QuantParams, channels: number): Range {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let c = 0; c < channels; c++) {
    const r = effectiveRange(p, p.scale.length === 1 ? 0 : c);
    lo.push(r.lo);
    hi.push(r.hi);
  }
  return { lo, hi };
}

function perChannelScale(p: QuantParams, channels: number): number[] {
  return Array.from({ length: channels }, (_, c) => p.scale[p.scale.length === 1 ? 0 : c]);
}

function lstmArgs(layer: Extract<Layer, { kind: 'lstm' }>, input: Tensor): LstmInputs {
  return { input, weightIh: layer.weightIh, weightHh: layer.weightHh, biasIh: layer.biasIh, biasHh: layer.biasHh };
}

/** Run the protocol. The engine is the caller's: it is not disposed here. */
export async function runExperiment(cfg: RunConfig, engine: Engine, hooks: RunHooks = {}): Promise<RunReport> {
  const layer = hooks.layer ?? buildLayer(cfg);
  const store = hooks.store ?? new MemoryStore();
  const qc = quantConfig(cfg);

  // Calibration: the layer's input and output ranges over a separate stream of inputs.
  const t0 = performance.now();
  const observerOpts = { scheme: cfg.scheme, scaleType: cfg.scaleType, rounding: cfg.rounding, percentile: cfg.percentile };
  const inObs = createObserver(cfg.observer, { ...observerOpts, name: 'layer input' });
  const outObs = createObserver(cfg.observer, { ...observerOpts, name: 'layer output' });
  const useGpuMinMax = cfg.observer === 'minmax';
  const minMaxIn: Range = { lo: [Infinity], hi: [-Infinity] };
  let minMaxOut: Range | undefined;
  const observe = async (t: Tensor, axis: number | null, obs: typeof inObs, acc: Range | undefined): Promise<Range | undefined> => {
    if (!useGpuMinMax) {
      obs.observe(t, axis);
      return acc;
    }
    const r = await engine.minMax(t, axis);
    if (!acc) return r;
    return { lo: acc.lo.map((v, i) => Math.min(v, r.lo[i])), hi: acc.hi.map((v, i) => Math.max(v, r.hi[i])) };
  };
  let inputRange: Range | undefined = useGpuMinMax ? minMaxIn : undefined;
  for (let k = 0; k < cfg.calib; k++) {
    const x = calibrationInput(cfg, k);
    const y = layer.kind === 'lstm' ? (await engine.lstm(lstmArgs(layer, x))).output : await engine.conv(layer, x);
    inputRange = await observe(x, null, inObs, inputRange);
    minMaxOut = await observe(y, outputAxisOf(cfg), outObs, minMaxOut);
  }
  const calibrated = {
    input: useGpuMinMax ? inputRange! : inObs.range(),
    output: useGpuMinMax ? minMaxOut! : outObs.range(),
  };
  const calibrationSeconds = (performance.now() - t0) / 1000;

  // The quantization plan.
  let convPlan: ConvQuantPlan | undefined;
  let lstmPlan: LstmQuantPlan | undefined;
  let outputParams: QuantParams;
  if (layer.kind === 'lstm') {
    // h is the LSTM's output sequence: its calibrated range is the output range, merged per tensor.
    const hidden: Range = { lo: [Math.min(...calibrated.output.lo)], hi: [Math.max(...calibrated.output.hi)] };
    lstmPlan = planLstmQuant(
      { weightIh: layer.weightIh, weightHh: layer.weightHh, biasIh: layer.biasIh, biasHh: layer.biasHh },
      { input: { lo: calibrated.input.lo, hi: calibrated.input.hi }, hidden },
      qc,
    );
    outputParams = lstmPlan.hidden;
  } else {
    convPlan = planConvQuant(layer.weight, layer.bias, calibrated.input, calibrated.output, qc);
    outputParams = convPlan.output;
  }

  // Fake-quant mode: weights quantized and dequantized once.
  let fakeLayer: Layer | undefined;
  if (cfg.mode === 'fake') {
    if (layer.kind === 'lstm') {
      fakeLayer = {
        ...layer,
        weightIh: await engine.dequantize(await engine.quantize(layer.weightIh, lstmPlan!.weightIh), lstmPlan!.weightIh),
        weightHh: await engine.dequantize(await engine.quantize(layer.weightHh, lstmPlan!.weightHh), lstmPlan!.weightHh),
      };
    } else {
      fakeLayer = { ...layer, weight: await engine.dequantize(await engine.quantize(layer.weight, convPlan!.weight), convPlan!.weight) };
    }
  }

  const inputParams = layer.kind === 'lstm' ? lstmPlan!.input : convPlan!.input;
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
    const x = testInput(cfg, k);
    const reference = layer.kind === 'lstm' ? (await engine.lstm(lstmArgs(layer, x))).output : await engine.conv(layer, x);
    const channels = reference.shape[outputAxisOf(cfg)];
    const xq = await engine.quantize(x, inputParams);
    let approx: Tensor;
    let integer: TrialZero['integer'];
    if (cfg.mode === 'fake') {
      const xf = await engine.dequantize(xq, inputParams);
      const y = fakeLayer!.kind === 'lstm' ? (await engine.lstm(lstmArgs(fakeLayer!, xf))).output : await engine.conv(fakeLayer as Extract<Layer, { kind: 'conv2d' }>, xf);
      approx = await engine.dequantize(await engine.quantize(y, outputParams), outputParams);
    } else if (layer.kind === 'lstm') {
      const spec = intLstmSpec(lstmPlan!, Int32Array.from(xq.data));
      const r = await engine.lstmInt(spec);
      const q = asQuantTensor(reference.shape, r.hq, outputParams);
      approx = await engine.dequantize(q, outputParams);
      if (k === 0) integer = lstmIntegerDump(lstmPlan!, xq, r, q);
    } else {
      const [cout, , kh, kw] = layer.weight.shape;
      const g = convGeometry(x.shape[1], cout, x.shape[2], x.shape[3], kh, kw, layer.opts);
      const spec = intConvSpec(convPlan!, g, layer.kind === 'depthwise', Int32Array.from(xq.data));
      const r = await engine.convInt(spec);
      const q = asQuantTensor(reference.shape, r.q, outputParams);
      approx = await engine.dequantize(q, outputParams);
      if (k === 0) integer = convIntegerDump(convPlan!, xq, r.acc, q, layer.weight.shape);
    }
    const metrics = computeMetrics(reference, approx, {
      outputRange: representable(outputParams, channels),
      outputScale: perChannelScale(outputParams, channels),
      channelAxis: outputAxisOf(cfg),
    });
    const result: TrialResult = prior ?? { trial: k, ...metrics };
    if (!prior) store.append(result);
    else resumed++;
    trials.push(result);
    if (k === 0 && hooks.onTrialZero) {
      await hooks.onTrialZero({
        layer, input: x, outputFp32: reference, outputDequant: approx, integer,
        params: paramsDocument(cfg, convPlan, lstmPlan),
      });
    }
    hooks.onProgress?.(k + 1, cfg.trials);
  }
  return {
    tool: 'peir',
    config: cfg,
    description: describeConfig(cfg),
    adapter: engine.report,
    calibration: { input: calibrated.input, output: calibrated.output },
    trials,
    summary: summarize(trials as unknown as Record<string, unknown>[]),
    timing: { calibrationSeconds, trialSeconds: (performance.now() - t1) / 1000, resumedTrials: resumed },
  };
}

function biasTensor(cfg: { scheme: string }, values: BigInt64Array): Tensor<'int32' | 'int64'> {
  return cfg.scheme === 'q8'
    ? tensor('int32', [values.length], Int32Array.from(values, (v) => Number(v)))
    : tensor('int64', [values.length], values);
}

function accTensor(scheme: string, shape: readonly number[], acc: BigInt64Array): Tensor<'int32' | 'int64'> {
  return scheme === 'q8' ? tensor('int32', shape, Int32Array.from(acc, (v) => Number(v))) : tensor('int64', shape, acc);
}

function convIntegerDump(plan: ConvQuantPlan, xq: Tensor<QuantDType>, acc: BigInt64Array, q: Tensor<QuantDType>, weightShape: readonly number[]): TrialZero['integer'] {
  const scheme = plan.config.scheme;
  return {
    input: xq,
    weights: { weight: asQuantTensor(weightShape, plan.weightQ, plan.weight) },
    biases: { bias: biasTensor(plan.config, plan.biasQ) },
    acc: accTensor(scheme, q.shape, acc),
    output: q,
  };
}

/** Scale of an integer bias: s_in * s_w[c] per channel, zero point 0 (computed in f64). */
function biasParamsJson(input: QuantParams, weight: QuantParams, channels: number, scheme: string) {
  const scale = Array.from({ length: channels }, (_, c) => input.scale[0] * weight.scale[weight.scale.length === 1 ? 0 : c]);
  return { dtype: scheme === 'q8' ? 'int32' : 'int64', axis: 0, scale, zero_point: new Array<number>(channels).fill(0) };
}

function paramsDocument(cfg: RunConfig, conv?: ConvQuantPlan, lstm?: LstmQuantPlan): ParamsDocument {
  if (conv) {
    const cout = conv.biasQ.length;
    return {
      scheme: cfg.scheme,
      rounding: cfg.rounding,
      tensors: {
        input: toJson(conv.input),
        weight: toJson(conv.weight),
        bias: biasParamsJson(conv.input, conv.weight, cout, cfg.scheme) as unknown as ReturnType<typeof toJson>,
        output: toJson(conv.output),
      },
      requant: { rule: conv.rule, multiplier: Array.from(conv.multiplier), shift: Array.from(conv.shift) },
    };
  }
  const p = lstm!;
  const rows = p.biasQ.length;
  return {
    scheme: cfg.scheme,
    rounding: cfg.rounding,
    tensors: {
      input: toJson(p.input),
      hidden: toJson(p.hidden),
      weight_ih: toJson(p.weightIh),
      weight_hh: toJson(p.weightHh),
      bias: biasParamsJson(p.input, p.weightIh, rows, cfg.scheme) as unknown as ReturnType<typeof toJson>,
    },
    requant: {
      gate_x: { rule: p.rule, multiplier: Array.from(p.gateMultiplierX), shift: Array.from(p.gateShiftX) },
      gate_h: { rule: p.rule, multiplier: Array.from(p.gateMultiplierH), shift: Array.from(p.gateShiftH) },
      output: { rule: p.rule, multiplier: [p.outMultiplier], shift: [p.outShift] },
    },
  };
}

function lstmIntegerDump(plan: LstmQuantPlan, xq: Tensor<QuantDType>, r: IntLstmResult, q: Tensor<QuantDType>): TrialZero['integer'] {
  const H = plan.hiddenSize;
  const scheme = plan.config.scheme;
  return {
    input: xq,
    weights: {
      weight_ih: asQuantTensor([4 * H, plan.inputSize], plan.weightIhQ, plan.weightIh),
      weight_hh: asQuantTensor([4 * H, H], plan.weightHhQ, plan.weightHh),
    },
    biases: { bias: biasTensor(plan.config, plan.biasQ) },
    // The last step's accumulators: row 0 the input side (bias included), row 1 the recurrent side.
    acc: scheme === 'q8'
      ? tensor('int32', [2, 4 * H], Int32Array.from([...r.accX, ...r.accH], (v) => Number(v)))
      : tensor('int64', [2, 4 * H], BigInt64Array.from([...r.accX, ...r.accH])),
    output: q,
  };
}
