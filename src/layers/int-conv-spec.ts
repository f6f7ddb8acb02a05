/**
 * The integer form of a conv2d / depthwise conv2d: quantized operands plus the
 * integer requantization parameters. The CPU reference (src/cpu/conv2d-int.ts)
 * and the GPU kernel (src/gpu/kernels/conv2d-int.ts) both take exactly this and
 * must return bit-identical results. Built from a float layer by
 * src/quant/layer.ts.
 */
import { InputError } from '../errors.js';
import type { RoundingMode } from '../quant/rounding.js';
import type { ConvGeometry } from './conv-geometry.js';

/** gemmlowp: Q8 fixed-point multiplier; pow2: Q16 rounding shift; linear64: Q16 reduced multiplier. */
export type RequantRule = 'gemmlowp' | 'pow2' | 'linear64';

export interface IntConvSpec {
  bits: 8 | 16;
  geometry: ConvGeometry;
  depthwise: boolean;
  /** Quantized input values, CHW (uint8 or int16 range). */
  input: Int32Array;
  inputZero: number;
  /** Quantized weights, OIHW (depthwise: [C, 1, kh, kw]). */
  weight: Int32Array;
  /** Per output channel. */
  weightZero: Int32Array;
  /** Per output channel, at scale s_in * s_w[co]; within int32 for bits 8. */
  bias: BigInt64Array;
  rule: RequantRule;
  multiplier: Int32Array;
  shift: Int32Array;
  outZero: Int32Array;
  qmin: number;
  qmax: number;
  rounding: RoundingMode;
}

/** Largest |term| of one product: (255 - 0)^2 for uint8 with zero points, 2^30 for int16 (zero point 0). */
export function maxProduct(bits: 8 | 16): number {
  return bits === 8 ? 255 * 255 : 2 ** 30;
}

/** Reduction length of one output element. */
export function reductionLength(s: IntConvSpec): number {
  const g = s.geometry;
  return (s.depthwise ? 1 : g.inChannels) * g.kernelHeight * g.kernelWidth;
}

/**
 * Check the accumulator bound: Q8 accumulates in int32 and Q16 in int64 (the
 * CPU reference sums the products in a double, exact below 2^53), so
 * n * maxProduct + max|bias| must stay below 2^31 (Q8) or 2^53 (Q16); the
 * linear64 rule multiplies by a 15-bit multiplier in 64 bits, so 2^47 there.
 * Throws an InputError naming the layer when it does not.
 */
export function checkAccumulatorBound(s: IntConvSpec, what: string): void {
  const n = reductionLength(s);
  let maxBias = 0n;
  for (const b of s.bias) maxBias = b < 0n ? (-b > maxBias ? -b : maxBias) : b > maxBias ? b : maxBias;
  const limit = s.bits === 8 ? 2n ** 31n : s.rule === 'linear64' ? 2n ** 47n : 2n ** 53n;
  const worst = BigInt(n) * BigInt(maxProduct(s.bits)) + maxBias;
  if (worst >= limit) {
    throw new InputError(
      `${what}: a reduction of ${n} terms with |bias| up to ${maxBias} could reach ${worst}, beyond the exact ` +
        `${limit === 2n ** 31n ? 'int32' : `2^${limit.toString(2).length - 1}`} accumulator; use fewer input channels or a smaller kernel` +
        (s.bits === 8 ? ', or Q16' : ''),
    );
  }
}
