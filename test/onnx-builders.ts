/**
 * Test helpers for ONNX: small models written as ModelProto objects and
 * encoded with the same protobuf library and schema peir reads them with,
 * an independent walk of a decoded model (the protobuf message itself, not
 * peir's graph walk), and naive reference computations written from the
 * ONNX operator definitions (Conv on ONNX-layout weights with ONNX pads;
 * LSTM with ONNX's i, o, f, c gates and W, R, B layout).
 */
import type protobuf from 'protobufjs';
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { depthwiseConv2dCpu } from '../src/cpu/depthwise-conv2d.js';
import type { ModelLayer } from '../src/model/graph.js';
import { encodeOnnxModel, onnxRoot } from '../src/onnx/schema.js';
import type { OnnxGraph, OnnxNode } from '../src/onnx/types.js';
import type { Layer } from '../src/run/engine.js';
import { f32, type Tensor } from '../src/tensor.js';
import { absTensor } from './helpers.js';
import { dotTolerance } from './tolerance.js';

export const SILERO_DIR = 'node_modules/@ricky0123/vad-web/dist';
export const SILERO_LEGACY = `${SILERO_DIR}/silero_vad_legacy.onnx`;
export const SILERO_V5 = `${SILERO_DIR}/silero_vad_v5.onnx`;

export const FLOAT = 1;
export const INT64 = 7;
export const FLOAT16 = 10;

type Obj = Record<string, unknown>;

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>, how: 'raw' | 'float_data' = 'raw'): Obj {
  const data = Float32Array.from(values);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`test tensor ${name}: ${data.length} values for dims ${dims}`);
  return how === 'raw'
    ? { name, dims, data_type: FLOAT, raw_data: new Uint8Array(data.buffer) }
    : { name, dims, data_type: FLOAT, float_data: Array.from(data) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): Obj {
  return { name, dims, data_type: INT64, int64_data: values };
}

export const attr = {
  int: (name: string, i: number): Obj => ({ name, type: 2, i }),
  ints: (name: string, ints: number[]): Obj => ({ name, type: 7, ints }),
  float: (name: string, f: number): Obj => ({ name, type: 1, f }),
  str: (name: string, s: string): Obj => ({ name, type: 3, s: new TextEncoder().encode(s) }),
  strs: (name: string, s: string[]): Obj => ({ name, type: 8, strings: s.map((x) => new TextEncoder().encode(x)) }),
  graph: (name: string, g: Obj): Obj => ({ name, type: 5, g }),
  tensor: (name: string, t: Obj): Obj => ({ name, type: 4, t }),
};

export function node(op: string, input: string[], output: string[], attribute: Obj[] = [], name = `${op}_${output[0]}`): Obj {
  return { op_type: op, input, output, attribute, name };
}

export function valueInfo(name: string, dims: (number | string | null)[] | null, elemType = FLOAT): Obj {
  const shape = dims === null ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})) };
  return { name, type: { tensor_type: { elem_type: elemType, shape } } };
}

export function graph(g: { name?: string; node: Obj[]; initializer?: Obj[]; input?: Obj[]; output?: Obj[]; value_info?: Obj[] }): Obj {
  return { name: g.name ?? 'g', node: g.node, initializer: g.initializer ?? [], input: g.input ?? [], output: g.output ?? [], value_info: g.value_info ?? [] };
}

export function modelBytes(g: Obj, opset = 17): Uint8Array {
  return encodeOnnxModel({ ir_version: 8, opset_import: [{ domain: '', version: opset }], producer_name: 'peir-test', graph: g });
}

/** The raw protobuf message of a model (protobufjs decode, no conversion). */
export function decodeRaw(bytes: Uint8Array): protobuf.Message & Obj {
  return onnxRoot().lookupType('onnx.ModelProto').decode(bytes) as protobuf.Message & Obj;
}

interface RawNode {
  op_type: string;
  name: string;
  attribute: { g?: RawGraph | null; graphs?: RawGraph[] }[];
}
interface RawGraph {
  node: RawNode[];
}

/** Every node with op `op` anywhere in the model: the main graph and every attribute graph, recursively. */
export function independentNodes(model: Obj, op: string): string[] {
  const out: string[] = [];
  const walk = (g: RawGraph) => {
    for (const n of g.node) {
      if (n.op_type === op) out.push(n.name);
      for (const a of n.attribute) {
        if (a.g) walk(a.g);
        for (const sg of a.graphs ?? []) walk(sg);
      }
    }
  };
  walk(model.graph as RawGraph);
  return out;
}

/**
 * ONNX Conv (N = 1, 1-D or 2-D) straight from the operator definition, on
 * ONNX-layout weights [M, C/group, k...] and pads [begins..., ends...]:
 * y[m, o...] = B[m] + sum over c in m's group, k... of W[m, c, k...] x[c, o*s - pad_begin + k*d] (zero outside).
 * Accumulates in f64.
 */
export function naiveOnnxConv(
  x: Float32Array,
  xShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  b: Float32Array | undefined,
  a: { strides: number[]; pads: number[]; dilations: number[]; group: number },
): { data: Float64Array; shape: number[] } {
  const spatial = wShape.length - 2;
  const [m, cg] = wShape;
  const C = xShape[1];
  const inS = spatial === 1 ? [1, xShape[2]] : [xShape[2], xShape[3]];
  const k = spatial === 1 ? [1, wShape[2]] : [wShape[2], wShape[3]];
  const s = spatial === 1 ? [1, a.strides[0]] : a.strides;
  const d = spatial === 1 ? [1, a.dilations[0]] : a.dilations;
  const pb = spatial === 1 ? [0, a.pads[0]] : [a.pads[0], a.pads[1]];
  const pe = spatial === 1 ? [0, a.pads[1]] : [a.pads[2], a.pads[3]];
  const out = [0, 1].map((i) => Math.floor((inS[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1)) / s[i]) + 1);
  const y = new Float64Array(m * out[0] * out[1]);
  const perGroup = m / a.group;
  for (let mo = 0; mo < m; mo++) {
    const g = Math.floor(mo / perGroup);
    for (let oy = 0; oy < out[0]; oy++) {
      for (let ox = 0; ox < out[1]; ox++) {
        let acc = b ? b[mo] : 0;
        for (let cc = 0; cc < cg; cc++) {
          const c = g * cg + cc;
          if (c >= C) throw new Error('channel outside the input');
          for (let ky = 0; ky < k[0]; ky++) {
            const iy = oy * s[0] - pb[0] + ky * d[0];
            if (iy < 0 || iy >= inS[0]) continue;
            for (let kx = 0; kx < k[1]; kx++) {
              const ix = ox * s[1] - pb[1] + kx * d[1];
              if (ix < 0 || ix >= inS[1]) continue;
              acc += w[((mo * cg + cc) * k[0] + ky) * k[1] + kx] * x[(c * inS[0] + iy) * inS[1] + ix];
            }
          }
        }
        y[(mo * out[0] + oy) * out[1] + ox] = acc;
      }
    }
  }
  return { data: y, shape: spatial === 1 ? [1, m, out[1]] : [1, m, out[0], out[1]] };
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * ONNX LSTM, one direction `dir`, batch 1, zero initial state, default
 * activations, from the operator definition: gates in the order i, o, f, c;
 * W [dirs, 4H, I], R [dirs, 4H, H], B [dirs, 8H] = [Wb, Rb];
 *   i = σ(Wi x + Ri h + Wbi + Rbi), o = σ(...o), f = σ(...f), c~ = tanh(...c)
 *   C = f C + i c~,  H = o tanh(C).
 * A reverse direction reads x from the last step to the first and writes
 * Y[t] for the step it read. Returns Y [T, H] in f64.
 */
export function naiveOnnxLstm(
  x: Float32Array,
  steps: number,
  inputSize: number,
  w: Float32Array,
  r: Float32Array,
  b: Float32Array | undefined,
  hidden: number,
  dir: number,
  reverse: boolean,
): Float64Array {
  const H = hidden;
  const W = (row: number, col: number) => w[(dir * 4 * H + row) * inputSize + col];
  const R = (row: number, col: number) => r[(dir * 4 * H + row) * H + col];
  const Bw = (row: number) => (b ? b[dir * 8 * H + row] : 0);
  const Br = (row: number) => (b ? b[dir * 8 * H + 4 * H + row] : 0);
  let h = new Float64Array(H);
  const c = new Float64Array(H);
  const y = new Float64Array(steps * H);
  const gate = (block: number, j: number, t: number) => {
    const row = block * H + j;
    let acc = Bw(row) + Br(row);
    for (let k = 0; k < inputSize; k++) acc += W(row, k) * x[t * inputSize + k];
    for (let k = 0; k < H; k++) acc += R(row, k) * h[k];
    return acc;
  };
  for (let s = 0; s < steps; s++) {
    const t = reverse ? steps - 1 - s : s;
    const next = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(gate(0, j, t));
      const o = sigmoid(gate(1, j, t));
      const f = sigmoid(gate(2, j, t));
      const cc = Math.tanh(gate(3, j, t));
      c[j] = f * c[j] + i * cc;
      next[j] = o * Math.tanh(c[j]);
      y[t * H + j] = next[j];
    }
    h = next;
  }
  return y;
}

export function convLayer(l: ModelLayer): Extract<Layer, { kind: 'conv2d' | 'depthwise' }> {
  return l.layer as Extract<Layer, { kind: 'conv2d' | 'depthwise' }>;
}

/** The CPU reference of a model conv layer on an input in the model's layout ([1, C, L] or [1, C, H, W]). */
export function cpuConv(l: ModelLayer, x: Tensor): Tensor {
  const c = convLayer(l);
  const x4 = x.shape.length === 3 ? f32([1, x.shape[1], 1, x.shape[2]], x.data) : x;
  return c.kind === 'conv2d' ? conv2dCpu(x4, c.weight, c.bias, c.opts) : depthwiseConv2dCpu(x4, c.weight, c.bias, c.opts);
}

/** dotTolerance per element of a model conv layer on x: n terms, magnitude from |x|, |w|, |b|. */
export function convTolerance(l: ModelLayer, x: Tensor): (i: number) => number {
  const c = convLayer(l);
  const x4 = x.shape.length === 3 ? f32([1, x.shape[1], 1, x.shape[2]], x.data) : x;
  const absB = c.bias ? absTensor(c.bias) : undefined;
  const mag = c.kind === 'conv2d' ? conv2dCpu(absTensor(x4), absTensor(c.weight), absB, c.opts) : depthwiseConv2dCpu(absTensor(x4), absTensor(c.weight), absB, c.opts);
  const [, cin, kh, kw] = c.weight.shape;
  const n = (c.kind === 'conv2d' ? cin : 1) * kh * kw + 1;
  return (i) => dotTolerance(n, mag.data[i]);
}

/** Replace If nodes by the chosen branch's nodes (and initializers), renaming its outputs to the If's outputs. */
export function inlineIfs(g: OnnxGraph, choice: Record<string, 'then_branch' | 'else_branch'>): void {
  const nodes: OnnxNode[] = [];
  for (const n of g.node) {
    const which = n.op_type === 'If' ? choice[n.name ?? ''] : undefined;
    if (!which) {
      nodes.push(n);
      continue;
    }
    const br = n.attribute.find((x) => x.name === which)!.g!;
    inlineIfs(br, choice);
    g.initializer.push(...br.initializer);
    nodes.push(...br.node);
    br.output.forEach((o, i) => nodes.push({ op_type: 'Identity', name: `${n.name}_out${i}`, input: [o.name!], output: [n.output[i]], attribute: [] }));
  }
  g.node = nodes;
}

export function findNode(g: OnnxGraph, name: string): OnnxNode | undefined {
  for (const n of g.node) {
    if (n.name === name) return n;
    for (const at of n.attribute) {
      const found = at.g ? findNode(at.g, name) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

export function rawFloats(g: OnnxGraph, name: string): Float32Array {
  const visit = (graph: OnnxGraph): Float32Array | undefined => {
    const t = graph.initializer.find((i) => i.name === name);
    if (t?.raw_data) return new Float32Array(new Uint8Array(t.raw_data).buffer);
    for (const n of graph.node) for (const at of n.attribute) if (at.g) {
      const r = visit(at.g);
      if (r) return r;
    }
    return undefined;
  };
  const r = visit(g);
  if (!r) throw new Error(`initializer ${name} not found`);
  return r;
}

