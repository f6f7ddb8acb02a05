/**
 * CPU reference for fp32 conv2d: plain loops, f64 accumulation, written from
 * the definition and independent of the GPU kernel. Batch 1, NCHW / OIHW.
 */
import { conv2dGeometry, type Conv2dOptions } from '../layers/conv-geometry.js';
import { f32, type Tensor } from '../tensor.js';

/**
 * out[co, oy, ox] = bias[co] + sum over ci, ky, kx of
 * weight[co, ci, ky, kx] * input[ci, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] (zero outside).
 */
export function conv2dCpu(input: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const g = conv2dGeometry(input, weight, bias, opts);
  const { inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernelHeight: kh, kernelWidth: kw } = g;
  const out = new Float32Array(cout * g.outHeight * g.outWidth);
  const x = input.data;
  const wt = weight.data;
  for (let co = 0; co < cout; co++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        let acc = bias ? bias.data[co] : 0;
        for (let ci = 0; ci < cin; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
              if (ix < 0 || ix >= w) continue;
              acc += wt[((co * cin + ci) * kh + ky) * kw + kx] * x[(ci * h + iy) * w + ix];
            }
          }
        }
        out[(co * g.outHeight + oy) * g.outWidth + ox] = acc;
      }
    }
  }
  return f32([1, cout, g.outHeight, g.outWidth], out);
}
