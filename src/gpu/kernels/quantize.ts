/**
 * GPU quantize / dequantize / per-channel min-max passes (shaders/quantize.wgsl),
 * bit-exact with src/quant/scheme.ts (quantizeTensor, dequantizeTensor) and
 * with a plain min / max over each slice.
 */
import source from '../../../shaders/quantize.wgsl';
import { checkFinite, numElements, tensor, type Tensor } from '../../tensor.js';
import { f32Constants, sliceLayout, type QuantDType, type QuantParams } from '../../quant/scheme.js';
import { InputError } from '../../errors.js';
import type { GpuBatch, GpuContext } from '../context.js';
import { grid2d } from '../grid.js';

export const QUANTIZE_SHADER = { label: 'quantize', code: source };
const WG = 256;

/** Slice constants of `p` on the GPU. Release with ctx.release(...Object.values(c)). */
export type QuantConstantBuffers = { invScale: GPUBuffer; scale: GPUBuffer; zeroPoint: GPUBuffer; bound: GPUBuffer };

export function uploadQuantConstants(ctx: GpuContext, p: QuantParams, label: string): QuantConstantBuffers {
  const c = f32Constants(p);
  return {
    invScale: ctx.upload(c.invScale, `${label}/inv-scale`),
    scale: ctx.upload(c.scale, `${label}/scale`),
    zeroPoint: ctx.upload(c.zeroPoint, `${label}/zero-point`),
    bound: ctx.upload(c.bound, `${label}/bound`),
  };
}

function layoutParams(shape: readonly number[], axis: number | null, slices: number, what: string) {
  const l = sliceLayout(shape, axis, what);
  if (l.channels !== slices) {
    throw new InputError(`${what}: ${l.channels} slices along axis ${axis} but the parameters have ${slices}`);
  }
  return l;
}

/** Bytes of a packed quantized tensor of `count` elements. */
export function packedBytes(count: number, dtype: QuantDType): number {
  return Math.ceil(count / (dtype === 'uint8' ? 4 : 2)) * 4;
}

/** Record: quantize `values` (f32, `shape`) into `packed` (u32 words). */
export function encodeQuantize(
  ctx: GpuContext, batch: GpuBatch, p: QuantParams, shape: readonly number[],
  values: GPUBuffer, consts: QuantConstantBuffers, packed: GPUBuffer,
): void {
  const count = numElements(shape);
  const l = layoutParams(shape, p.axis, p.scale.length, 'quantize input');
  const bits = p.dtype === 'uint8' ? 8 : 16;
  const words = Math.ceil(count / (32 / bits));
  const { workgroups, rowPitch } = grid2d(words, WG, ctx.limits.maxComputeWorkgroupsPerDimension);
  batch.dispatch(ctx.kernel(QUANTIZE_SHADER, 'quantize', { BITS: bits, WG }), {
    buffers: { values, invScale: consts.invScale, zeroPoint: consts.zeroPoint, bound: consts.bound, packed },
    params: { count, channels: l.channels, inner: l.inner, qmin: p.qmin, qmax: p.qmax, rounding: p.rounding === 'half_even' ? 0 : 1, rowPitch },
    workgroups,
  });
}

/** Record: dequantize `packedIn` into f32 `out`. */
export function encodeDequantize(
  ctx: GpuContext, batch: GpuBatch, p: QuantParams, shape: readonly number[],
  packedIn: GPUBuffer, consts: QuantConstantBuffers, out: GPUBuffer,
): void {
  const count = numElements(shape);
  const l = layoutParams(shape, p.axis, p.scale.length, 'dequantize input');
  const { workgroups, rowPitch } = grid2d(count, WG, ctx.limits.maxComputeWorkgroupsPerDimension);
  batch.dispatch(ctx.kernel(QUANTIZE_SHADER, 'dequantize', { BITS: p.dtype === 'uint8' ? 8 : 16, WG }), {
    buffers: { packedIn, zeroPoint: consts.zeroPoint, scale: consts.scale, dequantized: out },
    params: { count, channels: l.channels, inner: l.inner, qmin: p.qmin, qmax: p.qmax, rounding: 0, rowPitch },
    workgroups,
  });
}

/** Record: per-slice [min, max] of `values` along `axis` into `rangeOut` (2 floats per slice). */
export function encodeMinMax(ctx: GpuContext, batch: GpuBatch, shape: readonly number[], axis: number | null, values: GPUBuffer, rangeOut: GPUBuffer): void {
  const count = numElements(shape);
  const l = sliceLayout(shape, axis, 'min/max input');
  if (l.channels > ctx.limits.maxComputeWorkgroupsPerDimension) {
    throw new InputError(`min/max: ${l.channels} channels exceed one workgroup per channel on this device`);
  }
  batch.dispatch(ctx.kernel(QUANTIZE_SHADER, 'minmax', { BITS: 8, WG }), {
    buffers: { values, rangeOut },
    params: { count, channels: l.channels, inner: l.inner, qmin: 0, qmax: 0, rounding: 0, rowPitch: 0 },
    workgroups: [l.channels],
  });
}

/** Unpack u32 words into uint8 / int16 values. */
export function unpackWords(words: Uint32Array, count: number, dtype: QuantDType): Uint8Array | Int16Array {
  const view = dtype === 'uint8' ? new Uint8Array(words.buffer, words.byteOffset, count) : new Int16Array(words.buffer, words.byteOffset, count);
  return view.slice();
}

/** Quantize a tensor on the GPU; same result as `quantizeTensor`. */
export async function quantizeGpu(ctx: GpuContext, t: Tensor, p: QuantParams): Promise<Tensor<QuantDType>> {
  checkFinite(t, 'quantize input');
  const count = t.data.length;
  const values = ctx.upload(t.data, 'quantize/values');
  const consts = uploadQuantConstants(ctx, p, 'quantize');
  const packed = ctx.alloc(packedBytes(count, p.dtype), 'quantize/packed');
  try {
    await ctx.run('quantize', (b) => encodeQuantize(ctx, b, p, t.shape, values, consts, packed));
    const words = new Uint32Array(await ctx.read(packed, packedBytes(count, p.dtype)));
    return tensor(p.dtype, t.shape, unpackWords(words, count, p.dtype) as Uint8Array & Int16Array);
  } finally {
    ctx.release(values, packed, ...Object.values(consts));
  }
}

/** Dequantize on the GPU; same result as `dequantizeTensor`. */
export async function dequantizeGpu(ctx: GpuContext, t: Tensor<QuantDType>, p: QuantParams): Promise<Tensor> {
  const count = t.data.length;
  const bytes = new Uint8Array(packedBytes(count, p.dtype));
  bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const packed = ctx.upload(bytes, 'dequantize/packed');
  const consts = uploadQuantConstants(ctx, p, 'dequantize');
  const out = ctx.alloc(count * 4, 'dequantize/out');
  try {
    await ctx.run('dequantize', (b) => encodeDequantize(ctx, b, p, t.shape, packed, consts, out));
    return tensor('float32', t.shape, await ctx.readF32(out, count));
  } finally {
    ctx.release(packed, out, ...Object.values(consts));
  }
}

/** Per-slice min / max on the GPU: the GPU half of the min-max observer. */
export async function minMaxGpu(ctx: GpuContext, t: Tensor, axis: number | null): Promise<{ lo: number[]; hi: number[] }> {
  checkFinite(t, 'min/max input');
  const l = sliceLayout(t.shape, axis, 'min/max input');
  const values = ctx.upload(t.data, 'minmax/values');
  const out = ctx.alloc(l.channels * 8, 'minmax/range');
  try {
    await ctx.run('minmax', (b) => encodeMinMax(ctx, b, t.shape, axis, values, out));
    const r = await ctx.readF32(out, 2 * l.channels);
    return { lo: Array.from({ length: l.channels }, (_, c) => r[2 * c]), hi: Array.from({ length: l.channels }, (_, c) => r[2 * c + 1]) };
  } finally {
    ctx.release(values, out);
  }
}
