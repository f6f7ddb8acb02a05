/**
 * Sweeps: PEIR against input size (the study's "effect of scaling"), and
 * PEIR against depth (a stack of L layers, each quantized, PEIR measured
 * after every layer against the fp32 stack), which tests the study's claim
 * that PEIR grows roughly linearly with depth.
 *
 * Depth stacks: conv2d C_in -> C_out, then C_out -> C_out; depthwise C -> C;
 * LSTM I -> H, then H -> H. Layer l's weights come from the stream
 * `weights/layer/l` of the seed. Between convolutions an optional ReLU is
 * applied to both chains (in f32, on the host). Each layer is calibrated on
 * the fp32 stack's activations of the calibration inputs; the quantized
 * stack feeds layer l the dequantized output of quantized layer l - 1.
 */
import { randomConvWeights, randomLstmWeights, weightStream } from '../data/generate.js';
import { stats, type Stats } from '../report/summary.js';
import { f32, type Tensor } from '../tensor.js';
import { resolveConfig, type RunConfig, type RunOptions } from './config.js';
import type { Engine, Layer } from './engine.js';
import { runExperiment, type TrialStore } from './experiment.js';
import { calibrationInput, testInput } from './inputs.js';
import { calibrateLayer, forwardFp32, forwardQuantized, metricsOptionsFor, OUTPUT_CHANNEL_AXIS, prepareLayer, type PreparedLayer } from './layer-runner.js';

export interface SizeSweepRow {
  size: number;
  config: RunConfig;
  peir: Stats;
  sqnrDb: Stats;
}

/** PEIR against input size: one experiment per size. */
export async function sizeSweep(
  base: RunOptions, sizes: number[], engine: Engine,
  hooks: { storeFor?: (cfg: RunConfig) => TrialStore | undefined; onProgress?: (row: number, done: number, total: number) => void } = {},
): Promise<SizeSweepRow[]> {
  const rows: SizeSweepRow[] = [];
  for (const [i, size] of sizes.entries()) {
    const config = resolveConfig({ ...base, size, height: undefined, width: undefined });
    const r = await runExperiment(config, engine, { store: hooks.storeFor?.(config), onProgress: (d, t) => hooks.onProgress?.(i, d, t) });
    rows.push({ size, config, peir: r.summary.peir, sqnrDb: r.summary.sqnrDb });
  }
  return rows;
}

export interface DepthSweepResult {
  config: RunConfig;
  depth: number;
  relu: boolean;
  /** PEIR after layer l (index l - 1) over trials. */
  layers: { layer: number; peir: Stats }[];
  /** Least-squares line through the median PEIR against depth: median(l) ~ slope * l + intercept. */
  fit: { slope: number; intercept: number; r2: number };
  /** median PEIR after the last layer / after the first. */
  growth: number;
}

/** The layers of a depth stack (see the module doc). */
export function buildStack(cfg: RunConfig, depth: number): Layer[] {
  const layers: Layer[] = [];
  for (let l = 0; l < depth; l++) {
    const p = weightStream(cfg.seed).fork(`layer/${l}`);
    if (cfg.module === 'lstm') {
      const w = randomLstmWeights(p, l === 0 ? cfg.width : cfg.hidden, cfg.hidden);
      layers.push({ kind: 'lstm', weightIh: w.weightIh, weightHh: w.weightHh, biasIh: cfg.bias ? w.biasIh : undefined, biasHh: cfg.bias ? w.biasHh : undefined });
    } else {
      const [kh, kw] = cfg.kernel;
      const cin = l === 0 ? cfg.inChannels : cfg.outChannels;
      const shape = cfg.module === 'depthwise' ? [cfg.inChannels, 1, kh, kw] : [cfg.outChannels, cin, kh, kw];
      const w = randomConvWeights(p, shape);
      // Stride 1 after the first layer keeps deep stacks from shrinking to nothing.
      layers.push({
        kind: cfg.module, weight: w.weight, bias: cfg.bias ? w.bias : undefined,
        opts: { stride: l === 0 ? cfg.stride : 1, padding: cfg.padding, dilation: cfg.dilation },
      });
    }
  }
  return layers;
}

function relu(t: Tensor): Tensor {
  return f32(t.shape, t.data.map((v) => (v > 0 ? v : 0)));
}

/** Least squares of y against x = 1..n. */
export function linearFit(y: number[]): { slope: number; intercept: number; r2: number } {
  const n = y.length;
  const xs = y.map((_, i) => i + 1);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (y[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const r2 = sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : 1;
  return { slope, intercept: my - slope * mx, r2 };
}

/** PEIR after each layer of a stack of `depth` quantized layers. */
export async function depthSweep(
  base: RunOptions, depth: number, useRelu: boolean, engine: Engine,
  onProgress?: (done: number, total: number) => void,
): Promise<DepthSweepResult> {
  const cfg = resolveConfig(base);
  const activate = (t: Tensor) => (useRelu && cfg.module !== 'lstm' ? relu(t) : t);
  const layers = buildStack(cfg, depth);
  // Calibrate layer by layer on the fp32 stack's activations of the calibration inputs.
  let acts = Array.from({ length: cfg.calib }, (_, k) => calibrationInput(cfg, k));
  const prepared: PreparedLayer[] = [];
  for (const layer of layers) {
    const ranges = await calibrateLayer(engine, layer, cfg, (k) => acts[k]);
    prepared.push(await prepareLayer(engine, layer, ranges, cfg));
    const next: Tensor[] = [];
    for (const a of acts) next.push(activate(await forwardFp32(engine, layer, a)));
    acts = next;
  }
  const perLayer: number[][] = layers.map(() => []);
  for (let k = 0; k < cfg.trials; k++) {
    let x = testInput(cfg, k);
    let xq = x;
    for (const [l, p] of prepared.entries()) {
      const y = await forwardFp32(engine, p.layer, x);
      const { approx } = await forwardQuantized(engine, p, xq);
      perLayer[l].push((await engine.metrics(y, approx, metricsOptionsFor(p, y.shape[OUTPUT_CHANNEL_AXIS]))).peir);
      x = activate(y);
      xq = activate(approx);
    }
    onProgress?.(k + 1, cfg.trials);
  }
  const layerStats = perLayer.map((v, l) => ({ layer: l + 1, peir: stats(v) }));
  const medians = layerStats.map((s) => s.peir.median);
  return {
    config: cfg,
    depth,
    relu: useRelu && cfg.module !== 'lstm',
    layers: layerStats,
    fit: linearFit(medians),
    growth: medians[0] > 0 ? medians[medians.length - 1] / medians[0] : 0,
  };
}
