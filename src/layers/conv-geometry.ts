/**
 * Convolution geometry: options, validation and output size. Shared by the
 * CPU reference and the GPU kernels (it is shape arithmetic, not numerics).
 *
 * Padding rules:
 * - `'valid'`: no padding.
 * - `'same'`: output size `ceil(in / stride)`; the total padding
 *   `max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)` is split with
 *   the odd pixel at the bottom / right, as TensorFlow's SAME and ONNX's
 *   SAME_UPPER do (PyTorch's `padding='same'` agrees for stride 1).
 * - a number `p`: `p` on every side; `[top, left, bottom, right]`: explicit.
 */
import { InputError } from '../errors.js';
import { checkFinite, checkRank, shapeToString, type Tensor } from '../tensor.js';

export type Padding = 'same' | 'valid' | number | readonly [number, number, number, number];

export interface Conv2dOptions {
  /** Stride, one number for both axes or [strideH, strideW]. Default 1. */
  stride?: number | readonly [number, number];
  /** Padding rule (see module doc). Default 'valid'. */
  padding?: Padding;
  /** Dilation, one number or [dilationH, dilationW]. Default 1. */
  dilation?: number | readonly [number, number];
}

/** Everything a kernel needs to index a 2-D convolution, fully resolved. */
export interface ConvGeometry {
  inChannels: number;
  outChannels: number;
  inHeight: number;
  inWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  outHeight: number;
  outWidth: number;
}

function pair(v: number | readonly [number, number] | undefined, name: string): [number, number] {
  const p: [number, number] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const x of p) {
    if (!Number.isInteger(x) || x < 1) throw new InputError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return p;
}

function samePads(inSize: number, k: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * Resolve the geometry of a convolution of an input `[1, inChannels, H, W]`
 * with a kernel `kernelHeight x kernelWidth`, validating every option.
 */
export function convGeometry(
  inChannels: number,
  outChannels: number,
  inHeight: number,
  inWidth: number,
  kernelHeight: number,
  kernelWidth: number,
  opts: Conv2dOptions = {},
): ConvGeometry {
  const [strideH, strideW] = pair(opts.stride, 'stride');
  const [dilationH, dilationW] = pair(opts.dilation, 'dilation');
  const padding = opts.padding ?? 'valid';
  let pads: [number, number, number, number];
  if (padding === 'valid') pads = [0, 0, 0, 0];
  else if (padding === 'same') {
    const [t, b] = samePads(inHeight, kernelHeight, strideH, dilationH);
    const [l, r] = samePads(inWidth, kernelWidth, strideW, dilationW);
    pads = [t, l, b, r];
  } else if (typeof padding === 'number') pads = [padding, padding, padding, padding];
  else if (Array.isArray(padding) && padding.length === 4) pads = [padding[0], padding[1], padding[2], padding[3]];
  else throw new InputError(`padding must be 'same', 'valid', a number or [top, left, bottom, right], got ${JSON.stringify(padding)}`);
  for (const p of pads) {
    if (!Number.isInteger(p) || p < 0) throw new InputError(`padding must be non-negative integers, got ${JSON.stringify(padding)}`);
  }
  const [padTop, padLeft, padBottom, padRight] = pads;
  const effKh = (kernelHeight - 1) * dilationH + 1;
  const effKw = (kernelWidth - 1) * dilationW + 1;
  const outHeight = Math.floor((inHeight + padTop + padBottom - effKh) / strideH) + 1;
  const outWidth = Math.floor((inWidth + padLeft + padRight - effKw) / strideW) + 1;
  if (outHeight < 1 || outWidth < 1) {
    throw new InputError(
      `the dilated kernel (${effKh}x${effKw}) is larger than the padded input ` +
        `(${inHeight + padTop + padBottom}x${inWidth + padLeft + padRight}); the output would be empty`,
    );
  }
  return {
    inChannels, outChannels, inHeight, inWidth, kernelHeight, kernelWidth,
    strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight, outHeight, outWidth,
  };
}

/**
 * Validate a conv2d call (input `[1, Cin, H, W]`, weight `[Cout, Cin, kh, kw]`,
 * optional bias `[Cout]`) and return its geometry.
 */
export function conv2dGeometry(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | undefined,
  opts: Conv2dOptions = {},
): ConvGeometry {
  checkRank(input, 4, 'conv2d input', 'NCHW [1, C, H, W]');
  checkRank(weight, 4, 'conv2d weight', 'OIHW [Cout, Cin, kh, kw]');
  const [n, cin, h, w] = input.shape;
  const [cout, wcin, kh, kw] = weight.shape;
  if (n !== 1) throw new InputError(`conv2d input batch must be 1, got shape ${shapeToString(input.shape)}`);
  if (wcin !== cin) {
    throw new InputError(
      `conv2d weight expects ${wcin} input channels but the input has ${cin} ` +
        `(input ${shapeToString(input.shape)}, weight ${shapeToString(weight.shape)})`,
    );
  }
  checkBias(bias, cout, 'conv2d');
  checkFinite(input, 'conv2d input');
  checkFinite(weight, 'conv2d weight');
  return convGeometry(cin, cout, h, w, kh, kw, opts);
}

/**
 * Validate a depthwise conv2d call (input `[1, C, H, W]`, weight `[C, 1, kh, kw]`,
 * optional bias `[C]`; channel multiplier 1) and return its geometry.
 */
export function depthwiseGeometry(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | undefined,
  opts: Conv2dOptions = {},
): ConvGeometry {
  checkRank(input, 4, 'depthwise input', 'NCHW [1, C, H, W]');
  checkRank(weight, 4, 'depthwise weight', '[C, 1, kh, kw]');
  const [n, c, h, w] = input.shape;
  const [wc, one, kh, kw] = weight.shape;
  if (n !== 1) throw new InputError(`depthwise input batch must be 1, got shape ${shapeToString(input.shape)}`);
  if (wc !== c || one !== 1) {
    throw new InputError(
      `depthwise weight must be [C, 1, kh, kw] with C = ${c} input channels, got ${shapeToString(weight.shape)}`,
    );
  }
  checkBias(bias, c, 'depthwise');
  checkFinite(input, 'depthwise input');
  checkFinite(weight, 'depthwise weight');
  return convGeometry(c, c, h, w, kh, kw, opts);
}

function checkBias(bias: Tensor | undefined, channels: number, op: string): void {
  if (!bias) return;
  if (bias.shape.length !== 1 || bias.shape[0] !== channels) {
    throw new InputError(`${op} bias must have shape [${channels}], got ${shapeToString(bias.shape)}`);
  }
  checkFinite(bias, `${op} bias`);
}
