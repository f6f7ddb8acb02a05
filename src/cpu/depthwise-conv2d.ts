/**
 * CPU reference for fp32 depthwise conv2d (channel multiplier 1): plain
 * loops, f64 accumulation, written from the definition and independent of
 * the GPU kernel. Batch 1, input NCHW, weight [C, 1, kh, kw].
 */
import { depthwiseGeometry, type Conv2dOptions } from '../layers/conv-geometry.js';
import { f32, type Tensor } from '../tensor.js';

/**
 * out[c, oy, ox] = bias[c] + sum over ky, kx of
 * weight[c, 0, ky, kx] * input[c, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] (zero outside).
 *
 * @example
 * const out = depthwiseConv2dCpu(input, weight, bias, { padding: 'same' });
 */
export function depthwiseConv2dCpu(input: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const g = depthwiseGeometry(input, weight, bias, opts);
  const { inChannels: channels, inHeight: h, inWidth: w, kernelHeight: kh, kernelWidth: kw } = g;
  const out = new Float32Array(channels * g.outHeight * g.outWidth);
  const x = input.data;
  const wt = weight.data;
  for (let c = 0; c < channels; c++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        let acc = bias ? bias.data[c] : 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
            if (ix < 0 || ix >= w) continue;
            acc += wt[(c * kh + ky) * kw + kx] * x[(c * h + iy) * w + ix];
          }
        }
        out[(c * g.outHeight + oy) * g.outWidth + ox] = acc;
      }
    }
  }
  return f32([1, channels, g.outHeight, g.outWidth], out);
}
