/**
 * The one-shot form of a convolution on the GPU: upload the operands, record
 * the kernel, read the output back, and return every buffer to the pool.
 * Shared by conv2dGpu and depthwiseConv2dGpu.
 */
import type { ConvGeometry } from '../../layers/conv-geometry.js';
import { f32, type Tensor } from '../../tensor.js';
import type { GpuBatch, GpuContext } from '../context.js';

/** GPU-resident operands of a conv2d or depthwise conv2d (f32, PyTorch layouts). */
export type ConvBuffers = {
  input: GPUBuffer;
  weight: GPUBuffer;
  bias: GPUBuffer;
  output: GPUBuffer;
};

export async function runConvOnce(
  ctx: GpuContext, label: string, g: ConvGeometry, input: Tensor, weight: Tensor, bias: Tensor | undefined,
  encode: (batch: GpuBatch, bufs: ConvBuffers) => void,
): Promise<Tensor> {
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  const bufs: ConvBuffers = {
    input: ctx.upload(input.data, `${label}/input`),
    weight: ctx.upload(weight.data, `${label}/weight`),
    bias: ctx.upload(bias?.data ?? new Float32Array(g.outChannels), `${label}/bias`),
    output: ctx.alloc(outLen * 4, `${label}/output`),
  };
  try {
    await ctx.run(label, (b) => encode(b, bufs));
    return f32([1, g.outChannels, g.outHeight, g.outWidth], await ctx.readF32(bufs.output, outLen, `${label}/output`));
  } finally {
    ctx.release(bufs.input, bufs.weight, bufs.bias, bufs.output);
  }
}
