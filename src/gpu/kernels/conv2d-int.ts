/**
 * GPU integer conv2d / depthwise conv2d (shaders/conv2d-int.wgsl). Takes the
 * same IntConvSpec as the CPU reference (src/cpu/conv2d-int.ts) and returns
 * bit-identical results. The input is uploaded packed (4 x uint8 or 2 x int16
 * per u32 word), as an edge runtime would hold it; a first pass unpacks and
 * zero-point-pads it, the convolution then runs register-blocked (Q8 dense
 * with packed 4 x 8-bit dot products, Q16 with byte-split weights and exact
 * 32-bit chunks; see the shader's header).
 */
import source from '../../../shaders/conv2d-int.wgsl';
import dot4Emulated from '../../../shaders/dot4-emulated.wgsl';
import dot4Native from '../../../shaders/dot4-native.wgsl';
import { GpuLimitError } from '../../errors.js';
import { checkAccumulatorBound, type IntConvSpec } from '../../layers/int-conv-spec.js';
import type { IntConvResult } from '../../cpu/conv2d-int.js';
import type { GpuBatch, GpuContext } from '../context.js';
import { ROW_BLOCK_LIBRARY, withIntegerLibrary } from '../shader-lib.js';

/** Built with the packed_4x8_integer_dot_product built-in (adapters that have it). */
export const CONV2D_INT_SHADER = withIntegerLibrary('conv2d-int', `${ROW_BLOCK_LIBRARY}${dot4Native}\n${source}`);
/** The same kernel with the dot product from shifts and masks. */
export const CONV2D_INT_SHADER_EMULATED_DOT4 = withIntegerLibrary('conv2d-int-dot4-emulated', `${ROW_BLOCK_LIBRARY}${dot4Emulated}\n${source}`);
const RULE_CODE = { gemmlowp: 0, pow2: 1, linear64: 2 } as const;
/** Must match PX and CO_BLOCK in the shader; rows per invocation: Q8 dense and depthwise 4, Q16 dense 2. */
const PX = 8;
const CO_BLOCK = 8;
const TILE_X = 8;
const TILE_Y = 8;
const PAD_WG = 64;

/**
 * Q8 dense: taps (of 4 input channels each) per f32 chunk. |(x - z_in)(w - z_w)| <= 255^2, so
 * 64 taps = 256 products keep every partial sum below 2^24, where f32 holds integers exactly.
 */
const Q8_CHUNK = 64;
/** Most taps of one exact i32 chunk (Q16). */
const MAX_CHUNK = 256;

/**
 * Q16: taps per chunk such that chunk * max|x - z_in| * max(255, max|w_hi|) < 2^31,
 * w_hi = (w - z_w) >> 8 (see the shader's header).
 */
export function q16Chunk(s: IntConvSpec): number {
  const maxX = Math.max(Math.abs(-32768 - s.inputZero), Math.abs(32767 - s.inputZero));
  let maxHi = 0;
  const kPer = s.weight.length / s.weightZero.length;
  for (let i = 0; i < s.weight.length; i++) maxHi = Math.max(maxHi, Math.abs((s.weight[i] - s.weightZero[Math.floor(i / kPer)]) >> 8));
  const per = maxX * Math.max(255, maxHi);
  return Math.max(1, Math.min(MAX_CHUNK, Math.floor((2 ** 31 - 1) / per)));
}

function rowsPerInvocation(s: IntConvSpec): number {
  return !s.depthwise && s.bits === 16 ? 2 : 4;
}

export interface ConvIntGpuOptions {
  /**
   * Q8 dense arithmetic: 'dot4' (packed 4 x 8-bit dot products in wrapping u32) or 'f32' (exact f32
   * products of bytes in chunks). Default: 'dot4' on hardware adapters with the
   * packed_4x8_integer_dot_product feature, 'f32' elsewhere (software adapters such as
   * SwiftShader run the built-in slower than f32 multiply-adds). Both are bit-exact.
   */
  q8Path?: 'dot4' | 'f32';
  /** Use the shift-and-mask dot product even where the adapter has the built-in (tests both). */
  emulateDot4?: boolean;
}

/** The Q8 dense path `encodeConv2dInt` takes on this adapter. */
export function defaultQ8Path(ctx: GpuContext): 'dot4' | 'f32' {
  return ctx.adapter.packed4x8IntegerDotProduct && !ctx.adapter.isFallbackAdapter ? 'dot4' : 'f32';
}

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

/**
 * Weights in the order the kernel reads them (see the shader's header), and
 * the bias words: Q8 dense folds the zero-point terms into K[co].
 */
function packWeights(s: IntConvSpec): { weight: Uint32Array; bias: Int32Array } {
  const g = s.geometry;
  const kArea = g.kernelHeight * g.kernelWidth;
  const cout = g.outChannels;
  if (s.depthwise) {
    const weight = new Uint32Array(cout * kArea * 4);
    for (let c = 0; c < cout; c++) for (let t = 0; t < kArea; t++) weight[(c * kArea + t) * 4] = (s.weight[c * kArea + t] - s.weightZero[c]) >>> 0;
    return { weight, bias: biasWords(s) };
  }
  const cin = g.inChannels;
  const blocks = Math.ceil(cout / CO_BLOCK);
  if (s.bits === 16) {
    const weight = new Uint32Array(blocks * cin * kArea * CO_BLOCK);
    for (let co = 0; co < cout; co++) {
      const b = Math.floor(co / CO_BLOCK);
      for (let ci = 0; ci < cin; ci++) for (let t = 0; t < kArea; t++) {
        weight[((b * cin + ci) * kArea + t) * CO_BLOCK + (co % CO_BLOCK)] = (s.weight[(co * cin + ci) * kArea + t] - s.weightZero[co]) >>> 0;
      }
    }
    return { weight, bias: biasWords(s) };
  }
  const quads = Math.ceil(cin / 4);
  const weight = new Uint32Array(blocks * quads * kArea * CO_BLOCK);
  const bias = new Int32Array(cout);
  const n = quads * 4 * kArea; // terms per output, padded channels included (they contribute 0)
  const zx = s.inputZero;
  for (let co = 0; co < cout; co++) {
    const b = Math.floor(co / CO_BLOCK);
    let sumW = 0;
    for (let ci = 0; ci < cin; ci++) for (let t = 0; t < kArea; t++) {
      const w = s.weight[(co * cin + ci) * kArea + t];
      sumW += w;
      weight[((b * quads + (ci >> 2)) * kArea + t) * CO_BLOCK + (co % CO_BLOCK)] |= (w & 0xff) << (8 * (ci & 3));
    }
    // K = bias - z_in sum(w) + n z_in z_w, reduced modulo 2^32 (every part is an exact integer below 2^53).
    const k = BigInt(s.bias[co]) - BigInt(zx) * BigInt(sumW) + BigInt(n) * BigInt(zx) * BigInt(s.weightZero[co]);
    bias[co] = Number(BigInt.asIntN(32, k));
  }
  return { weight, bias };
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
  const packed = packWeights(s);
  return {
    input,
    weight: ctx.upload(packed.weight, 'conv2d-int/weight'),
    bias: ctx.upload(packed.bias, 'conv2d-int/bias'),
    weightZero: ctx.upload(s.weightZero, 'conv2d-int/weight-zero'),
    multiplier: ctx.upload(s.multiplier, 'conv2d-int/multiplier'),
    shift: ctx.upload(s.shift, 'conv2d-int/shift'),
    outZero: ctx.upload(s.outZero, 'conv2d-int/out-zero'),
    qOut: ctx.alloc(outLen * 4, 'conv2d-int/q-out'),
    acc: ctx.alloc(outLen * (s.bits === 8 ? 4 : 8), 'conv2d-int/acc'),
  };
}

/** Extent of the padded input: every position an invocation reads (output tiles rounded up). */
function paddedExtent(s: IntConvSpec): { padHeight: number; padWidth: number } {
  const g = s.geometry;
  const rows = Math.ceil(g.outHeight / (rowsPerInvocation(s) * TILE_Y)) * rowsPerInvocation(s) * TILE_Y;
  const cols = Math.ceil(g.outWidth / (PX * TILE_X)) * PX * TILE_X;
  return {
    padHeight: Math.max((rows - 1) * g.strideH + (g.kernelHeight - 1) * g.dilationH + 1, g.padTop + g.inHeight),
    padWidth: Math.max((cols - 1) * g.strideW + (g.kernelWidth - 1) * g.dilationW + 1, g.padLeft + g.inWidth),
  };
}

/** Record the integer convolution. `writeAcc` also stores the exact accumulators. */
export function encodeConv2dInt(
  ctx: GpuContext, batch: GpuBatch, s: IntConvSpec, bufs: IntConvBuffers, writeAcc: boolean, opts: ConvIntGpuOptions = {},
): void {
  checkAccumulatorBound(s, s.depthwise ? 'depthwise int' : 'conv2d int');
  const g = s.geometry;
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  const maxBinding = ctx.maxBindingBytes;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (outLen * (s.bits === 8 ? 4 : 8) > maxBinding) {
    throw new GpuLimitError(`conv2d-int: ${outLen} outputs exceed the storage binding limit (${maxBinding} bytes)`);
  }
  const { padHeight, padWidth } = paddedExtent(s);
  const planes = !s.depthwise && s.bits === 8 ? Math.ceil(g.inChannels / 4) : g.inChannels;
  const paddedBytes = planes * padHeight * padWidth * 4;
  if (paddedBytes > maxBinding) {
    throw new GpuLimitError(`conv2d-int: the unpacked, padded input (${paddedBytes} bytes) exceeds the storage binding limit (${maxBinding} bytes); split the input into tiles`);
  }
  const rows = rowsPerInvocation(s);
  const groups = [
    [Math.ceil(padWidth / PAD_WG), padHeight, planes],
    [Math.ceil(g.outWidth / (PX * TILE_X)), Math.ceil(g.outHeight / (rows * TILE_Y)), s.depthwise ? g.outChannels : Math.ceil(g.outChannels / CO_BLOCK)],
  ] as const;
  if (groups.flat().some((n) => n > maxGroups)) {
    throw new GpuLimitError(`conv2d-int: a ${g.inChannels}x${g.inHeight}x${g.inWidth} -> ${g.outChannels}x${g.outHeight}x${g.outWidth} layer needs more than maxComputeWorkgroupsPerDimension = ${maxGroups} workgroups`);
  }
  const shader = ctx.adapter.packed4x8IntegerDotProduct && !opts.emulateDot4 ? CONV2D_INT_SHADER : CONV2D_INT_SHADER_EMULATED_DOT4;
  const overrides = { BITS: s.bits, DEPTHWISE: s.depthwise ? 1 : 0, USE_DOT4: (opts.q8Path ?? defaultQ8Path(ctx)) === 'dot4' ? 1 : 0 };
  const params = {
    inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels: g.outChannels,
    outHeight: g.outHeight, outWidth: g.outWidth, kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
    stride: [g.strideH, g.strideW], dilation: [g.dilationH, g.dilationW], pad: [g.padTop, g.padLeft],
    inputZero: s.inputZero, rule: RULE_CODE[s.rule],
    rounding: s.rounding === 'half_even' ? 0 : 1, qmin: s.qmin, qmax: s.qmax, writeAcc: writeAcc ? 1 : 0,
    padHeight, padWidth, planes, chunk: s.bits === 16 ? q16Chunk(s) : Q8_CHUNK,
  };
  const padded = batch.scratch(paddedBytes, 'conv2d-int/padded-input');
  batch.dispatch(ctx.kernel(shader, 'pad', { ...overrides, PAD_WG }), { buffers: { source: bufs.input, padded }, params, workgroups: groups[0] });
  const { input: _packedInput, ...rest } = bufs;
  batch.dispatch(ctx.kernel(shader, 'main', { ...overrides, TILE_X, TILE_Y }), { buffers: { ...rest, input: padded }, params, workgroups: groups[1] });
}

/**
 * Run an integer conv on the GPU; same contract as `conv2dIntCpu`.
 *
 * @example
 * const { q, acc } = await conv2dIntGpu(gpu, spec); // spec from src/quant/layer.ts
 */
export async function conv2dIntGpu(ctx: GpuContext, s: IntConvSpec, opts: ConvIntGpuOptions = {}): Promise<IntConvResult> {
  const r = await runConvInt(ctx, s, opts, true);
  return { q: r.q, acc: r.acc! };
}

/**
 * The requantized outputs alone: the accumulators are neither stored nor read
 * back (a trial needs them only when it is dumped).
 */
export async function conv2dIntGpuOutputs(ctx: GpuContext, s: IntConvSpec, opts: ConvIntGpuOptions = {}): Promise<Int32Array> {
  return (await runConvInt(ctx, s, opts, false)).q;
}

async function runConvInt(ctx: GpuContext, s: IntConvSpec, opts: ConvIntGpuOptions, withAcc: boolean): Promise<{ q: Int32Array; acc?: BigInt64Array }> {
  const g = s.geometry;
  const outLen = g.outChannels * g.outHeight * g.outWidth;
  const input = ctx.upload(packInts(s.input, s.bits), 'conv2d-int/input');
  const bufs = uploadIntConv(ctx, s, input);
  try {
    await ctx.run('conv2d-int', (b) => encodeConv2dInt(ctx, b, s, bufs, withAcc, opts));
    const q = new Int32Array(await ctx.read(bufs.qOut, outLen * 4));
    if (!withAcc) return { q };
    return { q, acc: decodeAcc(new Int32Array(await ctx.read(bufs.acc, outLen * (s.bits === 8 ? 4 : 8))), s.bits) };
  } finally {
    ctx.release(...Object.values(bufs));
  }
}

/** Decode the accumulator buffer contents into int64 values. */
export function decodeAcc(words: Int32Array, bits: 8 | 16): BigInt64Array {
  if (bits === 8) return BigInt64Array.from(words, (v) => BigInt(v));
  const out = new BigInt64Array(words.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (BigInt(words[2 * i + 1]) << 32n) | BigInt(words[2 * i] >>> 0);
  return out;
}
