/**
 * Experiment configuration: every option of `peir run`, its default, and the
 * validation that turns bad values into InputErrors naming the option and its
 * valid choices. Defaults follow the study where it says something and are
 * documented choices where it does not (README "Defaults").
 */
import type { ObserverKind } from '../calibrate/observers.js';
import { OBSERVER_KINDS } from '../calibrate/observers.js';
import { DISTRIBUTIONS, type Distribution } from '../data/generate.js';
import { InputError } from '../errors.js';
import type { Padding } from '../layers/conv-geometry.js';
import type { RoundingMode } from '../quant/rounding.js';
import type { Granularity, ScaleType, Scheme } from '../quant/scheme.js';

export type ModuleKind = 'conv2d' | 'depthwise' | 'lstm';
export type Mode = 'int' | 'fake';
export type Backend = 'gpu' | 'cpu';

export const MODULES: readonly ModuleKind[] = ['conv2d', 'depthwise', 'lstm'];
export const MODES: readonly Mode[] = ['int', 'fake'];
export const BACKENDS: readonly Backend[] = ['gpu', 'cpu'];

export interface RunConfig {
  module: ModuleKind;
  scheme: Scheme;
  /** Conv: input height / width. LSTM: height = time steps T, width = input features I. */
  height: number;
  width: number;
  /** Conv input channels (depthwise: the channel count). */
  inChannels: number;
  /** Conv output channels (ignored for depthwise: equal to inChannels). */
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: Padding;
  dilation: [number, number];
  bias: boolean;
  /** LSTM hidden size H. */
  hidden: number;
  trials: number;
  seed: number;
  /** Calibration inputs (a stream separate from the test inputs). */
  calib: number;
  dist: Distribution;
  /** Distribution of the calibration set; default: the same as `dist`. */
  calibDist: Distribution;
  observer: ObserverKind;
  percentile: number;
  granularity: Granularity;
  scaleType: ScaleType;
  rounding: RoundingMode;
  mode: Mode;
  backend: Backend;
  /** Plant a spread of per-channel weight ranges: this fraction of channels scaled by `spreadFactor`. */
  spreadFraction: number;
  spreadFactor: number;
  /** Directory of .npy weights (weight.npy, bias.npy or the LSTM's four), or null for seeded random weights. */
  weightsDir: string | null;
}

/** The study's sizes: Q8 tables at 224x224, Q16 tables at 512x512. */
export function defaultSize(scheme: Scheme): number {
  return scheme === 'q8' ? 224 : 512;
}

export const DEFAULTS = {
  inChannels: 3,
  outChannels: 16,
  depthwiseChannels: 16,
  kernel: 3,
  hidden: 128,
  trials: 100,
  seed: 1,
  calib: 16,
  dist: 'normal' as Distribution,
  observer: 'minmax' as ObserverKind,
  percentile: 99.99,
  granularity: 'channel' as Granularity,
  rounding: 'half_even' as RoundingMode,
  mode: 'int' as Mode,
  backend: 'gpu' as Backend,
};

export type RunOptions = Partial<Omit<RunConfig, 'kernel' | 'stride' | 'dilation'>> & {
  module: ModuleKind;
  scheme: Scheme;
  size?: number;
  kernel?: number | [number, number];
  stride?: number | [number, number];
  dilation?: number | [number, number];
};

function oneOf<T extends string>(value: unknown, choices: readonly T[], option: string): T {
  if (!choices.includes(value as T)) {
    throw new InputError(`--${option} must be one of ${choices.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function positiveInt(value: unknown, option: string, max = 1 << 20): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InputError(`--${option} must be an integer from 1 to ${max}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function pairOf(v: number | [number, number] | undefined, dflt: number, option: string): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  return [positiveInt(p[0], option, 4096), positiveInt(p[1], option, 4096)];
}

/** Fill in defaults and validate every option. */
export function resolveConfig(o: RunOptions): RunConfig {
  const module = oneOf(o.module, MODULES, 'module');
  const scheme = oneOf(o.scheme, ['q8', 'q16'] as const, 'scheme');
  const size = o.size === undefined ? defaultSize(scheme) : positiveInt(o.size, 'size', 16384);
  const height = o.height === undefined ? size : positiveInt(o.height, 'height', 16384);
  const width = o.width === undefined ? size : positiveInt(o.width, 'width', 16384);
  const inChannels = positiveInt(o.inChannels ?? (module === 'depthwise' ? DEFAULTS.depthwiseChannels : DEFAULTS.inChannels), 'in-channels', 65536);
  const outChannels = module === 'depthwise' ? inChannels : positiveInt(o.outChannels ?? DEFAULTS.outChannels, 'out-channels', 65536);
  const padding = o.padding ?? 'same';
  if (!(padding === 'same' || padding === 'valid' || (typeof padding === 'number' && Number.isInteger(padding) && padding >= 0) || Array.isArray(padding))) {
    throw new InputError(`--padding must be same, valid, a number or top,left,bottom,right; got ${JSON.stringify(padding)}`);
  }
  const dist = oneOf(o.dist ?? DEFAULTS.dist, DISTRIBUTIONS, 'dist');
  const percentile = o.percentile ?? DEFAULTS.percentile;
  if (!(percentile > 50 && percentile <= 100)) throw new InputError(`--percentile must be in (50, 100]; got ${percentile}`);
  const spreadFraction = o.spreadFraction ?? 0;
  const spreadFactor = o.spreadFactor ?? 1;
  if (!(spreadFraction >= 0 && spreadFraction <= 1)) throw new InputError(`--spread-fraction must be in [0, 1]; got ${spreadFraction}`);
  if (!(spreadFactor > 0 && Number.isFinite(spreadFactor))) throw new InputError(`--spread-factor must be a positive number; got ${spreadFactor}`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && Math.abs(o.seed) < 2 ** 31)) {
    throw new InputError(`--seed must be an integer in (-2^31, 2^31); got ${o.seed}`);
  }
  return {
    module,
    scheme,
    height,
    width,
    inChannels,
    outChannels,
    kernel: pairOf(o.kernel, DEFAULTS.kernel, 'kernel'),
    stride: pairOf(o.stride, 1, 'stride'),
    padding,
    dilation: pairOf(o.dilation, 1, 'dilation'),
    bias: o.bias ?? true,
    hidden: positiveInt(o.hidden ?? DEFAULTS.hidden, 'hidden', 16384),
    trials: positiveInt(o.trials ?? DEFAULTS.trials, 'trials', 1_000_000),
    seed: o.seed ?? DEFAULTS.seed,
    calib: positiveInt(o.calib ?? DEFAULTS.calib, 'calib', 100_000),
    dist,
    calibDist: oneOf(o.calibDist ?? dist, DISTRIBUTIONS, 'calib-dist'),
    observer: oneOf(o.observer ?? DEFAULTS.observer, OBSERVER_KINDS, 'observer'),
    percentile,
    granularity: oneOf(o.granularity ?? DEFAULTS.granularity, ['channel', 'tensor'] as const, 'granularity'),
    scaleType: oneOf(o.scaleType ?? (scheme === 'q8' ? 'linear' : 'pow2'), ['linear', 'pow2'] as const, 'scale'),
    rounding: oneOf(o.rounding ?? DEFAULTS.rounding, ['half_even', 'half_away'] as const, 'rounding'),
    mode: oneOf(o.mode ?? DEFAULTS.mode, MODES, 'mode'),
    backend: oneOf(o.backend ?? DEFAULTS.backend, BACKENDS, 'backend'),
    spreadFraction,
    spreadFactor,
    weightsDir: o.weightsDir ?? null,
  };
}

/** A short stable hash of the config (FNV-1a over canonical JSON), naming journals. */
export function configHash(c: RunConfig): string {
  const json = JSON.stringify(c, Object.keys(c).sort());
  let h = 0x811c9dc5;
  for (let i = 0; i < json.length; i++) h = Math.imul(h ^ json.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** One line describing the configuration, for report headers. */
export function describeConfig(c: RunConfig): string {
  const layer =
    c.module === 'lstm'
      ? `lstm T=${c.height} I=${c.width} H=${c.hidden}`
      : `${c.module} ${c.inChannels}->${c.outChannels} ${c.height}x${c.width} k${c.kernel.join('x')} s${c.stride.join('x')} d${c.dilation.join('x')} pad ${JSON.stringify(c.padding)}`;
  return `${layer}; ${c.scheme} ${c.scaleType} per-${c.granularity} ${c.rounding} ${c.mode}; ${c.dist} inputs, ${c.calib} ${c.calibDist} calibration inputs (${c.observer}); ${c.trials} trials, seed ${c.seed}`;
}
