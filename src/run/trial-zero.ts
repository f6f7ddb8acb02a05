/**
 * Trial 0, in full: every tensor a numpy user needs to recompute it, and
 * params.json (quantization parameters, requantization constants, layer
 * geometry). Written to disk by src/run/dump.ts.
 */
import { convGeometry } from '../layers/conv-geometry.js';
import type { ConvQuantPlan } from '../quant/layer.js';
import type { LstmQuantPlan } from '../quant/lstm-layer.js';
import { toJson, type QuantDType, type QuantParams, type QuantParamsJson } from '../quant/scheme.js';
import { tensor, type Tensor } from '../tensor.js';
import type { RunConfig } from './config.js';
import type { Layer } from './engine.js';
import { asQuantTensor, type IntegerDetail, type PreparedLayer } from './layer-runner.js';

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

export interface RequantJson {
  rule: string;
  multiplier: number[];
  shift: number[];
}

/** params.json: every quantized tensor's parameters, the requantization constants, and the layer geometry. */
export interface ParamsDocument {
  scheme: string;
  rounding: string;
  mode: string;
  layer: Record<string, unknown>;
  tensors: Record<string, QuantParamsJson | { dtype: string; axis: number; scale: number[]; zero_point: number[] }>;
  requant: RequantJson | Record<string, RequantJson>;
}

function biasTensor(scheme: string, values: BigInt64Array): Tensor<'int32' | 'int64'> {
  return scheme === 'q8' ? tensor('int32', [values.length], Int32Array.from(values, (v) => Number(v))) : tensor('int64', [values.length], values);
}

/** Scale of an integer bias: s_in * s_w[c] per channel (f64), zero point 0. */
function biasParamsJson(input: QuantParams, weight: QuantParams, channels: number, scheme: string) {
  const scale = Array.from({ length: channels }, (_, c) => input.scale[0] * weight.scale[weight.scale.length === 1 ? 0 : c]);
  return { dtype: scheme === 'q8' ? 'int32' : 'int64', axis: 0, scale, zero_point: new Array<number>(channels).fill(0) };
}

/** The layer's geometry, resolved: explicit pads [top, left, bottom, right] whatever padding rule produced them. */
function layerJson(layer: Layer, inputShape: readonly number[]): Record<string, unknown> {
  if (layer.kind === 'lstm') {
    return { module: 'lstm', gate_order: 'i,f,g,o', hidden_size: layer.weightHh.shape[1], input_size: layer.weightIh.shape[1] };
  }
  const [cout, , kh, kw] = layer.weight.shape;
  const g = convGeometry(inputShape[1], cout, inputShape[2], inputShape[3], kh, kw, layer.opts);
  return {
    module: layer.kind,
    groups: layer.kind === 'depthwise' ? cout : 1,
    stride: [g.strideH, g.strideW],
    dilation: [g.dilationH, g.dilationW],
    pads: [g.padTop, g.padLeft, g.padBottom, g.padRight],
  };
}

function integerTensors(p: PreparedLayer, d: IntegerDetail): TrialZero['integer'] {
  const scheme = p.input.scheme;
  if (p.lstm) {
    const plan: LstmQuantPlan = p.lstm;
    const H = plan.hiddenSize;
    const r = d.lstm!;
    return {
      input: d.inputQ,
      weights: {
        weight_ih: asQuantTensor([4 * H, plan.inputSize], plan.weightIhQ, plan.weightIh),
        weight_hh: asQuantTensor([4 * H, H], plan.weightHhQ, plan.weightHh),
      },
      biases: { bias: biasTensor(scheme, plan.biasQ) },
      // The last step's accumulators: row 0 the input side (bias included), row 1 the recurrent side.
      acc: scheme === 'q8'
        ? tensor('int32', [2, 4 * H], Int32Array.from([...r.accX, ...r.accH], (v) => Number(v)))
        : tensor('int64', [2, 4 * H], BigInt64Array.from([...r.accX, ...r.accH])),
      output: d.outputQ,
    };
  }
  const plan: ConvQuantPlan = p.conv!;
  const w = (p.layer as Extract<Layer, { kind: 'conv2d' | 'depthwise' }>).weight;
  const acc = d.conv!.acc;
  return {
    input: d.inputQ,
    weights: { weight: asQuantTensor(w.shape, plan.weightQ, plan.weight) },
    biases: { bias: biasTensor(scheme, plan.biasQ) },
    acc: scheme === 'q8' ? tensor('int32', d.outputQ.shape, Int32Array.from(acc, (v) => Number(v))) : tensor('int64', d.outputQ.shape, acc),
    output: d.outputQ,
  };
}

export function paramsDocument(cfg: RunConfig, p: PreparedLayer, inputShape: readonly number[]): ParamsDocument {
  const common = { scheme: cfg.scheme, rounding: cfg.rounding, mode: cfg.mode, layer: layerJson(p.layer, inputShape) };
  if (p.conv) {
    const c = p.conv;
    return {
      ...common,
      tensors: { input: toJson(c.input), weight: toJson(c.weight), bias: biasParamsJson(c.input, c.weight, c.biasQ.length, cfg.scheme), output: toJson(c.output) },
      requant: { rule: c.rule, multiplier: Array.from(c.multiplier), shift: Array.from(c.shift) },
    };
  }
  const l = p.lstm!;
  return {
    ...common,
    tensors: {
      input: toJson(l.input),
      hidden: toJson(l.hidden),
      weight_ih: toJson(l.weightIh),
      weight_hh: toJson(l.weightHh),
      bias: biasParamsJson(l.input, l.weightIh, l.biasQ.length, cfg.scheme),
    },
    requant: {
      gate_x: { rule: l.rule, multiplier: Array.from(l.gateMultiplierX), shift: Array.from(l.gateShiftX) },
      gate_h: { rule: l.rule, multiplier: Array.from(l.gateMultiplierH), shift: Array.from(l.gateShiftH) },
      output: { rule: l.rule, multiplier: [l.outMultiplier], shift: [l.outShift] },
    },
  };
}

export function trialZero(cfg: RunConfig, p: PreparedLayer, input: Tensor, outputFp32: Tensor, outputDequant: Tensor, d?: IntegerDetail): TrialZero {
  return { layer: p.layer, input, outputFp32, outputDequant, integer: d ? integerTensors(p, d) : undefined, params: paramsDocument(cfg, p, input.shape) };
}
