/**
 * GPU integer conv2d / depthwise conv2d (shaders/conv2d-int.wgsl). Takes the
 * same IntConvSpec as the CPU reference (src/cpu/conv2d-int.ts) and returns
 * bit-identical results. Operands are uploaded packed (4 x uint8 or 2 x int16
 * per u32 word), as an edge runtime would hold them.
 */
import source from '../../../shaders/conv2d-int.wgsl';
import { GpuLimitError } from '../../errors.js';
import { checkAccumulatorBound, type IntConvSpec } from '../../layers/int-conv-spec.js';
import type { IntConvResult } from '../../cpu/conv2d-int.js';
import type { GpuBatch, GpuContext } from '../context.js';
import { withIntegerLibrary } from '../shader-lib.js';
import { grid2d } from '../grid.js';

export const CONV2D_INT_SHADER = withIntegerLibrary('conv2d-int', source);
const WG = 64;
const RULE_CODE = { gemmlowp: 0, pow2: 1, linear64: 2 } as const;

/** Pack integer values into u32 words: 4 x 8 bits or 2 x 16 bits, little-endian, two's complement. */
export function packInts(values: Int32Array, bits: 8 | 16): Uint32Array {
  const per = 32 / bits;
  const out = new Uint32Array(Math.ceil(values.length / per));
  const mask = bits === 8 ? 0xff : 0xffff;
  for (let i = 0; i < values.length; i++) {
    out[Math.floor(i / per)] |= (values[i] & mask) << (bits * (i % per));
  }
  return out;
}

/** Bias as the shader reads it: int32 (Q8) or (lo, hi) int32 pairs of an int64 (Q16). */
function biasWords(s: IntConvSpec): Int32Array {
  if (s.bits === 8) return Int32Array.from(s.bias, (b) => Number(b));
  const out = new Int32Array(s.bias.length * 2);
  s.bias.forEach((b, i) => {
    out[2 * i] = Number(BigInt.asIntN(32, b));
    out[2 * i + 1] = Number(BigInt.asIntN(32, b >> 32n));
  });
  return out;
}

export type IntConvBuffers = {
  input: GPUBuffer;
  weight: GPUBuffer;
  bias: GPUBuffer;
  weightZero: GPUBuffer;
  multiplier: GPUBuffer;
  shift: GPUBuffer;
  outZero: GPUBuffer;
  qOut: GPUBuffer;
  acc: GPUBuffer;
};

/** Upload everything but the input and allocate the outputs. Release with `ctx.release(...Object.values(bufs))`. */
export function uploadIntConv(ctx: GpuContext, s: IntConvSpec, input: GPUBuffer): IntConvBuffers {
  const g = s.geometry;
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  return {
    input,
    weight: ctx.upload(packInts(s.weight, s.bits), 'conv2d-int/weight'),
    bias: ctx.upload(biasWords(s), 'conv2d-int/bias'),
    weightZero: ctx.upload(s.weightZero, 'conv2d-int/weight-zero'),
    multiplier: ctx.upload(s.multiplier, 'conv2d-int/multiplier'),
    shift: ctx.upload(s.shift, 'conv2d-int/shift'),
    outZero: ctx.upload(s.outZero, 'conv2d-int/out-zero'),
    qOut: ctx.alloc(outLen * 4, 'conv2d-int/q-out'),
    acc: ctx.alloc(outLen * (s.bits === 8 ? 4 : 8), 'conv2d-int/acc'),
  };
}

/** Record the integer convolution. `writeAcc` also stores the exact accumulators. */
export function encodeConv2dInt(ctx: GpuContext, batch: GpuBatch, s: IntConvSpec, bufs: IntConvBuffers, writeAcc: boolean): void {
  checkAccumulatorBound(s, s.depthwise ? 'depthwise int' : 'conv2d int');
  const g = s.geometry;
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  if (outLen * (s.bits === 8 ? 4 : 8) > ctx.maxBindingBytes) {
    throw new GpuLimitError(`conv2d-int: ${outLen} outputs exceed the storage binding limit (${ctx.maxBindingBytes} bytes)`);
  }
  const kernel = ctx.kernel(CONV2D_INT_SHADER, 'main', { BITS: s.bits, WG });
  const { workgroups, rowPitch } = grid2d(outLen, WG, ctx.limits.maxComputeWorkgroupsPerDimension);
  batch.dispatch(kernel, {
    buffers: bufs,
    params: {
      inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels: g.outChannels,
      outHeight: g.outHeight, outWidth: g.outWidth, kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
      stride: [g.strideH, g.strideW], dilation: [g.dilationH, g.dilationW], pad: [g.padTop, g.padLeft],
      depthwise: s.depthwise ? 1 : 0, inputZero: s.inputZero, rule: RULE_CODE[s.rule],
      rounding: s.rounding === 'half_even' ? 0 : 1, qmin: s.qmin, qmax: s.qmax, writeAcc: writeAcc ? 1 : 0, rowPitch,
    },
    workgroups,
  });
}

/** Decode the accumulator buffer contents into int64 values. */
export function decodeAcc(words: Int32Array, bits: 8 | 16): BigInt64Array {
  if (bits === 8) return BigInt64Array.from(words, (v) => BigInt(v));
  const out = new BigInt64Array(words.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (BigInt(words[2 * i + 1]) << 32n) | BigInt(words[2 * i] >>> 0);
  return out;
}

/**
 * Run an integer conv on the GPU; same contract as `conv2dIntCpu`.
 *
 * @example
 * const { q, acc } = await conv2dIntGpu(gpu, spec); // spec from src/quant/layer.ts
 */
export async function conv2dIntGpu(ctx: GpuContext, s: IntConvSpec): Promise<IntConvResult> {
  const g = s.geometry;
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  const input = ctx.upload(packInts(s.input, s.bits), 'conv2d-int/input');
  const bufs = uploadIntConv(ctx, s, input);
  try {
    await ctx.run('conv2d-int', (b) => encodeConv2dInt(ctx, b, s, bufs, true));
    const q = new Int32Array(await ctx.read(bufs.qOut, outLen * 4));
    const acc = decodeAcc(new Int32Array(await ctx.read(bufs.acc, outLen * (s.bits === 8 ? 4 : 8))), s.bits);
    return { q, acc };
  } finally {
    ctx.release(...Object.values(bufs));
  }
}
