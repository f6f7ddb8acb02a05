/**
 * GPU fp32 conv2d (shaders/conv2d.wgsl). Validates inputs with the same
 * geometry rules as the CPU reference, zero-pads the input once into a
 * scratch buffer (so the convolution has no bounds tests), repacks the weights
 * in the order the kernel reads them, and splits the work where a binding
 * would exceed the device's storage binding size: output channels into
 * chunks, and input channels into groups whose partial outputs are summed.
 */
import accumulateSource from '../../../shaders/accumulate.wgsl';
import source from '../../../shaders/conv2d.wgsl';
import { GpuLimitError } from '../../errors.js';
import { conv2dGeometry, type Conv2dOptions, type ConvGeometry } from '../../layers/conv-geometry.js';
import type { Tensor } from '../../tensor.js';
import type { GpuBatch, GpuContext } from '../context.js';
import { grid2d } from '../grid.js';
import { ROW_BLOCK_LIBRARY } from '../shader-lib.js';
import { runConvOnce, type ConvBuffers } from './conv-once.js';

export const CONV2D_SHADER = { label: 'conv2d', code: ROW_BLOCK_LIBRARY + source };
export const ACCUMULATE_SHADER = { label: 'accumulate', code: accumulateSource };
const ACC_WG = 256;
/** Must match CO_BLOCK, PX and ROWS in the shader. */
const CO_BLOCK = 8;
const PX = 8;
const ROWS = 4;
const TILE_X = 8;
const TILE_Y = 8;
const PAD_WG = 64;

/** GPU-resident operands of a conv2d (f32, PyTorch layouts). */
export type Conv2dBuffers = ConvBuffers;

/** Extent of the zero-padded input that every invocation's reads stay inside. */
export function paddedExtent(g: ConvGeometry): { padHeight: number; padWidth: number } {
  const rows = Math.ceil(g.outHeight / (ROWS * TILE_Y)) * ROWS * TILE_Y;
  const cols = Math.ceil(g.outWidth / (PX * TILE_X)) * PX * TILE_X;
  return {
    padHeight: Math.max((rows - 1) * g.strideH + (g.kernelHeight - 1) * g.dilationH + 1, g.padTop + g.inHeight),
    padWidth: Math.max((cols - 1) * g.strideW + (g.kernelWidth - 1) * g.dilationW + 1, g.padLeft + g.inWidth),
  };
}

/** Record a conv2d into `batch`. All buffers hold f32 in PyTorch layouts. */
export function encodeConv2d(ctx: GpuContext, batch: GpuBatch, g: ConvGeometry, hasBias: boolean, bufs: Conv2dBuffers): void {
  const fast = g.kernelHeight === 3 && g.kernelWidth === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1;
  const main = ctx.kernel(CONV2D_SHADER, 'main', { TILE_X, TILE_Y, KERNEL_3X3_S1: fast ? 1 : 0 });
  const maxBinding = ctx.maxBindingBytes;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  const plane = g.outHeight * g.outWidth;
  const kArea = g.kernelHeight * g.kernelWidth;
  const wPerCo = g.inChannels * kArea;
  const { padHeight, padWidth } = paddedExtent(g);
  const paddedBytes = g.inChannels * padHeight * padWidth * 4;
  const inPlaneBytes = Math.max(g.inHeight * g.inWidth, padHeight * padWidth) * 4;
  if (g.inChannels * inPlaneBytes > maxBinding) {
    encodeByInputChannelGroups(ctx, batch, g, hasBias, bufs, inPlaneBytes);
    return;
  }
  // Output channels per chunk: a multiple of CO_BLOCK whose output and packed weights fit one binding.
  const perCoBytes = Math.max(plane, wPerCo) * 4;
  let chunk = Math.floor(maxBinding / perCoBytes / CO_BLOCK) * CO_BLOCK;
  if (chunk < CO_BLOCK) {
    throw new GpuLimitError(`conv2d: ${CO_BLOCK} output channels (${CO_BLOCK * perCoBytes} bytes) do not fit the storage binding limit (${maxBinding})`);
  }
  chunk = Math.min(chunk, Math.ceil(g.outChannels / CO_BLOCK) * CO_BLOCK);
  const params = (outChannels: number, coBase: number, rowPitch: number) => ({
    inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels,
    outHeight: g.outHeight, outWidth: g.outWidth, kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
    stride: [g.strideH, g.strideW], dilation: [g.dilationH, g.dilationW], pad: [g.padTop, g.padLeft],
    hasBias: hasBias ? 1 : 0, padHeight, padWidth, coBase, rowPitch,
  });
  const tilesX = Math.ceil(g.outWidth / (PX * TILE_X));
  const tilesY = Math.ceil(g.outHeight / (ROWS * TILE_Y));
  if (tilesX > maxGroups || tilesY > maxGroups) {
    throw new GpuLimitError(`conv2d: a ${g.outHeight}x${g.outWidth} output needs more than maxComputeWorkgroupsPerDimension = ${maxGroups} workgroups`);
  }

  const padded = batch.scratch(paddedBytes, 'conv2d/padded-input');
  const padGroups = [Math.ceil(padWidth / PAD_WG), padHeight, g.inChannels] as const;
  if (padGroups.some((n) => n > maxGroups)) {
    throw new GpuLimitError(`conv2d: a ${g.inChannels}x${padHeight}x${padWidth} padded input needs more than maxComputeWorkgroupsPerDimension = ${maxGroups} workgroups`);
  }
  batch.dispatch(ctx.kernel(CONV2D_SHADER, 'pad', { PAD_WG }), {
    buffers: { source: bufs.input, padded },
    params: params(g.outChannels, 0, 0),
    workgroups: padGroups,
  });
  const pack = ctx.kernel(CONV2D_SHADER, 'packWeights', { PAD_WG });
  for (let co0 = 0; co0 < g.outChannels; co0 += chunk) {
    const n = Math.min(chunk, g.outChannels - co0);
    const blocks = Math.ceil(n / CO_BLOCK);
    if (blocks > maxGroups) throw new GpuLimitError(`conv2d: ${n} output channels need more than ${maxGroups} workgroups`);
    const packedCount = blocks * CO_BLOCK * wPerCo;
    const packed = batch.scratch(packedCount * 4, 'conv2d/packed-weight');
    const packGrid = grid2d(packedCount, PAD_WG, maxGroups);
    batch.dispatch(pack, { buffers: { source: bufs.weight, packed }, params: params(n, co0, packGrid.rowPitch), workgroups: packGrid.workgroups });
    const single = n === g.outChannels;
    let b = bufs.bias;
    let o = bufs.output;
    if (!single) {
      b = batch.scratch(n * 4, 'conv2d/bias-chunk');
      o = batch.scratch(n * plane * 4, 'conv2d/output-chunk');
      if (hasBias) batch.encoder.copyBufferToBuffer(bufs.bias, co0 * 4, b, 0, n * 4);
    }
    batch.dispatch(main, { buffers: { input: padded, weight: packed, bias: b, output: o }, params: params(n, 0, 0), workgroups: [tilesX, tilesY, blocks] });
    if (!single) batch.encoder.copyBufferToBuffer(o, 0, bufs.output, co0 * plane * 4, n * plane * 4);
  }
}

/**
 * An input larger than one storage binding: split the input channels into
 * groups that fit, convolve each group with its slice of the weights, and sum
 * the partial outputs (the first group writes the output and adds the bias;
 * shaders/accumulate.wgsl adds the others). Inputs and weight slices are
 * gathered by buffer copies, which have no binding limit.
 */
function encodeByInputChannelGroups(ctx: GpuContext, batch: GpuBatch, g: ConvGeometry, hasBias: boolean, bufs: Conv2dBuffers, inPlaneBytes: number): void {
  const per = Math.floor(ctx.maxBindingBytes / inPlaneBytes);
  if (per < 1) {
    throw new GpuLimitError(
      `conv2d: one ${g.inHeight}x${g.inWidth} input channel (${inPlaneBytes} bytes zero-padded) exceeds the storage binding limit (${ctx.maxBindingBytes} bytes)`,
    );
  }
  const kArea = g.kernelHeight * g.kernelWidth;
  const inPlane = g.inHeight * g.inWidth;
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  let partial: GPUBuffer | undefined;
  for (let c0 = 0; c0 < g.inChannels; c0 += per) {
    const n = Math.min(per, g.inChannels - c0);
    const x = batch.scratch(n * inPlane * 4, 'conv2d/input-group');
    batch.encoder.copyBufferToBuffer(bufs.input, c0 * inPlane * 4, x, 0, n * inPlane * 4);
    const w = batch.scratch(g.outChannels * n * kArea * 4, 'conv2d/weight-group');
    for (let co = 0; co < g.outChannels; co++) {
      batch.encoder.copyBufferToBuffer(bufs.weight, (co * g.inChannels + c0) * kArea * 4, w, co * n * kArea * 4, n * kArea * 4);
    }
    const first = c0 === 0;
    const out = first ? bufs.output : (partial ??= batch.scratch(outLen * 4, 'conv2d/partial-output'));
    encodeConv2d(ctx, batch, { ...g, inChannels: n }, hasBias && first, { input: x, weight: w, bias: bufs.bias, output: out });
    if (!first) encodeAccumulate(ctx, batch, out, bufs.output, outLen);
  }
}

/** Record dst += src over `count` floats, in pieces that each fit one storage binding (offsets 256-byte aligned). */
export function encodeAccumulate(ctx: GpuContext, batch: GpuBatch, src: GPUBuffer, dst: GPUBuffer, count: number): void {
  const kernel = ctx.kernel(ACCUMULATE_SHADER, 'main', { WG: ACC_WG });
  const piece = Math.max(64, Math.floor(ctx.maxBindingBytes / 4 / 64) * 64);
  for (let i0 = 0; i0 < count; i0 += piece) {
    const n = Math.min(piece, count - i0);
    const grid = grid2d(n, ACC_WG, ctx.limits.maxComputeWorkgroupsPerDimension);
    batch.dispatch(kernel, {
      buffers: { src: { buffer: src, offset: i0 * 4, size: n * 4 }, dst: { buffer: dst, offset: i0 * 4, size: n * 4 } },
      params: { count: n, rowPitch: grid.rowPitch },
      workgroups: grid.workgroups,
    });
  }
}

/**
 * Run an fp32 conv2d on the GPU. Same contract as `conv2dCpu`.
 *
 * @example
 * const out = await conv2dGpu(gpu, input, weight, bias, { padding: 'same', stride: 2 });
 */
export async function conv2dGpu(ctx: GpuContext, input: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Promise<Tensor> {
  const g = conv2dGeometry(input, weight, bias, opts);
  return runConvOnce(ctx, 'conv2d', g, input, weight, bias, (b, bufs) => encodeConv2d(ctx, b, g, !!bias, bufs));
}
