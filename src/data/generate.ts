/**
 * Synthetic data: input samples from four distributions, the named input
 * streams of an experiment, and layer weights with PyTorch's default
 * initialisation (optionally with a few planted large channels).
 *
 * ## Distributions (defaults)
 *
 * | name        | default                      | mean | variance          | excess kurtosis |
 * |-------------|------------------------------|------|-------------------|-----------------|
 * | `uniform`   | U[lo, hi) = U[-1, 1)          | 0    | 1/3               | -1.2            |
 * | `normal`    | N(loc 0, scale 1)            | 0    | 1                 | 0               |
 * | `laplace`   | Laplace(loc 0, b 1/sqrt(2))  | 0    | 2 b^2 = 1         | 3               |
 * | `student-t` | loc + scale * T_nu, nu = 3   | 0    | 1 (nu > 2)        | 6/(nu-4), infinite for nu <= 4 |
 *
 * Student-t: `scale` defaults to sqrt((nu - 2) / nu), which gives unit
 * variance for every nu > 2, so normal, Laplace and Student-t inputs differ
 * only in their tails, not in their spread (the same calibration range then
 * clips them differently, which is the point of offering them). For
 * nu <= 2 the variance is infinite and the default scale is 1 (plain T_nu).
 * With nu = 3 the fourth moment is infinite: the tails are heavy enough that
 * the largest of 50k values is typically 20 to 50 standard deviations out.
 *
 * Sampling algorithms, all driven by the given Prng only:
 * - uniform: `lo + (hi - lo) * u`, u = prng.next() in [0, 1).
 * - normal: prng.normal() (Box-Muller).
 * - laplace: inverse CDF of one draw u in (0, 1) (u = 0 redrawn):
 *   `loc + b ln(2u)` for u < 1/2, `loc - b ln(2 - 2u)` otherwise.
 * - student-t: `T = Z / sqrt(V / nu)`, Z normal drawn first, then
 *   V ~ chi-square(nu): the sum of nu squared normals for integer
 *   nu <= CHI2_SUM_MAX_DF, otherwise 2 * Gamma(nu / 2) by Marsaglia and
 *   Tsang's method (ACM TOMS 26(3), 2000), with the U^(1/a) boost for
 *   shape a < 1.
 * Values are computed in f64 and rounded once to float32.
 *
 * Determinism: the Prng is pure 32-bit integer arithmetic; the transforms
 * use Math.log / sin / cos / sqrt / pow. sqrt is exact in every engine; the
 * others are V8's fdlibm ports in Node and Chromium (bit-identical there).
 * Other engines may differ in the last f64 bit, which after rounding to f32
 * changes a value by one f32 ulp in rare cases. test/generate.test.ts pins
 * the first values of seed 1 so that any host can be checked.
 *
 * ## Streams
 *
 * `inputStream(seed, role, index)` = `new Prng(seed).fork(`${role}/${index}`)`:
 * calibration input k and test input k come from independent named streams,
 * and trial k is regenerated from (seed, role, k) alone, without drawing
 * trials 0..k-1 first (a resumed run needs exactly that). Weights come from
 * `weightStream(seed)` = fork 'weights'.
 *
 * ## Weights
 *
 * PyTorch's defaults: Conv2d `kaiming_uniform_(a = sqrt(5))`, i.e.
 * U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + 5)), so
 * b = 1 / sqrt(fan_in), fan_in = (in_channels / groups) * kh * kw = the
 * product of the OIHW weight's last three dimensions; the bias is U(-b, b)
 * with the same b. LSTM: every weight and bias U(-1/sqrt(H), 1/sqrt(H)).
 * Draw order: conv weight (OIHW flat order) then bias; LSTM weight_ih,
 * weight_hh, bias_ih, bias_hh (PyTorch's parameter order).
 *
 * Channel spread (real depthwise layers have channels 10-100x larger than
 * the rest, after batch norm folding): `count = ceil(fraction * channels)`
 * channels (none when fraction is 0) are chosen by a partial Fisher-Yates
 * shuffle on the Prng's fork 'channel-spread' (so the weight draws are the
 * same with or without a spread), and every value of those channels (weight
 * row and bias) becomes `f32(w * factor)` of its unspread f32 value w. A
 * channel is an output channel (axis 0 of OIHW) for convolutions and a gate
 * row (axis 0 of the [4H, I] / [4H, H] matrices, the paper's LSTM "node")
 * for the LSTM: the row of weight_ih, of weight_hh, and both biases.
 */
import { InputError } from '../errors.js';
import { f32, numElements, shapeToString, type Tensor } from '../tensor.js';
import { Prng } from './prng.js';

export type Distribution = 'uniform' | 'normal' | 'laplace' | 'student-t';
export const DISTRIBUTIONS: readonly Distribution[] = ['uniform', 'normal', 'laplace', 'student-t'];

/** Integer degrees of freedom up to this draw chi-square as a sum of squared normals; above, via Gamma. */
export const CHI2_SUM_MAX_DF = 100;
/** Laplace scale b giving unit variance (2 b^2 = 1). */
export const LAPLACE_UNIT_B = 1 / Math.SQRT2;
export const STUDENT_T_DEFAULT_NU = 3;

export interface SampleOptions {
  /** uniform only: the interval [lo, hi), default [-1, 1). */
  lo?: number;
  hi?: number;
  /** normal, laplace, student-t: location, default 0. */
  loc?: number;
  /**
   * normal: standard deviation (default 1); laplace: b (default 1/sqrt(2));
   * student-t: multiplier of T_nu (default sqrt((nu - 2)/nu) for nu > 2, else 1).
   */
  scale?: number;
  /** student-t only: degrees of freedom, default 3. */
  nu?: number;
}

function finiteOption(v: number | undefined, name: string, dflt: number): number {
  const x = v ?? dflt;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new InputError(`sample option ${name} must be a finite number, got ${v}`);
  return x;
}

function positiveOption(v: number | undefined, name: string, dflt: number): number {
  const x = finiteOption(v, name, dflt);
  if (!(x > 0)) throw new InputError(`sample option ${name} must be positive, got ${x}`);
  return x;
}

/** Gamma(shape, 1) by Marsaglia and Tsang; shape > 0. */
export function sampleGamma(p: Prng, shape: number): number {
  if (!(shape > 0 && Number.isFinite(shape))) throw new InputError(`gamma shape must be a positive finite number, got ${shape}`);
  if (shape < 1) {
    const g = sampleGamma(p, shape + 1);
    let u = 0;
    while (u === 0) u = p.next();
    return g * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = p.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = p.next();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Chi-square with nu degrees of freedom (see the module doc for the method). */
export function sampleChiSquare(p: Prng, nu: number): number {
  if (Number.isInteger(nu) && nu >= 1 && nu <= CHI2_SUM_MAX_DF) {
    let s = 0;
    for (let i = 0; i < nu; i++) {
      const z = p.normal();
      s += z * z;
    }
    return s;
  }
  return 2 * sampleGamma(p, nu / 2);
}

/** One draw; `o` already validated and defaulted. */
type Drawer = (p: Prng) => number;

function drawer(dist: Distribution, opts: SampleOptions): Drawer {
  switch (dist) {
    case 'uniform': {
      const lo = finiteOption(opts.lo, 'lo', -1);
      const hi = finiteOption(opts.hi, 'hi', 1);
      if (!(lo < hi)) throw new InputError(`uniform needs lo < hi, got [${lo}, ${hi}]`);
      return (p) => lo + (hi - lo) * p.next();
    }
    case 'normal': {
      const loc = finiteOption(opts.loc, 'loc', 0);
      const s = positiveOption(opts.scale, 'scale', 1);
      return (p) => loc + s * p.normal();
    }
    case 'laplace': {
      const loc = finiteOption(opts.loc, 'loc', 0);
      const b = positiveOption(opts.scale, 'scale', LAPLACE_UNIT_B);
      return (p) => {
        let u = 0;
        while (u === 0) u = p.next();
        return u < 0.5 ? loc + b * Math.log(2 * u) : loc - b * Math.log(2 - 2 * u);
      };
    }
    case 'student-t': {
      const nu = positiveOption(opts.nu, 'nu', STUDENT_T_DEFAULT_NU);
      const loc = finiteOption(opts.loc, 'loc', 0);
      const s = positiveOption(opts.scale, 'scale', studentTUnitScale(nu));
      return (p) => {
        const z = p.normal();
        const v = sampleChiSquare(p, nu);
        return loc + s * (z / Math.sqrt(v / nu));
      };
    }
    default:
      throw new InputError(`distribution must be one of ${DISTRIBUTIONS.join(', ')}, got ${JSON.stringify(dist)}`);
  }
}

/** The default Student-t scale: sqrt((nu - 2) / nu) for nu > 2 (unit variance), 1 otherwise. */
export function studentTUnitScale(nu: number): number {
  return nu > 2 ? Math.sqrt((nu - 2) / nu) : 1;
}

/**
 * `n` draws of `dist` as float32.
 *
 * @example sample(new Prng(1), 'student-t', 1000, { nu: 5 }) // unit variance, heavy tails
 */
export function sample(prng: Prng, dist: Distribution, n: number, opts: SampleOptions = {}): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new InputError(`sample count must be a non-negative integer, got ${n}`);
  return prng.fill(n, drawer(dist, opts));
}

export type InputRole = 'calibration' | 'test';
export const INPUT_ROLES: readonly InputRole[] = ['calibration', 'test'];

/**
 * The stream of input `index` of `role`: `new Prng(seed).fork(`${role}/${index}`)`.
 *
 * @example sample(inputStream(1, 'test', 7), 'normal', 224 * 224) // trial 7's input, whatever ran before
 */
export function inputStream(seed: number, role: InputRole, index: number): Prng {
  if (!INPUT_ROLES.includes(role)) throw new InputError(`input role must be one of ${INPUT_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  if (!Number.isInteger(index) || index < 0) throw new InputError(`input index must be a non-negative integer, got ${index}`);
  if (!Number.isInteger(seed)) throw new InputError(`seed must be an integer, got ${seed}`);
  return new Prng(seed).fork(`${role}/${index}`);
}

/** The stream the layer's weights come from: fork 'weights' of the seed. */
export function weightStream(seed: number): Prng {
  if (!Number.isInteger(seed)) throw new InputError(`seed must be an integer, got ${seed}`);
  return new Prng(seed).fork('weights');
}

/**
 * Input `index` of `role` as a float32 tensor of `shape`.
 *
 * @example generateInput(1, 'calibration', 0, [1, 3, 224, 224], 'normal')
 */
export function generateInput(
  seed: number, role: InputRole, index: number, shape: readonly number[], dist: Distribution, opts: SampleOptions = {},
): Tensor {
  return f32(shape, sample(inputStream(seed, role, index), dist, numElements(shape), opts));
}

export interface ChannelSpread {
  /** Fraction of channels to enlarge, in [0, 1]; ceil(fraction * channels) are chosen. */
  fraction: number;
  /** Multiplier of the chosen channels, positive and finite (e.g. 30). */
  factor: number;
}

export interface ConvWeightOptions {
  /** Only PyTorch's Conv2d default for now. */
  init?: 'kaiming-uniform';
  channelSpread?: ChannelSpread;
}

export interface LstmWeightOptions {
  channelSpread?: ChannelSpread;
}

function checkSpread(s: ChannelSpread | undefined): void {
  if (s === undefined) return;
  if (!(typeof s.fraction === 'number' && s.fraction >= 0 && s.fraction <= 1)) {
    throw new InputError(`channelSpread.fraction must be in [0, 1], got ${s.fraction}`);
  }
  if (!(typeof s.factor === 'number' && s.factor > 0 && Number.isFinite(s.factor))) {
    throw new InputError(`channelSpread.factor must be a positive finite number, got ${s.factor}`);
  }
}

/** The channels a spread enlarges, ascending (see the module doc). */
export function spreadChannels(prng: Prng, channels: number, spread: ChannelSpread | undefined): number[] {
  checkSpread(spread);
  if (!spread || spread.fraction === 0) return [];
  const count = Math.min(channels, Math.ceil(spread.fraction * channels));
  const p = prng.fork('channel-spread');
  const idx = Array.from({ length: channels }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = p.int(i, channels - 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count).sort((a, b) => a - b);
}

/** Multiply every value of the given rows (leading-axis slices of `rowLen` values) by `factor`, in f32. */
function scaleRows(data: Float32Array, rowLen: number, rows: readonly number[], factor: number): void {
  for (const r of rows) {
    for (let i = r * rowLen; i < (r + 1) * rowLen; i++) data[i] = data[i] * factor; // Float32Array store = f32 rounding
  }
}

/**
 * Conv2d / depthwise weights (OIHW) and bias with PyTorch's default init.
 *
 * @example randomConvWeights(weightStream(1), [16, 1, 3, 3], { channelSpread: { fraction: 0.1, factor: 30 } })
 */
export function randomConvWeights(
  prng: Prng, shape: readonly number[], opts: ConvWeightOptions = {},
): { weight: Tensor; bias: Tensor; spreadChannels: number[] } {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new InputError(`conv weight shape must be OIHW with positive dimensions, got ${shapeToString(shape)}`);
  }
  const init = opts.init ?? 'kaiming-uniform';
  if (init !== 'kaiming-uniform') throw new InputError(`conv weight init must be 'kaiming-uniform', got ${JSON.stringify(init)}`);
  checkSpread(opts.channelSpread);
  const [o, i, kh, kw] = shape;
  const fanIn = i * kh * kw;
  const b = 1 / Math.sqrt(fanIn);
  const weight = sample(prng, 'uniform', o * fanIn, { lo: -b, hi: b });
  const bias = sample(prng, 'uniform', o, { lo: -b, hi: b });
  const planted = spreadChannels(prng, o, opts.channelSpread);
  if (planted.length > 0) {
    scaleRows(weight, fanIn, planted, opts.channelSpread!.factor);
    scaleRows(bias, 1, planted, opts.channelSpread!.factor);
  }
  return { weight: f32(shape, weight), bias: f32([o], bias), spreadChannels: planted };
}

/**
 * LSTM weights with PyTorch's default init: weight_ih [4H, I], weight_hh
 * [4H, H], bias_ih and bias_hh [4H], all U(-1/sqrt(H), 1/sqrt(H)). Gate
 * order i, f, g, o along the 4H rows (PyTorch's).
 */
export function randomLstmWeights(
  prng: Prng, inputSize: number, hiddenSize: number, opts: LstmWeightOptions = {},
): { weightIh: Tensor; weightHh: Tensor; biasIh: Tensor; biasHh: Tensor; spreadChannels: number[] } {
  for (const [v, name] of [[inputSize, 'input size'], [hiddenSize, 'hidden size']] as const) {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`LSTM ${name} must be a positive integer, got ${v}`);
  }
  checkSpread(opts.channelSpread);
  const h = hiddenSize;
  const k = 1 / Math.sqrt(h);
  const u = { lo: -k, hi: k };
  const wIh = sample(prng, 'uniform', 4 * h * inputSize, u);
  const wHh = sample(prng, 'uniform', 4 * h * h, u);
  const bIh = sample(prng, 'uniform', 4 * h, u);
  const bHh = sample(prng, 'uniform', 4 * h, u);
  const planted = spreadChannels(prng, 4 * h, opts.channelSpread);
  if (planted.length > 0) {
    const f = opts.channelSpread!.factor;
    scaleRows(wIh, inputSize, planted, f);
    scaleRows(wHh, h, planted, f);
    scaleRows(bIh, 1, planted, f);
    scaleRows(bHh, 1, planted, f);
  }
  return {
    weightIh: f32([4 * h, inputSize], wIh),
    weightHh: f32([4 * h, h], wHh),
    biasIh: f32([4 * h], bIh),
    biasHh: f32([4 * h], bHh),
    spreadChannels: planted,
  };
}
