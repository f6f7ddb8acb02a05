/**
 * Bad operands for depthwise conv2d and the LSTM, shared by the CPU tests
 * (test/cpu-reference.test.ts) and the GPU tests, whose kernels run the same
 * validation before any GPU work. Each case names the error it must raise.
 */
import type { Conv2dOptions } from '../src/layers/conv-geometry.js';
import type { LstmInputs } from '../src/layers/lstm-shape.js';
import { f32, type Tensor } from '../src/tensor.js';

export function depthwiseBadCases(): { name: string; args: [Tensor, Tensor, Tensor | undefined, Conv2dOptions]; error: RegExp }[] {
  const x = f32([1, 2, 5, 5]);
  const w = f32([2, 1, 3, 3]);
  const withValue = (t: Tensor, i: number, v: number) => {
    const d = t.data.slice();
    d[i] = v;
    return f32(t.shape, d);
  };
  return [
    { name: 'input of rank 3', args: [f32([2, 5, 5]), w, undefined, {}], error: /depthwise input must have rank 4/ },
    { name: 'batch 2', args: [f32([2, 2, 5, 5]), w, undefined, {}], error: /depthwise input batch must be 1/ },
    { name: 'weight with 2 input channels', args: [x, f32([2, 2, 3, 3]), undefined, {}], error: /depthwise weight must be \[C, 1, kh, kw\] with C = 2/ },
    { name: 'weight for 3 channels', args: [x, f32([3, 1, 3, 3]), undefined, {}], error: /depthwise weight must be \[C, 1, kh, kw\] with C = 2.*\[3, 1, 3, 3\]/ },
    { name: 'bias of length 3', args: [x, w, f32([3]), {}], error: /depthwise bias must have shape \[2\], got \[3\]/ },
    { name: 'empty input', args: [f32([1, 2, 0, 5]), w, undefined, {}], error: /depthwise input is empty/ },
    { name: 'empty weight', args: [x, f32([2, 1, 0, 3]), undefined, {}], error: /depthwise weight is empty/ },
    { name: 'NaN in the input', args: [withValue(x, 7, NaN), w, undefined, {}], error: /depthwise input holds a non-finite value \(NaN\) at flat index 7/ },
    { name: 'Infinity in the weight', args: [x, withValue(w, 4, Infinity), undefined, {}], error: /depthwise weight holds a non-finite value \(Infinity\) at flat index 4/ },
    { name: '-Infinity in the bias', args: [x, w, f32([2], [0, -Infinity]), {}], error: /depthwise bias holds a non-finite value/ },
    { name: 'stride 0', args: [x, w, undefined, { stride: 0 }], error: /stride must be a positive integer/ },
    { name: 'negative padding', args: [x, w, undefined, { padding: [0, -1, 0, 0] }], error: /padding must be non-negative/ },
    { name: 'kernel larger than the input', args: [x, f32([2, 1, 6, 1]), undefined, {}], error: /output would be empty/ },
  ];
}

export function lstmBadCases(): { name: string; args: LstmInputs; error: RegExp }[] {
  const T = 3;
  const I = 2;
  const H = 7;
  const ok: LstmInputs = { input: f32([T, I]), weightIh: f32([4 * H, I]), weightHh: f32([4 * H, H]) };
  const nan = (shape: number[], v = NaN) => {
    const t = f32(shape);
    t.data[t.data.length - 1] = v;
    return t;
  };
  return [
    { name: 'input of rank 1', args: { ...ok, input: f32([I]) }, error: /lstm input must have rank 2/ },
    { name: 'empty input', args: { ...ok, input: f32([0, I]) }, error: /lstm input is empty/ },
    { name: 'weight_ih of rank 3', args: { ...ok, weightIh: f32([4 * H, I, 1]) }, error: /lstm weight_ih must have rank 2/ },
    { name: 'weight_ih with the wrong input size', args: { ...ok, weightIh: f32([4 * H, I + 1]) }, error: /lstm weight_ih must be \[4H, I\] = \[28, 2\]/ },
    { name: 'weight_ih with the wrong hidden size', args: { ...ok, weightIh: f32([4 * H - 4, I]) }, error: /lstm weight_ih must be \[4H, I\]/ },
    { name: 'weight_hh not [4H, H]', args: { ...ok, weightHh: f32([4 * H + 1, H]) }, error: /lstm weight_hh must be \[4H, H\]/ },
    { name: 'empty weight_hh', args: { ...ok, weightHh: f32([0, 0]) }, error: /lstm weight_hh is empty/ },
    { name: 'bias_ih of length 4H + 1', args: { ...ok, biasIh: f32([4 * H + 1]) }, error: /lstm bias_ih must have shape \[28\]/ },
    { name: 'bias_hh of rank 2', args: { ...ok, biasHh: f32([4, H]) }, error: /lstm bias_hh must have shape \[28\]/ },
    { name: 'empty bias_hh', args: { ...ok, biasHh: f32([0]) }, error: /lstm bias_hh must have shape \[28\], got \[0\]/ },
    { name: 'h0 of length H + 1', args: { ...ok, h0: f32([H + 1]) }, error: /lstm h0 must have shape \[7\]/ },
    { name: 'c0 of shape [1, H]', args: { ...ok, c0: f32([1, H]) }, error: /lstm c0 must have shape \[7\]/ },
    { name: 'NaN in the input', args: { ...ok, input: nan([T, I]) }, error: /lstm input holds a non-finite value \(NaN\)/ },
    { name: 'Infinity in weight_ih', args: { ...ok, weightIh: nan([4 * H, I], Infinity) }, error: /lstm weight_ih holds a non-finite value \(Infinity\)/ },
    { name: 'NaN in weight_hh', args: { ...ok, weightHh: nan([4 * H, H]) }, error: /lstm weight_hh holds a non-finite value/ },
    { name: 'NaN in bias_ih', args: { ...ok, biasIh: nan([4 * H]) }, error: /lstm bias_ih holds a non-finite value/ },
    { name: '-Infinity in bias_hh', args: { ...ok, biasHh: nan([4 * H], -Infinity) }, error: /lstm bias_hh holds a non-finite value/ },
    { name: 'NaN in h0', args: { ...ok, h0: nan([H]) }, error: /lstm h0 holds a non-finite value/ },
    { name: 'NaN in c0', args: { ...ok, c0: nan([H]) }, error: /lstm c0 holds a non-finite value/ },
  ];
}
