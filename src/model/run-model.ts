/**
 * `peir model`: every layer found in a model (src/model/graph.ts) measured
 * in isolation with the study's experiment (src/run/experiment.ts), on
 * inputs of that layer's own shape: synthetic (the chosen distribution) by
 * default, or real activations given per layer input tensor (--inputs).
 * Results are sorted worst first by median PEIR, with a verdict on which
 * layers to keep in 16 bits.
 */
import { InputError, PeirError } from '../errors.js';
import { resolveConfig, type RunConfig, type RunOptions } from '../run/config.js';
import type { Engine, EngineReport, Layer } from '../run/engine.js';
import { runExperiment, type RunReport, type TrialResult } from '../run/experiment.js';
import type { Stats } from '../report/summary.js';
import { f32, shapeToString, type Tensor } from '../tensor.js';
import type { GraphInputInfo, ModelAnalysis, ModelLayer, SkippedLayer } from './graph.js';
import { convOutputSpatial, engineConvInputShape, engineConvOptions } from './layers.js';

/**
 * Default verdict threshold: a layer whose median PEIR exceeds 0.01 (its
 * worst element off by 1 % of the output's range, about 2.5 steps of a
 * 255-level grid, where rounding alone costs about half a step) loses more
 * than quantization's floor and is a candidate to keep in 16 bits. The
 * study's well-calibrated Q8 layers sit near 0.005 (docs/paper.md).
 */
export const DEFAULT_KEEP16_PEIR = 0.01;

/** The experiment settings shared by every layer (the scheme options of `peir run`). */
export type ModelRunSettings = Pick<
  RunOptions,
  'scheme' | 'trials' | 'calib' | 'seed' | 'dist' | 'calibDist' | 'observer' | 'percentile' | 'granularity' | 'scaleType' | 'rounding' | 'mode' | 'backend'
> & { threshold?: number };

/** One layer's real inputs, in the engine's layout, and the per-sample shape in the model's layout. */
export interface LayerSamples {
  calibration: Tensor[];
  test: Tensor[];
  /** Shape of one sample as the model holds it (batch 1). */
  modelShape: number[];
  source: string;
}

/** Finds a layer's real inputs; undefined: use synthetic ones. */
export type SampleSource = (layer: ModelLayer, counts: { calib: number; trials: number }) => Promise<LayerSamples | undefined>;

export interface LayerResult {
  id: string;
  name: string;
  node: string;
  op: 'Conv' | 'LSTM';
  kind: ModelLayer['kind'];
  variant?: ModelLayer['variant'];
  graph: string;
  /** Position of the layer in the graph walk (the report is sorted worst first). */
  order: number;
  inputName: string;
  inputShape: number[];
  weightShape: number[];
  /** Conv: kernel, strides, ONNX pads [begins..., ends...], dilations, group. LSTM: sizes and direction. */
  geometry:
    | { kernel: number[]; strides: number[]; pads: number[]; dilations: number[]; group: number; outputShape: number[] }
    | { steps: number; inputSize: number; hidden: number; direction: 'forward' | 'reverse'; layout: 0 | 1 };
  inputs: 'synthetic' | string;
  notes: string[];
  description: string;
  summary: Record<string, Stats>;
  /** The channel with the largest median per-channel PEIR. */
  worstChannel: { channel: number; medianPeir: number };
  /** The worst trial's worst element (positions in the model's time order for reverse LSTMs). */
  worst: { trial: number; peir: number } & TrialResult['worst'];
  timing: { calibrationSeconds: number; trialSeconds: number };
}

export interface ModelReport {
  tool: 'peir';
  command: 'model';
  model: {
    file: string;
    irVersion: number;
    producer: string;
    opsets: Record<string, number>;
    inputs: GraphInputInfo[];
    found: { Conv: number; LSTM: number };
    notes: string[];
  };
  settings: Omit<RunConfig, 'module' | 'height' | 'width' | 'inChannels' | 'outChannels' | 'kernel' | 'stride' | 'padding' | 'dilation' | 'bias' | 'hidden' | 'spreadFraction' | 'spreadFactor' | 'weightsDir'> & {
    threshold: number;
    inputs: string;
  };
  adapter: EngineReport;
  /** Worst first (median PEIR, descending). */
  layers: LayerResult[];
  skipped: SkippedLayer[];
  verdict: { threshold: number; scheme: string; keep: string[]; text: string };
  timing: { seconds: number };
}

export interface ModelRunHooks {
  /** Where real inputs come from (--inputs); default: synthetic. */
  samples?: SampleSource;
  /** Label of the inputs for the report ('synthetic' or the directory). */
  inputsLabel?: string;
  /** Before each layer: its index, the total, and the layer. */
  onLayer?: (index: number, total: number, layer: ModelLayer) => void;
  onProgress?: (done: number, total: number) => void;
}

export const UNKNOWN_SHAPE_REASON = 'input shape unknown: give --input-shape or value_info';

/** '--inputs' file stem of a tensor name: characters outside [A-Za-z0-9._-] become '_'. */
export function inputFileStem(tensorName: string): string {
  return tensorName.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Split a tensor of real activations, as the model holds them at a layer's
 * input with the batch axis counting samples (conv: [S, C, ...spatial];
 * LSTM layout 0: [T, S, I], layout 1: [S, T, I]), into per-sample inputs in
 * the engine's layout (conv [1, C, H, W], 1-D as H = 1; LSTM [T, I], reversed
 * in time for a reverse direction). The first `calib` samples calibrate, the
 * next `trials` are the test inputs.
 */
export function samplesFromActivations(layer: ModelLayer, t: Tensor, counts: { calib: number; trials: number }, source: string): LayerSamples {
  const need = counts.calib + counts.trials;
  const where = `${source} (input '${layer.inputName}' of ${layer.name})`;
  let samples: Tensor[];
  let modelShape: number[];
  if (layer.kind === 'lstm') {
    const { layout, inputSize, direction } = layer.lstm!;
    if (t.shape.length !== 3 || t.shape[2] !== inputSize) {
      throw new InputError(`${where}: shape ${shapeToString(t.shape)}; expected ${layout === 0 ? '[T, samples, ' : '[samples, T, '}${inputSize}]`);
    }
    const [steps, count] = layout === 0 ? [t.shape[0], t.shape[1]] : [t.shape[1], t.shape[0]];
    modelShape = layout === 0 ? [steps, 1, inputSize] : [1, steps, inputSize];
    samples = Array.from({ length: Math.min(count, need) }, (_, s) => {
      const out = new Float32Array(steps * inputSize);
      for (let step = 0; step < steps; step++) {
        const src = layout === 0 ? (step * count + s) * inputSize : (s * steps + step) * inputSize;
        const dst = (direction === 'reverse' ? steps - 1 - step : step) * inputSize;
        out.set(t.data.subarray(src, src + inputSize), dst);
      }
      return f32([steps, inputSize], out);
    });
    if (count < need) throw notEnough(where, count, counts);
  } else {
    const { spatial, inChannels } = layer.conv!;
    if (t.shape.length !== spatial + 2 || t.shape[1] !== inChannels) {
      throw new InputError(`${where}: shape ${shapeToString(t.shape)}; expected [samples, ${inChannels}, ${spatial === 1 ? 'L' : 'H, W'}]`);
    }
    const count = t.shape[0];
    if (count < need) throw notEnough(where, count, counts);
    modelShape = [1, ...t.shape.slice(1)];
    const per = t.data.length / count;
    const shape = engineConvInputShape(modelShape);
    samples = Array.from({ length: need }, (_, s) => f32(shape, t.data.slice(s * per, (s + 1) * per)));
  }
  return { calibration: samples.slice(0, counts.calib), test: samples.slice(counts.calib, need), modelShape, source };
}

function notEnough(where: string, count: number, c: { calib: number; trials: number }): InputError {
  return new InputError(`${where}: ${count} samples, the run needs calib + trials = ${c.calib} + ${c.trials}; pass smaller --calib / --trials or more samples`);
}

/** The run config and engine layer of a model layer at a given input shape (model layout, batch 1). */
export function layerRun(layer: ModelLayer, modelShape: number[], s: ModelRunSettings): { cfg: RunConfig; layer: Layer; geometry: LayerResult['geometry'] } {
  const common = { ...s, spreadFraction: 0, spreadFactor: 1, weightsDir: null };
  delete (common as { threshold?: number }).threshold;
  if (layer.kind === 'lstm') {
    const l = layer.lstm!;
    const steps = l.layout === 0 ? modelShape[0] : modelShape[1];
    const cfg = resolveConfig({ ...common, module: 'lstm', height: steps, width: l.inputSize, hidden: l.hidden, bias: layer.layer.kind === 'lstm' && Boolean(layer.layer.biasIh || layer.layer.biasHh) });
    return { cfg, layer: layer.layer, geometry: { steps, inputSize: l.inputSize, hidden: l.hidden, direction: l.direction, layout: l.layout } };
  }
  const spec = layer.conv!;
  const spatialIn = modelShape.slice(2);
  const opts = engineConvOptions(spec, spatialIn);
  const engineShape = engineConvInputShape(modelShape);
  const conv = layer.layer as Extract<Layer, { kind: 'conv2d' | 'depthwise' }>;
  const [, , kh, kw] = conv.weight.shape;
  const cfg = resolveConfig({
    ...common,
    module: layer.kind,
    height: engineShape[2],
    width: engineShape[3],
    inChannels: spec.inChannels,
    outChannels: spec.outChannels,
    kernel: [kh, kw],
    stride: opts.stride as [number, number],
    dilation: opts.dilation as [number, number],
    padding: opts.padding,
    bias: Boolean(conv.bias),
  });
  const outSpatial = convOutputSpatial(spec, spatialIn);
  return {
    cfg,
    layer: { ...conv, opts },
    geometry: {
      kernel: spec.kernel,
      strides: spec.strides,
      pads: [...opts.padding],
      dilations: spec.dilations,
      group: spec.group,
      outputShape: [1, spec.outChannels, ...outSpatial],
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Reverse-direction LSTMs run on the reversed sequence: map positions back to the model's time order. */
function unreverse(trials: TrialResult[], steps: number): TrialResult[] {
  return trials.map((t) => {
    const [step, unit] = t.worst.position;
    const position = [steps - 1 - step, unit];
    const hidden = t.perChannelPeir.length;
    return { ...t, worst: { ...t.worst, position, index: position[0] * hidden + position[1] } };
  });
}

function layerResult(ml: ModelLayer, order: number, report: RunReport, modelShape: number[], geometry: LayerResult['geometry'], inputs: string, layerNotes: string[]): LayerResult {
  let notes = layerNotes;
  const trials = ml.lstm?.direction === 'reverse' ? unreverse(report.trials, report.config.height) : report.trials;
  const channels = trials[0].perChannelPeir.length;
  let worstChannel = { channel: 0, medianPeir: -1 };
  for (let c = 0; c < channels; c++) {
    const m = median(trials.map((t) => t.perChannelPeir[c]));
    if (m > worstChannel.medianPeir) worstChannel = { channel: c, medianPeir: m };
  }
  const worstTrial = trials.reduce((a, b) => (b.peir > a.peir ? b : a));
  const degenerate = trials.filter((t) => t.degenerateInterval).length;
  if (degenerate) {
    notes = [...notes, `fp32 output interval below float32 resolution in ${degenerate} of ${trials.length} trials (a constant or single-element output): PEIR is against tau there (src/metrics/metrics.ts)`];
  }
  return {
    id: ml.id,
    name: ml.name,
    node: ml.node,
    op: ml.op,
    kind: ml.kind,
    variant: ml.variant,
    graph: ml.graph,
    order,
    inputName: ml.inputName,
    inputShape: modelShape,
    weightShape: ml.weightShape,
    geometry,
    inputs,
    notes,
    description: report.description,
    summary: report.summary,
    worstChannel,
    worst: { trial: worstTrial.trial, peir: worstTrial.peir, ...worstTrial.worst },
    timing: { calibrationSeconds: report.timing.calibrationSeconds, trialSeconds: report.timing.trialSeconds },
  };
}

/** Which layers to keep in 16 bits (Q8 runs) or in float (Q16 runs), and why. */
export function verdict(layers: readonly LayerResult[], scheme: string, threshold: number): ModelReport['verdict'] {
  const keep = layers.filter((l) => l.summary.peir.median > threshold).map((l) => l.name);
  const q = scheme.toUpperCase();
  const target = scheme === 'q8' ? '16 bits' : 'float';
  let text: string;
  if (layers.length === 0) text = 'no layer was measured';
  else if (keep.length === 0) text = `every measured layer has a median ${q} PEIR <= ${threshold}: ${q} throughout`;
  else {
    text =
      `keep in ${target} the ${keep.length} of ${layers.length} layers whose median ${q} PEIR exceeds ${threshold}: ${keep.join(', ')}` +
      (keep.length < layers.length ? `; ${q} for the rest` : '');
  }
  return { threshold, scheme, keep, text };
}

/**
 * Measure every layer of an analysed model. Layers without a known input
 * shape, and layers whose run fails with a PeirError (a bias that does not
 * fit the integer range, a GPU limit), are reported in `skipped` with the
 * reason; anything else is a bug and propagates.
 */
export async function runModel(analysis: ModelAnalysis, settings: ModelRunSettings, engine: Engine, hooks: ModelRunHooks = {}): Promise<ModelReport> {
  const t0 = performance.now();
  const threshold = settings.threshold ?? DEFAULT_KEEP16_PEIR;
  // Validates the shared settings once, with a placeholder layer.
  const base = resolveConfig({ ...settings, module: 'conv2d', size: 1, kernel: 1 });
  const counts = { calib: base.calib, trials: base.trials };
  const results: LayerResult[] = [];
  const skipped: SkippedLayer[] = [...analysis.skipped];
  for (const [i, ml] of analysis.layers.entries()) {
    hooks.onLayer?.(i, analysis.layers.length, ml);
    const skip = (reason: string) => skipped.push({ id: ml.id, node: ml.node, op: ml.op, graph: ml.graph, reason });
    let samples: LayerSamples | undefined;
    try {
      samples = await hooks.samples?.(ml, counts);
    } catch (e) {
      if (!(e instanceof PeirError)) throw e;
      skip(`inputs: ${e.message}`);
      continue;
    }
    const modelShape = samples?.modelShape ?? ml.inputShape;
    if (!modelShape) {
      skip(hooks.samples ? `${UNKNOWN_SHAPE_REASON} (or put ${inputFileStem(ml.inputName)}.npy in --inputs)` : UNKNOWN_SHAPE_REASON);
      continue;
    }
    const notes = [...ml.notes];
    if (samples && ml.inputShape && shapeToString(samples.modelShape) !== shapeToString(ml.inputShape)) {
      notes.push(`input shape ${shapeToString(samples.modelShape)} from ${samples.source}; the graph implies ${shapeToString(ml.inputShape)}`);
    }
    try {
      const run = layerRun(ml, modelShape, settings);
      const report = await runExperiment(run.cfg, engine, {
        layer: run.layer,
        inputs: samples ? { calibration: samples.calibration, test: samples.test } : undefined,
        onProgress: hooks.onProgress,
      });
      results.push(layerResult(ml, i, report, modelShape, run.geometry, samples ? samples.source : 'synthetic', notes));
    } catch (e) {
      if (!(e instanceof PeirError)) throw e;
      skip(`failed: ${e.message}`);
    }
  }
  results.sort((a, b) => b.summary.peir.median - a.summary.peir.median || a.order - b.order);
  const { module: _m, height: _h, width: _w, inChannels: _i, outChannels: _o, kernel: _k, stride: _s, padding: _p, dilation: _d, bias: _b, hidden: _hd, spreadFraction: _sf, spreadFactor: _sx, weightsDir: _wd, ...shared } = base;
  return {
    tool: 'peir',
    command: 'model',
    model: {
      file: analysis.file,
      irVersion: analysis.irVersion,
      producer: analysis.producer,
      opsets: analysis.opsets,
      inputs: analysis.inputs,
      found: analysis.found,
      notes: analysis.notes,
    },
    settings: { ...shared, threshold, inputs: hooks.inputsLabel ?? 'synthetic' },
    adapter: engine.report,
    layers: results,
    skipped,
    verdict: verdict(results, base.scheme, threshold),
    timing: { seconds: (performance.now() - t0) / 1000 },
  };
}
