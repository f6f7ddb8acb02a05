/**
 * TensorFlow.js with its WebGPU backend as a benchmark peer. Host-agnostic:
 * in a browser it finds `navigator.gpu` itself; in Node the host must first
 * install Dawn's GPU object as `globalThis.navigator = { gpu }` (bench/main.ts
 * does). It then asks that GPU for an adapter, the same one peir uses.
 *
 * Ops are tfjs's fused kernels in NHWC (tfjs's native layout): conv2d and
 * depthwise with the bias fused in; the LSTM as tfjs ops (one matmul for the
 * input projection, then per step a [1, H] x [H, 4H] matmul and the gate
 * arithmetic). GPU time is tf.time()'s kernelMs (timestamp queries) where the
 * device has them; wall time includes `data()`.
 */
import type { LstmInputs } from '../../src/layers/lstm-shape.js';
import type { Tensor } from '../../src/tensor.js';
import type { Clock, Peer, PeerOp } from '../suite.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

/** NCHW (batch 1) -> NHWC. */
function toNhwc(x: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) out[(y * w + xx) * c + ci] = x[(ci * h + y) * w + xx];
  return out;
}

function toNchw(x: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) out[(ci * h + y) * w + xx] = x[(y * w + xx) * c + ci];
  return out;
}

/** OIHW -> HWIO (tfjs conv filter) or, for depthwise [C, 1, kh, kw], HWC1. */
function toHwio(wt: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(wt.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * i + b) * o + a] = wt[((a * i + b) * kh + y) * kw + x];
  }
  return out;
}

function op(tf: Tf, run: () => TfTensor, layout: (y: Float32Array) => Float32Array, keep: TfTensor[]): PeerOp {
  return {
    async rep() {
      const t0 = performance.now();
      let y: TfTensor | undefined;
      const info = await tf.time(() => {
        y = run();
      });
      await y!.data();
      const wallMs = performance.now() - t0;
      y!.dispose();
      const k = info.kernelMs as unknown;
      return { wallMs, gpuMs: typeof k === 'number' && k > 0 ? k : undefined };
    },
    async output() {
      const y = run();
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return layout(data);
    },
    dispose() {
      for (const t of keep) t.dispose();
    },
  };
}

/**
 * Load tfjs-core and the WebGPU backend and switch to it. Throws when the
 * backend cannot start (no navigator.gpu, no adapter).
 */
export async function createTfjsPeer(): Promise<Peer> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its WebGPU backend (no navigator.gpu or no adapter)');
  await tf.ready();
  const backend = tf.backend() as unknown as { device?: GPUDevice; supportTimestampQuery?: boolean };
  const clock: Clock = backend.supportTimestampQuery ? 'gpu-timestamp' : 'wall';
  return {
    name: 'tfjs-webgpu',
    clock,
    async conv2d(x: Tensor, w: Tensor, b: Tensor, stride: number, padding: 'same' | 'valid') {
      const [, c, h, wd] = x.shape;
      const [o, i, kh, kw] = w.shape;
      const xt = tf.tensor4d(toNhwc(x.data, c, h, wd), [1, h, wd, c]);
      const wt = tf.tensor4d(toHwio(w.data, o, i, kh, kw), [kh, kw, i, o]);
      const bt = tf.tensor1d(b.data);
      const run = () => tf.fused.conv2d({ x: xt, filter: wt, strides: stride, pad: padding, bias: bt });
      const oh = padding === 'same' ? Math.ceil(h / stride) : Math.floor((h - kh) / stride) + 1;
      const ow = padding === 'same' ? Math.ceil(wd / stride) : Math.floor((wd - kw) / stride) + 1;
      return op(tf, run, (y) => toNchw(y, o, oh, ow), [xt, wt, bt]);
    },
    async depthwise(x: Tensor, w: Tensor, b: Tensor) {
      const [, c, h, wd] = x.shape;
      const [, , kh, kw] = w.shape;
      const xt = tf.tensor4d(toNhwc(x.data, c, h, wd), [1, h, wd, c]);
      // [C, 1, kh, kw] -> [kh, kw, C, 1]
      const wt = tf.tensor4d(reorderDepthwise(w.data, c, kh, kw), [kh, kw, c, 1]);
      const bt = tf.tensor1d(b.data);
      const run = () => tf.fused.depthwiseConv2d({ x: xt, filter: wt, strides: 1, pad: 'same', bias: bt });
      return op(tf, run, (y) => toNchw(y, c, h, wd), [xt, wt, bt]);
    },
    async lstm(a: Required<Pick<LstmInputs, 'input' | 'weightIh' | 'weightHh' | 'biasIh' | 'biasHh'>>) {
      const [T, I] = a.input.shape;
      const H = a.weightHh.shape[1];
      const x = tf.tensor2d(a.input.data, [T, I]);
      const wIhT = tf.transpose(tf.tensor2d(a.weightIh.data, [4 * H, I]));
      const wHhT = tf.transpose(tf.tensor2d(a.weightHh.data, [4 * H, H]));
      const bias = tf.add(tf.tensor1d(a.biasIh.data), tf.tensor1d(a.biasHh.data));
      const run = () =>
        tf.tidy(() => {
          const proj = tf.add(tf.matMul(x, wIhT), bias);
          let h: TfTensor = tf.zeros([1, H]);
          let cs: TfTensor = tf.zeros([1, H]);
          const hs: TfTensor[] = [];
          for (let t = 0; t < T; t++) {
            const gates = tf.add(tf.slice(proj, [t, 0], [1, 4 * H]), tf.matMul(h, wHhT));
            const [gi, gf, gg, go] = tf.split(gates, 4, 1);
            cs = tf.add(tf.mul(tf.sigmoid(gf), cs), tf.mul(tf.sigmoid(gi), tf.tanh(gg)));
            h = tf.mul(tf.sigmoid(go), tf.tanh(cs));
            hs.push(h);
          }
          return tf.concat(hs, 0);
        });
      return op(tf, run, (y) => y, [x, wIhT, wHhT, bias]);
    },
    dispose() {
      tf.disposeVariables();
      tf.engine().reset();
    },
  };
}

/** Depthwise weights [C, 1, kh, kw] -> tfjs [kh, kw, C, 1]. */
function reorderDepthwise(w: Float32Array, c: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[(y * kw + x) * c + ch] = w[(ch * kh + y) * kw + x];
  return out;
}
