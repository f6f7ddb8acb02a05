/**
 * From a float conv2d / depthwise layer and calibrated ranges to its integer
 * form (the README's "Numerics" section restates these rules):
 *
 * - input: quantized per tensor (one scale, one zero point);
 * - weights: per output channel (granularity 'channel') or per tensor, from
 *   the weights' own min / max;
 * - output: per channel (axis 1 of NCHW) or per tensor, from the calibrated
 *   range of the fp32 output;
 * - bias: int at scale s_in * s_w[co], zero point 0:
 *   b_q = round(b / (s_in * s_w[co])) with the configured rounding, the
 *   quotient in f64 (s_in * s_w is exact in f64); it must fit int32 (Q8) or
 *   |b_q| < 2^53 (Q16), else InputError;
 * - requantization (src/quant/requant.ts):
 *   Q8 (either scale type): gemmlowp multiplier (m0, shift) = quantizeMultiplier(s_in s_w / s_out);
 *   Q16 pow2: a rounding shift by f_in + f_w - f_out, clamped to [-63, 62]
 *     (beyond 62 every |acc| < 2^53 rounds to 0 anyway);
 *   Q16 linear: quantizeMultiplier(s_in s_w / s_out) applied as requantLinear64.
 */
import { InputError } from '../errors.js';
import type { ConvGeometry } from '../layers/conv-geometry.js';
import type { IntConvSpec, RequantRule } from '../layers/int-conv-spec.js';
import type { Tensor } from '../tensor.js';
import { quantizeMultiplier, rounder, type RoundingMode } from './rounding.js';
import { quantParamsFromRanges, quantizeTensor, type Granularity, type QuantParams, type ScaleType, type Scheme } from './scheme.js';

/** What a user chooses about quantization. */
export interface QuantConfig {
  scheme: Scheme;
  /** Default: linear for q8, pow2 for q16. */
  scaleType?: ScaleType;
  /** Granularity of weights and outputs (inputs are always per tensor). Default 'channel'. */
  granularity?: Granularity;
  /** Default 'half_even'. */
  rounding?: RoundingMode;
}

export interface Range {
  lo: number[];
  hi: number[];
}

/** The integer form of one conv layer, independent of its input. */
export interface ConvQuantPlan {
  config: Required<QuantConfig>;
  input: QuantParams;
  weight: QuantParams;
  output: QuantParams;
  /** Quantized weights (uint8 / int16 values as Int32Array), OIHW. */
  weightQ: Int32Array;
  /** Per output channel, at scale s_in * s_w[co]. */
  biasQ: BigInt64Array;
  rule: RequantRule;
  multiplier: Int32Array;
  shift: Int32Array;
}

export function resolveQuantConfig(c: QuantConfig): Required<QuantConfig> {
  const granularity = c.granularity ?? 'channel';
  if (granularity !== 'channel' && granularity !== 'tensor') {
    throw new InputError(`granularity must be 'channel' or 'tensor', got ${JSON.stringify(granularity)}`);
  }
  return {
    scheme: c.scheme,
    scaleType: c.scaleType ?? (c.scheme === 'q8' ? 'linear' : 'pow2'),
    granularity,
    rounding: c.rounding ?? 'half_even',
  };
}

/** Per-slice min / max of a tensor along `axis` (null: whole tensor). */
export function tensorRange(t: Tensor, axis: number | null): Range {
  const shape = t.shape;
  const channels = axis === null ? 1 : shape[axis];
  let inner = 1;
  if (axis !== null) for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  else inner = t.data.length;
  const lo = new Array<number>(channels).fill(Infinity);
  const hi = new Array<number>(channels).fill(-Infinity);
  for (let i = 0; i < t.data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = t.data[i];
    if (v < lo[c]) lo[c] = v;
    if (v > hi[c]) hi[c] = v;
  }
  return { lo, hi };
}

/** Collapse per-channel ranges to one per-tensor range. */
export function mergeRange(r: Range): Range {
  return { lo: [Math.min(...r.lo)], hi: [Math.max(...r.hi)] };
}

/** Per-slice value `v[c]` of params with one or `n` slices, broadcast to `n` channels. */
function perChannel<T>(n: number, slices: number, at: (s: number) => T): T[] {
  return Array.from({ length: n }, (_, c) => at(slices === 1 ? 0 : c));
}

/**
 * Plan the integer form of a conv layer.
 *
 * @param weight OIHW float weights (depthwise: [C, 1, kh, kw])
 * @param bias [Cout] or undefined
 * @param inputRange calibrated range of the layer input (one slice)
 * @param outputRange calibrated per-channel range of the fp32 output (Cout slices)
 */
export function planConvQuant(weight: Tensor, bias: Tensor | undefined, inputRange: Range, outputRange: Range, config: QuantConfig): ConvQuantPlan {
  const cfg = resolveQuantConfig(config);
  const opts = { scheme: cfg.scheme, scaleType: cfg.scaleType, rounding: cfg.rounding };
  const cout = weight.shape[0];
  const perTensor = cfg.granularity === 'tensor';
  const input = quantParamsFromRanges(inputRange.lo.length === 1 ? inputRange : mergeRange(inputRange), null, opts, 'layer input');
  const wRange = tensorRange(weight, perTensor ? null : 0);
  const weightParams = quantParamsFromRanges(wRange, perTensor ? null : 0, opts, 'weight');
  const oRange = perTensor ? mergeRange(outputRange) : outputRange;
  if (!perTensor && oRange.lo.length !== cout) {
    throw new InputError(`output range has ${oRange.lo.length} channels, the layer has ${cout} output channels`);
  }
  const output = quantParamsFromRanges(oRange, perTensor ? null : 1, opts, 'layer output');
  const weightQ = Int32Array.from(quantizeTensor(weight, weightParams, 'weight').data);

  const sIn = input.scale[0];
  const sW = perChannel(cout, weightParams.scale.length, (s) => weightParams.scale[s]);
  const sOut = perChannel(cout, output.scale.length, (s) => output.scale[s]);
  const round = rounder(cfg.rounding);
  const biasLimit = cfg.scheme === 'q8' ? 2 ** 31 : 2 ** 53;
  const biasQ = new BigInt64Array(cout);
  for (let co = 0; co < cout; co++) {
    if (!bias) continue;
    const v = round(bias.data[co] / (sIn * sW[co]));
    if (!(Math.abs(v) < biasLimit) || (cfg.scheme === 'q8' && v === -(2 ** 31))) {
      throw new InputError(
        `bias[${co}] = ${bias.data[co]} is ${v} steps of s_in * s_w = ${sIn * sW[co]}, beyond the ` +
          `${cfg.scheme === 'q8' ? 'int32' : '2^53'} bias; the input or weight range is far too narrow for this bias`,
      );
    }
    biasQ[co] = BigInt(v);
  }

  const multiplier = new Int32Array(cout);
  const shift = new Int32Array(cout);
  let rule: RequantRule;
  if (cfg.scheme === 'q16' && cfg.scaleType === 'pow2') {
    rule = 'pow2';
    const fIn = input.fracBits![0];
    const fW = perChannel(cout, weightParams.fracBits!.length, (s) => weightParams.fracBits![s]);
    const fOut = perChannel(cout, output.fracBits!.length, (s) => output.fracBits![s]);
    for (let co = 0; co < cout; co++) shift[co] = Math.min(Math.max(fIn + fW[co] - fOut[co], -63), 62);
  } else {
    rule = cfg.scheme === 'q8' ? 'gemmlowp' : 'linear64';
    for (let co = 0; co < cout; co++) {
      const m = quantizeMultiplier((sIn * sW[co]) / sOut[co]);
      multiplier[co] = m.multiplier;
      shift[co] = m.shift;
    }
  }
  return { config: cfg, input, weight: weightParams, output, weightQ, biasQ, rule, multiplier, shift };
}

/** The IntConvSpec for one quantized input (uint8 / int16 values, CHW). */
export function intConvSpec(plan: ConvQuantPlan, geometry: ConvGeometry, depthwise: boolean, inputQ: Int32Array): IntConvSpec {
  const cout = geometry.outChannels;
  const w = plan.weight;
  const o = plan.output;
  return {
    bits: plan.config.scheme === 'q8' ? 8 : 16,
    geometry,
    depthwise,
    input: inputQ,
    inputZero: plan.input.zeroPoint[0],
    weight: plan.weightQ,
    weightZero: Int32Array.from(perChannel(cout, w.zeroPoint.length, (s) => w.zeroPoint[s])),
    bias: plan.biasQ,
    rule: plan.rule,
    multiplier: plan.multiplier,
    shift: plan.shift,
    outZero: Int32Array.from(perChannel(cout, o.zeroPoint.length, (s) => o.zeroPoint[s])),
    qmin: o.qmin,
    qmax: o.qmax,
    rounding: plan.config.rounding,
  };
}
