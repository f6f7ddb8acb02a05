/**
 * CPU reference of the integer conv2d / depthwise conv2d (shaders/conv2d-int.wgsl):
 * plain loops, exact integer arithmetic. Products are summed in a double, exact
 * because checkAccumulatorBound keeps every partial sum below 2^53 (Q16) or
 * 2^31 (Q8); the bias is added and requantization done in BigInt / int32
 * exactly as src/quant/requant.ts specifies.
 */
import { checkAccumulatorBound, type IntConvSpec } from '../layers/int-conv-spec.js';
import { mbqm, requantLinear64, roundShiftClamp } from '../quant/requant.js';

export interface IntConvResult {
  /** Requantized outputs, CHW. */
  q: Int32Array;
  /** Exact accumulators before requantization, CHW (bias included). */
  acc: BigInt64Array;
}

export function conv2dIntCpu(s: IntConvSpec): IntConvResult {
  checkAccumulatorBound(s, s.depthwise ? 'depthwise int' : 'conv2d int');
  const g = s.geometry;
  const cinPerGroup = s.depthwise ? 1 : g.inChannels;
  const plane = g.outHeight * g.outWidth;
  const q = new Int32Array(g.outChannels * plane);
  const accOut = new BigInt64Array(g.outChannels * plane);
  const { input, weight, inputZero } = s;
  for (let co = 0; co < g.outChannels; co++) {
    const wz = s.weightZero[co];
    const ci0 = s.depthwise ? co : 0;
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        let sum = 0;
        for (let cg = 0; cg < cinPerGroup; cg++) {
          const ci = ci0 + cg;
          for (let ky = 0; ky < g.kernelHeight; ky++) {
            const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
            if (iy < 0 || iy >= g.inHeight) continue;
            for (let kx = 0; kx < g.kernelWidth; kx++) {
              const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
              if (ix < 0 || ix >= g.inWidth) continue;
              const x = input[(ci * g.inHeight + iy) * g.inWidth + ix] - inputZero;
              const w = weight[((co * cinPerGroup + cg) * g.kernelHeight + ky) * g.kernelWidth + kx] - wz;
              sum += x * w;
            }
          }
        }
        const acc = BigInt(sum) + s.bias[co];
        const i = co * plane + oy * g.outWidth + ox;
        accOut[i] = acc;
        let v: number;
        if (s.rule === 'gemmlowp') v = Math.min(Math.max(mbqm(Number(acc), s.multiplier[co], s.shift[co]) + s.outZero[co], s.qmin), s.qmax);
        else if (s.rule === 'pow2') v = roundShiftClamp(acc, s.shift[co], s.rounding, s.qmin, s.qmax);
        else v = requantLinear64(acc, s.multiplier[co], s.shift[co], s.rounding, s.qmin, s.qmax);
        q[i] = v;
      }
    }
  }
  return { q, acc: accOut };
}
