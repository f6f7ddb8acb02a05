/**
 * GPU fp32 conv2d (shaders/conv2d.wgsl). Validates inputs with the same
 * geometry rules as the CPU reference, splits the output channels into chunks
 * when the output or weights would exceed the device's storage binding size.
 */
import source from '../../../shaders/conv2d.wgsl';
import { GpuLimitError } from '../../errors.js';
import { conv2dGeometry, type Conv2dOptions, type ConvGeometry } from '../../layers/conv-geometry.js';
import { f32, type Tensor } from '../../tensor.js';
import type { GpuBatch, GpuContext } from '../context.js';

export const CONV2D_SHADER = { label: 'conv2d', code: source };
const CO_PER_THREAD = 4;
const TILE = 8;

/** GPU-resident operands of a conv2d. */
export type Conv2dBuffers = {
  input: GPUBuffer;
  weight: GPUBuffer;
  bias: GPUBuffer;
  output: GPUBuffer;
};

/** Record a conv2d into `batch`. All buffers hold f32 in PyTorch layouts. */
export function encodeConv2d(ctx: GpuContext, batch: GpuBatch, g: ConvGeometry, hasBias: boolean, bufs: Conv2dBuffers): void {
  const kernel = ctx.kernel(CONV2D_SHADER, 'main', { TILE_X: TILE, TILE_Y: TILE });
  const maxBinding = ctx.maxBindingBytes;
  const plane = g.outHeight * g.outWidth;
  const wPerCo = g.inChannels * g.kernelHeight * g.kernelWidth;
  if (g.inChannels * g.inHeight * g.inWidth * 4 > maxBinding) {
    throw new GpuLimitError(
      `conv2d input of ${g.inChannels}x${g.inHeight}x${g.inWidth} floats exceeds the storage binding limit ` +
        `(${maxBinding} bytes); split the input into tiles`,
    );
  }
  // Output channels per chunk: a multiple of CO_PER_THREAD whose output and weights fit one binding.
  const perCoBytes = Math.max(plane, wPerCo) * 4;
  let chunk = Math.floor(maxBinding / perCoBytes / CO_PER_THREAD) * CO_PER_THREAD;
  if (chunk < CO_PER_THREAD) {
    throw new GpuLimitError(`conv2d: one output channel (${perCoBytes} bytes) does not fit the storage binding limit (${maxBinding})`);
  }
  chunk = Math.min(chunk, Math.ceil(g.outChannels / CO_PER_THREAD) * CO_PER_THREAD);
  const params = (outChannels: number) => ({
    inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels,
    outHeight: g.outHeight, outWidth: g.outWidth, kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
    stride: [g.strideH, g.strideW], dilation: [g.dilationH, g.dilationW], pad: [g.padTop, g.padLeft],
    hasBias: hasBias ? 1 : 0,
  });
  const workgroups = (co: number) =>
    [Math.ceil(g.outWidth / TILE), Math.ceil(g.outHeight / TILE), Math.ceil(co / CO_PER_THREAD)] as const;
  if (chunk >= g.outChannels) {
    batch.dispatch(kernel, { buffers: bufs, params: params(g.outChannels), workgroups: workgroups(g.outChannels) });
    return;
  }
  for (let co0 = 0; co0 < g.outChannels; co0 += chunk) {
    const n = Math.min(chunk, g.outChannels - co0);
    const w = batch.scratch(n * wPerCo * 4, 'conv2d/weight-chunk');
    const b = batch.scratch(n * 4, 'conv2d/bias-chunk');
    const o = batch.scratch(n * plane * 4, 'conv2d/output-chunk');
    batch.encoder.copyBufferToBuffer(bufs.weight, co0 * wPerCo * 4, w, 0, n * wPerCo * 4);
    if (hasBias) batch.encoder.copyBufferToBuffer(bufs.bias, co0 * 4, b, 0, n * 4);
    batch.dispatch(kernel, { buffers: { input: bufs.input, weight: w, bias: b, output: o }, params: params(n), workgroups: workgroups(n) });
    batch.encoder.copyBufferToBuffer(o, 0, bufs.output, co0 * plane * 4, n * plane * 4);
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
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  const bufs: Conv2dBuffers = {
    input: ctx.upload(input.data, 'conv2d/input'),
    weight: ctx.upload(weight.data, 'conv2d/weight'),
    bias: ctx.upload(bias?.data ?? new Float32Array(g.outChannels), 'conv2d/bias'),
    output: ctx.alloc(outLen * 4, 'conv2d/output'),
  };
  try {
    await ctx.run('conv2d', (b) => encodeConv2d(ctx, b, g, !!bias, bufs));
    const out = await ctx.readF32(bufs.output, outLen, 'conv2d/output');
    return f32([1, g.outChannels, g.outHeight, g.outWidth], out);
  } finally {
    ctx.release(bufs.input, bufs.weight, bufs.bias, bufs.output);
  }
}
