/**
 * ONNX Conv and LSTM nodes -> the engine's layers (src/run/engine.ts Layer).
 *
 * Conv: ONNX weights are [Cout, Cin/group, k...], PyTorch's OIHW. A 1-D
 * convolution (weight [Cout, Cin, k], input [N, C, L]) is the 2-D
 * convolution of a 1 x L image with a 1 x k kernel (stride, dilation and
 * padding 1 / 0 along the added axis): the same sums in the same order, so
 * it is measured as that. ONNX pads are [x1_begin, x2_begin, x1_end, x2_end],
 * i.e. [top, left, bottom, right] in 2-D, the order of conv-geometry.ts.
 *
 * LSTM: ONNX stacks the gates i, o, f, c (W [dirs, 4H, I], R [dirs, 4H, H],
 * B [dirs, 8H] = Wb then Rb); the engine uses PyTorch's i, f, g, o with g = c.
 * Rows are moved, never recomputed: torch block 0 = onnx 0 (i), 1 = onnx 2
 * (f), 2 = onnx 3 (c), 3 = onnx 1 (o).
 */
import type { Conv2dOptions } from '../layers/conv-geometry.js';
import { f32, type Tensor } from '../tensor.js';
import { autoPads, pooledSize } from './shapes.js';

/** For each PyTorch gate block (i, f, g, o), the ONNX block (i, o, f, c) it comes from. */
export const TORCH_FROM_ONNX_GATE = [0, 2, 3, 1] as const;

/** Rows [4H, cols] in ONNX gate order -> PyTorch gate order. */
export function reorderGates(src: Float32Array, hidden: number, cols: number): Float32Array {
  const out = new Float32Array(4 * hidden * cols);
  const block = hidden * cols;
  for (let g = 0; g < 4; g++) out.set(src.subarray(TORCH_FROM_ONNX_GATE[g] * block, (TORCH_FROM_ONNX_GATE[g] + 1) * block), g * block);
  return out;
}

/** One direction `d` of an ONNX LSTM's W, R and optional B, in the engine's layout. */
export function lstmDirection(w: Tensor, r: Tensor, b: Tensor | undefined, d: number): { weightIh: Tensor; weightHh: Tensor; biasIh?: Tensor; biasHh?: Tensor } {
  const [, rows, inputSize] = w.shape;
  const hidden = rows / 4;
  const wd = w.data.subarray(d * rows * inputSize, (d + 1) * rows * inputSize);
  const rd = r.data.subarray(d * rows * hidden, (d + 1) * rows * hidden);
  const out: { weightIh: Tensor; weightHh: Tensor; biasIh?: Tensor; biasHh?: Tensor } = {
    weightIh: f32([rows, inputSize], reorderGates(wd, hidden, inputSize)),
    weightHh: f32([rows, hidden], reorderGates(rd, hidden, hidden)),
  };
  if (b) {
    const bd = b.data.subarray(d * 2 * rows, (d + 1) * 2 * rows);
    out.biasIh = f32([rows], reorderGates(bd.subarray(0, rows), hidden, 1));
    out.biasHh = f32([rows], reorderGates(bd.subarray(rows), hidden, 1));
  }
  return out;
}

/** The geometry attributes of a Conv node, checked (see src/model/graph.ts). */
export interface ConvSpec {
  /** 1 or 2 spatial dimensions. */
  spatial: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  /** The `pads` attribute (NOTSET only), ONNX order [begins..., ends...]. */
  explicitPads: number[];
}

/** ONNX pads [begins..., ends...] for an input's spatial size. */
export function resolvePads(spec: ConvSpec, spatialIn: readonly number[]): number[] {
  const n = spec.spatial;
  if (spec.autoPad === 'NOTSET') return spec.explicitPads;
  if (spec.autoPad === 'VALID') return new Array<number>(2 * n).fill(0);
  const pads = new Array<number>(2 * n).fill(0);
  for (let i = 0; i < n; i++) [pads[i], pads[i + n]] = autoPads(spec.autoPad, spatialIn[i], spec.kernel[i], spec.strides[i], spec.dilations[i]);
  return pads;
}

/** Output spatial size of the conv for an input's spatial size. */
export function convOutputSpatial(spec: ConvSpec, spatialIn: readonly number[]): number[] {
  const pads = resolvePads(spec, spatialIn);
  const n = spec.spatial;
  return spatialIn.map((d, i) => pooledSize(d, spec.kernel[i], spec.strides[i], spec.dilations[i], pads[i], pads[i + n]));
}

/** The engine's input shape [1, C, H, W] for an ONNX conv input [N, C, ...spatial] (1-D: H = 1). */
export function engineConvInputShape(onnxShape: readonly number[]): number[] {
  return onnxShape.length === 3 ? [1, onnxShape[1], 1, onnxShape[2]] : [1, onnxShape[1], onnxShape[2], onnxShape[3]];
}

/** 2-D options (stride, dilation, [top, left, bottom, right]) for an input's spatial size. */
export function engineConvOptions(spec: ConvSpec, spatialIn: readonly number[]): Conv2dOptions & { padding: [number, number, number, number] } {
  const p = resolvePads(spec, spatialIn);
  if (spec.spatial === 1) {
    return { stride: [1, spec.strides[0]], dilation: [1, spec.dilations[0]], padding: [0, p[0], 0, p[1]] };
  }
  return { stride: [spec.strides[0], spec.strides[1]], dilation: [spec.dilations[0], spec.dilations[1]], padding: [p[0], p[1], p[2], p[3]] };
}

/** A conv weight in OIHW: 1-D [Cout, Cin, k] gets kh = 1 (the same data). */
export function engineConvWeight(w: Tensor): Tensor {
  return w.shape.length === 3 ? f32([w.shape[0], w.shape[1], 1, w.shape[2]], w.data) : w;
}

/**
 * Fold an inference BatchNormalization y = scale (x - mean) / sqrt(var + eps) + beta
 * into the conv before it, per output channel c (in f64, rounded once to f32):
 *     k_c = scale_c / sqrt(var_c + eps),  w'_c = k_c w_c,  b'_c = k_c (b_c - mean_c) + beta_c.
 */
export function foldBatchNorm(
  weight: Tensor,
  bias: Tensor | undefined,
  bn: { scale: Tensor; beta: Tensor; mean: Tensor; variance: Tensor; epsilon: number },
): { weight: Tensor; bias: Tensor } {
  const cout = weight.shape[0];
  const per = weight.data.length / cout;
  const w = new Float32Array(weight.data.length);
  const b = new Float32Array(cout);
  for (let c = 0; c < cout; c++) {
    const k = bn.scale.data[c] / Math.sqrt(bn.variance.data[c] + bn.epsilon);
    for (let i = 0; i < per; i++) w[c * per + i] = weight.data[c * per + i] * k;
    b[c] = k * ((bias ? bias.data[c] : 0) - bn.mean.data[c]) + bn.beta.data[c];
  }
  return { weight: f32(weight.shape, w), bias: f32([cout], b) };
}
