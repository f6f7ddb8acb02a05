/**
 * The experiment's data, from the seed alone (src/data/generate.ts streams):
 * the layer's weights, the calibration inputs and the test inputs, each from
 * its own named PRNG stream, so that trial k's input is the same however the
 * run got there (first run, resumed run, Node or browser).
 */
import { generateInput, randomConvWeights, randomLstmWeights, weightStream } from '../data/generate.js';
import type { Tensor } from '../tensor.js';
import type { RunConfig } from './config.js';
import type { Layer } from './engine.js';

/** Shape of one input: NCHW [1, C, H, W] for convolutions, [T, I] for the LSTM. */
export function inputShape(cfg: RunConfig): number[] {
  return cfg.module === 'lstm' ? [cfg.height, cfg.width] : [1, cfg.inChannels, cfg.height, cfg.width];
}

/** Calibration input k. */
export function calibrationInput(cfg: RunConfig, k: number): Tensor {
  return generateInput(cfg.seed, 'calibration', k, inputShape(cfg), cfg.calibDist);
}

/** Test input of trial k. */
export function testInput(cfg: RunConfig, k: number): Tensor {
  return generateInput(cfg.seed, 'test', k, inputShape(cfg), cfg.dist);
}

/** Seeded random weights with PyTorch's default initialisation (and the planted channel spread, if asked). */
export function buildLayer(cfg: RunConfig): Layer {
  const p = weightStream(cfg.seed);
  const channelSpread = cfg.spreadFraction > 0 && cfg.spreadFactor !== 1 ? { fraction: cfg.spreadFraction, factor: cfg.spreadFactor } : undefined;
  if (cfg.module === 'lstm') {
    const w = randomLstmWeights(p, cfg.width, cfg.hidden, { channelSpread });
    return { kind: 'lstm', weightIh: w.weightIh, weightHh: w.weightHh, biasIh: cfg.bias ? w.biasIh : undefined, biasHh: cfg.bias ? w.biasHh : undefined };
  }
  const [kh, kw] = cfg.kernel;
  const shape = cfg.module === 'depthwise' ? [cfg.inChannels, 1, kh, kw] : [cfg.outChannels, cfg.inChannels, kh, kw];
  const w = randomConvWeights(p, shape, { channelSpread });
  return {
    kind: cfg.module,
    weight: w.weight,
    bias: cfg.bias ? w.bias : undefined,
    opts: { stride: cfg.stride, padding: cfg.padding, dilation: cfg.dilation },
  };
}
