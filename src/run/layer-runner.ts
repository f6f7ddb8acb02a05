/**
 * One layer, three ways: calibrate it (observe its input and fp32 output
 * ranges), prepare its quantized form (the plan, and in fake-quant mode the
 * fake-quantized weights), and run it fp32 or quantized on an engine. The
 * experiment (one layer, many trials) and the depth sweep (a stack of layers)
 * are both built from these steps.
 */
import { createObserver } from '../calibrate/observers.js';
import { convGeometry } from '../layers/conv-geometry.js';
import type { LstmInputs } from '../layers/lstm-shape.js';
import { intConvSpec, planConvQuant, type ConvQuantPlan, type Range } from '../quant/layer.js';
import { intLstmSpec, planLstmQuant, type IntLstmResult, type LstmQuantPlan } from '../quant/lstm-layer.js';
import { effectiveRange, type QuantDType, type QuantParams } from '../quant/scheme.js';
import { tensor, type Tensor } from '../tensor.js';
import type { RunConfig } from './config.js';
import type { Engine, Layer } from './engine.js';

export type ConvLayer = Extract<Layer, { kind: 'conv2d' | 'depthwise' }>;
export type LstmLayer = Extract<Layer, { kind: 'lstm' }>;

/** The channel axis of a layer output: NCHW's C, or the hidden unit of an LSTM output [T, H]. */
export const OUTPUT_CHANNEL_AXIS = 1;

export interface CalibratedRanges {
  /** The layer input, one slice. */
  input: Range;
  /** The fp32 output, per channel. */
  output: Range;
}

/** A layer with everything its quantized run needs. */
export interface PreparedLayer {
  layer: Layer;
  conv?: ConvQuantPlan;
  lstm?: LstmQuantPlan;
  input: QuantParams;
  output: QuantParams;
  /** Fake-quant mode: the layer with quantized-dequantized weights. */
  fake?: Layer;
}

/** Integer tensors of one quantized run (for dumps). */
export interface IntegerDetail {
  inputQ: Tensor<QuantDType>;
  outputQ: Tensor<QuantDType>;
  conv?: { acc: BigInt64Array };
  lstm?: IntLstmResult;
}

export function lstmArgs(layer: LstmLayer, input: Tensor): LstmInputs {
  return { input, weightIh: layer.weightIh, weightHh: layer.weightHh, biasIh: layer.biasIh, biasHh: layer.biasHh };
}

/** The fp32 output of a layer. */
export async function forwardFp32(engine: Engine, layer: Layer, x: Tensor): Promise<Tensor> {
  return layer.kind === 'lstm' ? (await engine.lstm(lstmArgs(layer, x))).output : engine.conv(layer, x);
}

/**
 * Observe a layer's input and fp32 output over calibration inputs. The
 * min-max observer runs on the engine (a GPU reduction pass on the GPU
 * engine); the percentile and MSE observers on the CPU.
 */
export async function calibrateLayer(engine: Engine, layer: Layer, cfg: RunConfig, inputs: (k: number) => Tensor): Promise<CalibratedRanges> {
  const opts = { scheme: cfg.scheme, scaleType: cfg.scaleType, rounding: cfg.rounding, percentile: cfg.percentile };
  const inObs = createObserver(cfg.observer, { ...opts, name: 'layer input' });
  const outObs = createObserver(cfg.observer, { ...opts, name: 'layer output' });
  const onEngine = cfg.observer === 'minmax';
  let input: Range | undefined;
  let output: Range | undefined;
  const merge = (acc: Range | undefined, r: Range): Range =>
    acc ? { lo: acc.lo.map((v, i) => Math.min(v, r.lo[i])), hi: acc.hi.map((v, i) => Math.max(v, r.hi[i])) } : r;
  for (let k = 0; k < cfg.calib; k++) {
    const x = inputs(k);
    const y = await forwardFp32(engine, layer, x);
    if (onEngine) {
      input = merge(input, await engine.minMax(x, null));
      output = merge(output, await engine.minMax(y, OUTPUT_CHANNEL_AXIS));
    } else {
      inObs.observe(x, null);
      outObs.observe(y, OUTPUT_CHANNEL_AXIS);
    }
  }
  return onEngine ? { input: input!, output: output! } : { input: inObs.range(), output: outObs.range() };
}

/** Plan the quantized layer from its calibrated ranges (and fake-quantize its weights in fake mode). */
export async function prepareLayer(engine: Engine, layer: Layer, ranges: CalibratedRanges, cfg: RunConfig): Promise<PreparedLayer> {
  const qc = { scheme: cfg.scheme, scaleType: cfg.scaleType, granularity: cfg.granularity, rounding: cfg.rounding };
  const fakeQuant = async (t: Tensor, p: QuantParams) => engine.dequantize(await engine.quantize(t, p), p);
  if (layer.kind === 'lstm') {
    // h is the LSTM's output sequence: its calibrated range is the output range, merged per tensor.
    const hidden: Range = { lo: [Math.min(...ranges.output.lo)], hi: [Math.max(...ranges.output.hi)] };
    const plan = planLstmQuant(layer, { input: ranges.input, hidden }, qc);
    const fake: Layer | undefined =
      cfg.mode === 'fake' ? { ...layer, weightIh: await fakeQuant(layer.weightIh, plan.weightIh), weightHh: await fakeQuant(layer.weightHh, plan.weightHh) } : undefined;
    return { layer, lstm: plan, input: plan.input, output: plan.hidden, fake };
  }
  const plan = planConvQuant(layer.weight, layer.bias, ranges.input, ranges.output, qc);
  const fake: Layer | undefined = cfg.mode === 'fake' ? { ...layer, weight: await fakeQuant(layer.weight, plan.weight) } : undefined;
  return { layer, conv: plan, input: plan.input, output: plan.output, fake };
}

export function asQuantTensor(shape: readonly number[], q: Int32Array, p: QuantParams): Tensor<QuantDType> {
  return tensor(p.dtype, shape, (p.dtype === 'uint8' ? Uint8Array.from(q) : Int16Array.from(q)) as Uint8Array & Int16Array);
}

/**
 * The quantized layer's output, brought back to reals. Integer mode runs the
 * integer kernels; fake mode quantizes and dequantizes the input, runs the
 * fp32 layer on fake-quantized weights, and fake-quantizes the output.
 * `withAcc` also returns a conv's exact accumulators (for dumps).
 */
export async function forwardQuantized(engine: Engine, p: PreparedLayer, x: Tensor, withAcc = false): Promise<{ approx: Tensor; integer?: IntegerDetail }> {
  const xq = await engine.quantize(x, p.input);
  if (p.fake) {
    const y = await forwardFp32(engine, p.fake, await engine.dequantize(xq, p.input));
    return { approx: await engine.dequantize(await engine.quantize(y, p.output), p.output) };
  }
  if (p.lstm) {
    const r = await engine.lstmInt(intLstmSpec(p.lstm, Int32Array.from(xq.data)));
    const outputQ = asQuantTensor([x.shape[0], p.lstm.hiddenSize], r.hq, p.output);
    return { approx: await engine.dequantize(outputQ, p.output), integer: { inputQ: xq, outputQ, lstm: r } };
  }
  const layer = p.layer as ConvLayer;
  const [cout, , kh, kw] = layer.weight.shape;
  const g = convGeometry(x.shape[1], cout, x.shape[2], x.shape[3], kh, kw, layer.opts);
  const r = await engine.convInt(intConvSpec(p.conv!, g, layer.kind === 'depthwise', Int32Array.from(xq.data)), withAcc);
  const outputQ = asQuantTensor([1, cout, g.outHeight, g.outWidth], r.q, p.output);
  return { approx: await engine.dequantize(outputQ, p.output), integer: { inputQ: xq, outputQ, conv: r.acc ? { acc: r.acc } : undefined } };
}

/** The calibrated representable range of each output channel, for clip attribution. */
export function representableRange(p: QuantParams, channels: number): Range {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let c = 0; c < channels; c++) {
    const r = effectiveRange(p, p.scale.length === 1 ? 0 : c);
    lo.push(r.lo);
    hi.push(r.hi);
  }
  return { lo, hi };
}

export function perChannelScale(p: QuantParams, channels: number): number[] {
  return Array.from({ length: channels }, (_, c) => p.scale[p.scale.length === 1 ? 0 : c]);
}

/** Metrics options for comparing a layer's fp32 and quantized outputs. */
export function metricsOptionsFor(p: PreparedLayer, channels: number) {
  return { outputRange: representableRange(p.output, channels), outputScale: perChannelScale(p.output, channels), channelAxis: OUTPUT_CHANNEL_AXIS };
}
