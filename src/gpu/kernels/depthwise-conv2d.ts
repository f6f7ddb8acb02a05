/**
 * GPU fp32 depthwise conv2d, channel multiplier 1 (shaders/depthwise-conv2d.wgsl).
 * Validates inputs with the same geometry rules as the CPU reference and
 * splits the channels into chunks when a channel range of the input, output
 * or weights would exceed the device's storage binding size.
 */
import source from '../../../shaders/depthwise-conv2d.wgsl';
import { GpuLimitError } from '../../errors.js';
import { depthwiseGeometry, type Conv2dOptions, type ConvGeometry } from '../../layers/conv-geometry.js';
import { f32, type Tensor } from '../../tensor.js';
import type { GpuBatch, GpuContext } from '../context.js';
import { runConvOnce, type ConvBuffers } from './conv-once.js';

export const DEPTHWISE_SHADER = { label: 'depthwise-conv2d', code: source };
/** Must match PX and ROWS in the shader. */
const PX = 8;
const ROWS = 4;
const TILE_X = 8;
const TILE_Y = 8;

/** GPU-resident operands of a depthwise conv2d: the same four as a conv2d's. */
export type DepthwiseConv2dBuffers = ConvBuffers;

/**
 * Record a depthwise conv2d into `batch`. All buffers hold f32 in PyTorch
 * layouts (input CHW, weight [C, 1, kh, kw], bias [C], output CHW).
 * `maxBindingBytes` defaults to the context's binding cap (ctx.maxBindingBytes); a smaller value forces the
 * chunked path (tests use it to exercise the split).
 */
export function encodeDepthwiseConv2d(
  ctx: GpuContext,
  batch: GpuBatch,
  g: ConvGeometry,
  hasBias: boolean,
  bufs: DepthwiseConv2dBuffers,
  maxBindingBytes: number = ctx.maxBindingBytes,
): void {
  const fast = g.kernelHeight === 3 && g.kernelWidth === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1;
  const kernel = ctx.kernel(DEPTHWISE_SHADER, 'main', { TILE_X, TILE_Y, KERNEL_3X3_S1: fast ? 1 : 0 });
  const inPlane = g.inHeight * g.inWidth;
  const outPlane = g.outHeight * g.outWidth;
  const kArea = g.kernelHeight * g.kernelWidth;
  const perChannelBytes = Math.max(inPlane, outPlane, kArea) * 4;
  let chunk = Math.min(Math.floor(maxBindingBytes / perChannelBytes), ctx.limits.maxComputeWorkgroupsPerDimension);
  if (chunk < 1) {
    throw new GpuLimitError(
      `depthwise conv2d: one channel (${g.inHeight}x${g.inWidth} in, ${g.outHeight}x${g.outWidth} out, ` +
        `${perChannelBytes} bytes) does not fit the storage binding limit (${maxBindingBytes} bytes); split the input into tiles`,
    );
  }
  chunk = Math.min(chunk, g.inChannels);
  const params = (channels: number) => ({
    channels, inHeight: g.inHeight, inWidth: g.inWidth, outHeight: g.outHeight, outWidth: g.outWidth,
    kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
    stride: [g.strideH, g.strideW], dilation: [g.dilationH, g.dilationW], pad: [g.padTop, g.padLeft],
    hasBias: hasBias ? 1 : 0,
  });
  const workgroups = (channels: number) =>
    [Math.ceil(g.outWidth / (TILE_X * PX)), Math.ceil(g.outHeight / (TILE_Y * ROWS)), channels] as const;
  if (chunk >= g.inChannels) {
    batch.dispatch(kernel, { buffers: bufs, params: params(g.inChannels), workgroups: workgroups(g.inChannels) });
    return;
  }
  for (let c0 = 0; c0 < g.inChannels; c0 += chunk) {
    const n = Math.min(chunk, g.inChannels - c0);
    const x = batch.scratch(n * inPlane * 4, 'depthwise-conv2d/input-chunk');
    const w = batch.scratch(n * kArea * 4, 'depthwise-conv2d/weight-chunk');
    const b = batch.scratch(n * 4, 'depthwise-conv2d/bias-chunk');
    const o = batch.scratch(n * outPlane * 4, 'depthwise-conv2d/output-chunk');
    batch.encoder.copyBufferToBuffer(bufs.input, c0 * inPlane * 4, x, 0, n * inPlane * 4);
    batch.encoder.copyBufferToBuffer(bufs.weight, c0 * kArea * 4, w, 0, n * kArea * 4);
    if (hasBias) batch.encoder.copyBufferToBuffer(bufs.bias, c0 * 4, b, 0, n * 4);
    batch.dispatch(kernel, { buffers: { input: x, weight: w, bias: b, output: o }, params: params(n), workgroups: workgroups(n) });
    batch.encoder.copyBufferToBuffer(o, 0, bufs.output, c0 * outPlane * 4, n * outPlane * 4);
  }
}

/**
 * Run an fp32 depthwise conv2d (channel multiplier 1) on the GPU. Same contract as `depthwiseConv2dCpu`.
 *
 * @example
 * const out = await depthwiseConv2dGpu(gpu, input, weight, bias, { padding: 'same', stride: 2 });
 */
export async function depthwiseConv2dGpu(
  ctx: GpuContext,
  input: Tensor,
  weight: Tensor,
  bias?: Tensor,
  opts: Conv2dOptions = {},
): Promise<Tensor> {
  const g = depthwiseGeometry(input, weight, bias, opts);
  return runConvOnce(ctx, 'depthwise-conv2d', g, input, weight, bias, (b, bufs) => encodeDepthwiseConv2d(ctx, b, g, !!bias, bufs));
}
