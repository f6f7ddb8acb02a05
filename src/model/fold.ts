/**
 * Constant folding of float weights that a model computes from stored
 * constants with data-movement operators only: exporters write an LSTM's
 * weights as Slice + Concat + Unsqueeze of the PyTorch tensors (reordering
 * the gates), for instance. Each operator here moves values without
 * arithmetic, so the folded tensor is exactly what the model computes.
 */
import { f32, shapeToString, type Tensor } from '../tensor.js';

/** The same values under another shape (Reshape, Unsqueeze, Squeeze, Flatten, Identity). */
export function reshapeTensor(t: Tensor, shape: readonly number[]): Tensor | undefined {
  const n = shape.reduce((a, b) => a * b, 1);
  return n === t.data.length ? f32(shape, t.data) : undefined;
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/** Concat along `axis` (all ranks equal, other dims equal). */
export function concatTensors(ts: readonly Tensor[], axis: number): Tensor | string {
  const rank = ts[0].shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) return `axis ${axis} outside rank ${rank}`;
  for (const t of ts) {
    if (t.shape.length !== rank || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i])) {
      return `shapes ${ts.map((x) => shapeToString(x.shape)).join(', ')} do not concatenate along axis ${axis}`;
    }
  }
  const outer = ts[0].shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const shape = [...ts[0].shape];
  shape[ax] = ts.reduce((a, t) => a + t.shape[ax], 0);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const block = t.data.length / outer;
      out.set(t.data.subarray(o * block, (o + 1) * block), offset);
      offset += block;
    }
  }
  return f32(shape, out);
}

/** Slice by a plan of [first, count, step] per axis (src/model/shapes.ts slicePlan). */
export function sliceTensor(t: Tensor, plan: readonly [number, number, number][]): Tensor {
  const shape = plan.map((p) => p[1]);
  const src = strides(t.shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat += (plan[d][0] + idx[d] * plan[d][2]) * src[d];
    out[k] = t.data[flat];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return f32(shape, out);
}

/** Transpose by `perm` (output axis d is input axis perm[d]). */
export function transposeTensor(t: Tensor, perm: readonly number[]): Tensor {
  const shape = perm.map((p) => t.shape[p]);
  const src = strides(t.shape);
  const n = t.data.length;
  const out = new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat += idx[d] * src[perm[d]];
    out[k] = t.data[flat];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return f32(shape, out);
}
