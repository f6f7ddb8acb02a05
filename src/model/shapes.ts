/**
 * Static shape inference over an ONNX graph, as far as it can be done
 * without running the model: each value has a shape whose dimensions are
 * numbers or unknown (null), and small integer / bool / float constants
 * carry their values, so that shape computations written into the graph
 * (Shape -> Gather -> Concat -> Reshape, pads tensors, If conditions on a
 * shape) fold to numbers. The rules follow the ONNX operator definitions;
 * an operator not listed here leaves its outputs unknown (a declared
 * value_info then still applies; src/model/graph.ts merges the two), and
 * nothing is ever guessed: a dimension is a number only when it follows
 * from known numbers.
 *
 * Conv / pooling output sizes, LSTM outputs and the structural operators
 * (Constant, If, Loop, Scan) are handled in src/model/graph.ts.
 */
import type { NodeAttributes } from '../onnx/attributes.js';
import { MAX_FOLDED_ELEMENTS, smallConstantValues } from '../onnx/tensor.js';
import { OnnxDataType } from '../onnx/types.js';

export type Dim = number | null;

export interface ValueState {
  /** null: rank unknown. */
  shape: Dim[] | null;
  elemType?: number;
  /** A small constant's values in C order (bool as 0 / 1). */
  values?: number[];
}

export const UNKNOWN: ValueState = { shape: null };

export function isKnown(shape: readonly Dim[] | null): shape is number[] {
  return shape !== null && shape.every((d) => d !== null);
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function withValues(shape: Dim[] | null, elemType: number | undefined, values: number[] | undefined): ValueState {
  const ok = values !== undefined && isKnown(shape) && count(shape) === values.length && values.length <= MAX_FOLDED_ELEMENTS;
  return ok ? { shape, elemType, values } : { shape, elemType };
}

const INT_TYPES = new Set<number>([OnnxDataType.INT64, OnnxDataType.INT32, OnnxDataType.INT16, OnnxDataType.INT8, OnnxDataType.UINT8, OnnxDataType.UINT16, OnnxDataType.UINT32, OnnxDataType.UINT64]);

function normAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

/** Numpy-style broadcast of shapes; null when they cannot broadcast or a rank is unknown. */
export function broadcastShapes(shapes: (Dim[] | null)[]): Dim[] | null {
  if (shapes.some((s) => s === null)) return null;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    let unknown = false;
    for (const s of shapes) {
      const x = s![s!.length - rank + i];
      if (x === undefined || x === 1) continue;
      if (x === null) {
        unknown = true;
        continue;
      }
      if (d !== 1 && d !== x) return null;
      d = x;
    }
    // An unknown dimension broadcast against 1s only stays unknown; against a known n > 1 it must be n (or 1).
    out.push(unknown && d === 1 ? null : d);
  }
  return out;
}

/** Values of an output of known `shape`, element by element from its multi-index (small outputs only). */
function gatherValues(shape: readonly number[], at: (idx: readonly number[]) => number): number[] | undefined {
  const n = count(shape);
  if (n > MAX_FOLDED_ELEMENTS) return undefined;
  const idx = new Array<number>(shape.length).fill(0);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let r = k;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    out.push(at(idx));
  }
  return out;
}

/** Elementwise op over broadcast constant inputs (all shapes known). */
function foldBroadcast(inputs: ValueState[], outShape: Dim[] | null, f: (...xs: number[]) => number): number[] | undefined {
  if (!isKnown(outShape) || count(outShape) > MAX_FOLDED_ELEMENTS) return undefined;
  if (!inputs.every((s) => s.values !== undefined && isKnown(s.shape))) return undefined;
  const n = count(outShape);
  const rank = outShape.length;
  const out: number[] = [];
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    let r = k;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = r % outShape[d];
      r = Math.floor(r / outShape[d]);
    }
    const xs = inputs.map((s) => {
      const sh = s.shape as number[];
      let flat = 0;
      for (let d = 0; d < sh.length; d++) flat = flat * sh[d] + (sh[d] === 1 ? 0 : idx[rank - sh.length + d]);
      return s.values![flat];
    });
    out.push(f(...xs));
  }
  return out;
}

/** Ops whose single output has the first input's shape and type. */
const PASS_THROUGH = new Set([
  'Relu', 'Sigmoid', 'Tanh', 'Sqrt', 'Log', 'Exp', 'Abs', 'Neg', 'Clip', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Softplus',
  'Softsign', 'HardSigmoid', 'HardSwish', 'Erf', 'Floor', 'Ceil', 'Round', 'Reciprocal', 'Identity', 'Not', 'Sign', 'Sin',
  'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Dropout', 'BatchNormalization', 'InstanceNormalization',
  'LayerNormalization', 'Softmax', 'LogSoftmax', 'Hardmax', 'Gelu', 'Mish', 'IsNaN', 'IsInf', 'LpNormalization', 'LRN',
  'ThresholdedRelu', 'Shrink', 'QuantizeLinear', 'DequantizeLinear', 'MeanVarianceNormalization', 'CumSum', 'Trilu',
]);
/** Output type: bool. */
const BOOL_OUT = new Set(['Not', 'IsNaN', 'IsInf', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor']);
const BINARY: Record<string, ((a: number, b: number) => number) | null> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: null, // integer division depends on the type: handled below
  Pow: (a, b) => a ** b,
  Mod: null,
  Equal: (a, b) => (a === b ? 1 : 0),
  Less: (a, b) => (a < b ? 1 : 0),
  LessOrEqual: (a, b) => (a <= b ? 1 : 0),
  Greater: (a, b) => (a > b ? 1 : 0),
  GreaterOrEqual: (a, b) => (a >= b ? 1 : 0),
  And: (a, b) => (a && b ? 1 : 0),
  Or: (a, b) => (a || b ? 1 : 0),
  Xor: (a, b) => ((a ? 1 : 0) ^ (b ? 1 : 0)),
  PRelu: (a, b) => (a < 0 ? a * b : a),
  BitShift: null,
};
const VARIADIC: Record<string, ((...xs: number[]) => number) | null> = {
  Max: (...xs) => Math.max(...xs),
  Min: (...xs) => Math.min(...xs),
  Sum: (...xs) => xs.reduce((a, b) => a + b, 0),
  Mean: null,
};
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

const UNARY_FOLD: Record<string, (x: number) => number> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Not: (x) => (x ? 0 : 1),
  Floor: Math.floor,
  Ceil: Math.ceil,
  Sign: Math.sign,
  Relu: (x) => Math.max(x, 0),
};

function castValue(x: number, to: number): number {
  if (to === OnnxDataType.BOOL) return x ? 1 : 0;
  if (INT_TYPES.has(to)) return Math.trunc(x);
  if (to === OnnxDataType.FLOAT) return Math.fround(x);
  return x;
}

/** Constant input values (an optional input that is absent or not constant gives undefined). */
function valuesOf(s: ValueState | undefined): number[] | undefined {
  return s?.values;
}

/** Slice output length along one axis (ONNX Slice's clamping rules). */
function sliceLength(dim: number, start: number, end: number, step: number): number {
  if (step === 0) return -1;
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = Math.min(Math.max(s, 0), dim - 1);
  e = Math.min(Math.max(e, -1), dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

function sliceStart(dim: number, start: number, step: number): number {
  const s = start < 0 ? start + dim : start;
  return step > 0 ? Math.min(Math.max(s, 0), dim) : Math.min(Math.max(s, 0), dim - 1);
}

/**
 * A Slice node's selection on a known input shape: per axis [first index,
 * count, step]; undefined when its starts / ends / axes / steps are not
 * constants or are invalid.
 */
export function slicePlan(a: NodeAttributes, inputs: (ValueState | undefined)[], shape: readonly number[]): [number, number, number][] | undefined {
  const fromInputs = inputs.length > 1;
  const starts = fromInputs ? valuesOf(inputs[1]) : a.ints('starts');
  const ends = fromInputs ? valuesOf(inputs[2]) : a.ints('ends');
  if (starts === undefined || ends === undefined || starts.length !== ends.length) return undefined;
  if (fromInputs && ((inputs[3] && !inputs[3].values) || (inputs[4] && !inputs[4].values))) return undefined;
  const axes = (fromInputs ? inputs[3]?.values : a.ints('axes')) ?? starts.map((_, i) => i);
  const steps = (fromInputs ? inputs[4]?.values : undefined) ?? starts.map(() => 1);
  const plan: [number, number, number][] = shape.map((d) => [0, d, 1]);
  for (let i = 0; i < starts.length; i++) {
    const ax = normAxis(axes[i], shape.length);
    if (ax === undefined || !steps[i]) return undefined;
    plan[ax] = [sliceStart(shape[ax], starts[i], steps[i]), sliceLength(shape[ax], starts[i], ends[i], steps[i]), steps[i]];
  }
  return plan;
}

function reduceAxes(rank: number, axes: number[] | undefined, noopWithEmpty: boolean): Set<number> | null | 'noop' {
  if (axes === undefined || axes.length === 0) return noopWithEmpty ? 'noop' : new Set([...Array(rank).keys()]);
  const out = new Set<number>();
  for (const a of axes) {
    const n = normAxis(a, rank);
    if (n === undefined) return null;
    out.add(n);
  }
  return out;
}

/** Pooling / conv output size along one spatial axis (floor, or ceil with ceil_mode). */
export function pooledSize(input: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceilMode = false): number {
  const eff = (kernel - 1) * dilation + 1;
  const span = input + padBegin + padEnd - eff;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // With ceil_mode the last window must start inside the input or the begin padding.
  if (ceilMode && (out - 1) * stride >= input + padBegin) out--;
  return out;
}

/** SAME_UPPER / SAME_LOWER padding of one axis: [begin, end]. */
export function autoPads(mode: 'SAME_UPPER' | 'SAME_LOWER', input: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - input, 0);
  const small = Math.floor(total / 2);
  return mode === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
}

/**
 * Spatial output dims of a Conv or pooling node for an input's spatial dims
 * (null where unknown), or a string saying why the attributes are invalid.
 */
export function windowOutput(
  a: NodeAttributes,
  spatialIn: Dim[],
  kernel: number[],
  ceilMode = false,
): { dims: Dim[]; pads: number[] | null } | string {
  const n = spatialIn.length;
  const strides = a.ints('strides') ?? new Array<number>(n).fill(1);
  const dilations = a.ints('dilations') ?? new Array<number>(n).fill(1);
  const autoPad = a.string('auto_pad') ?? 'NOTSET';
  if (kernel.length !== n) return `kernel has ${kernel.length} spatial dims, the input ${n}`;
  if (strides.length !== n || strides.some((s) => s < 1)) return `strides [${strides}] must be ${n} positive integers`;
  if (dilations.length !== n || dilations.some((s) => s < 1)) return `dilations [${dilations}] must be ${n} positive integers`;
  let pads: number[] | null;
  if (autoPad === 'NOTSET') {
    pads = a.ints('pads') ?? new Array<number>(2 * n).fill(0);
    if (pads.length !== 2 * n || pads.some((p) => p < 0)) return `pads [${pads}] must be ${2 * n} non-negative integers`;
  } else if (autoPad === 'VALID') {
    pads = new Array<number>(2 * n).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    if (!isKnown(spatialIn)) pads = null;
    else {
      pads = new Array<number>(2 * n).fill(0);
      for (let i = 0; i < n; i++) [pads[i], pads[i + n]] = autoPads(autoPad, spatialIn[i], kernel[i], strides[i], dilations[i]);
    }
  } else {
    return `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`;
  }
  const dims: Dim[] = spatialIn.map((d, i) => (d === null || pads === null ? null : pooledSize(d, kernel[i], strides[i], dilations[i], pads[i], pads[i + n], ceilMode)));
  if (dims.some((d) => d !== null && d < 1)) return `the window (kernel ${kernel}, dilations ${dilations}) is larger than the padded input [${spatialIn}]`;
  return { dims, pads };
}

/**
 * Output states of one node from its input states (undefined for an absent
 * optional input). Returns undefined for operators this module does not
 * know: the caller then falls back to value_info.
 */
export function inferNode(op: string, a: NodeAttributes, inputs: (ValueState | undefined)[], outputCount: number): ValueState[] | undefined {
  const x = inputs[0] ?? UNKNOWN;
  const one = (s: ValueState): ValueState[] => [s, ...new Array<ValueState>(Math.max(outputCount - 1, 0)).fill(UNKNOWN)];

  if (PASS_THROUGH.has(op)) {
    const elemType = BOOL_OUT.has(op) ? OnnxDataType.BOOL : x.elemType;
    const f = UNARY_FOLD[op] as ((v: number) => number) | undefined;
    return one(withValues(x.shape, elemType, f !== undefined && x.values ? x.values.map(f) : undefined));
  }
  if (op === 'Cast' || op === 'CastLike') {
    const to = op === 'Cast' ? a.int('to') : inputs[1]?.elemType;
    return one(withValues(x.shape, to, to !== undefined && x.values ? x.values.map((v) => castValue(v, to)) : undefined));
  }
  if (op in BINARY || op in VARIADIC || op === 'Where') {
    const ins = inputs.map((s) => s ?? UNKNOWN);
    const shape = broadcastShapes(ins.map((s) => s.shape));
    const isInt = INT_TYPES.has(ins[0].elemType ?? -1);
    let f: ((...xs: number[]) => number) | null = op === 'Where' ? (c, p, q) => (c ? p : q) : (BINARY[op] ?? VARIADIC[op] ?? null);
    if (op === 'Div') f = isInt ? (p, q) => (q === 0 ? NaN : Math.trunc(p / q)) : (p, q) => p / q;
    if (op === 'Mod') f = a.int('fmod', 0) ? (p, q) => p % q : (p, q) => p - q * Math.floor(p / q);
    if (op === 'Mean') f = (...xs) => xs.reduce((p, q) => p + q, 0) / xs.length;
    const elemType = BOOL_OUT.has(op) ? OnnxDataType.BOOL : op === 'Where' ? ins[1].elemType : ins[0].elemType;
    const values = f ? foldBroadcast(ins, shape, f) : undefined;
    return one(withValues(shape, elemType, values && values.every(Number.isFinite) ? values : undefined));
  }
  switch (op) {
    case 'Shape': {
      if (x.shape === null) return one({ shape: [null], elemType: OnnxDataType.INT64 });
      const r = x.shape.length;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      const s = clamp(a.int('start', 0));
      const e = clamp(a.int('end') ?? r);
      const dims = x.shape.slice(s, Math.max(s, e));
      return one(withValues([dims.length], OnnxDataType.INT64, isKnown(dims) ? dims : undefined));
    }
    case 'Size':
      return one(withValues([], OnnxDataType.INT64, isKnown(x.shape) ? [count(x.shape)] : undefined));
    case 'Gather': {
      const idx = inputs[1] ?? UNKNOWN;
      if (x.shape === null || idx.shape === null) return one({ shape: null, elemType: x.elemType });
      const axis = normAxis(a.int('axis', 0), x.shape.length);
      if (axis === undefined) return one({ shape: null, elemType: x.elemType });
      const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
      let values: number[] | undefined;
      if (x.values && idx.values && x.shape.length === 1) {
        const n = x.shape[0] as number;
        values = idx.values.map((i) => x.values![i < 0 ? i + n : i]);
        if (values.some((v) => v === undefined)) values = undefined;
      }
      return one(withValues(shape, x.elemType, values));
    }
    case 'Unsqueeze': {
      const axes = a.ints('axes') ?? valuesOf(inputs[1]);
      if (x.shape === null || axes === undefined) return one({ shape: null, elemType: x.elemType });
      const rank = x.shape.length + axes.length;
      const norm = axes.map((v) => normAxis(v, rank));
      if (norm.some((v) => v === undefined) || new Set(norm).size !== norm.length) return one({ shape: null, elemType: x.elemType });
      const out: Dim[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x.shape[k++]);
      return one(withValues(out, x.elemType, x.values));
    }
    case 'Squeeze': {
      const axes = a.ints('axes') ?? valuesOf(inputs[1]);
      if (x.shape === null) return one({ shape: null, elemType: x.elemType });
      let drop: Set<number>;
      if (axes === undefined || axes.length === 0) {
        if (!isKnown(x.shape)) return one({ shape: null, elemType: x.elemType });
        drop = new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
      } else {
        const norm = axes.map((v) => normAxis(v, x.shape!.length));
        if (norm.some((v) => v === undefined)) return one({ shape: null, elemType: x.elemType });
        drop = new Set(norm as number[]);
      }
      return one(withValues(x.shape.filter((_, i) => !drop.has(i)), x.elemType, x.values));
    }
    case 'Concat': {
      const ins = inputs.map((s) => s ?? UNKNOWN);
      if (ins.some((s) => s.shape === null)) return one({ shape: null, elemType: x.elemType });
      const rank = ins[0].shape!.length;
      if (ins.some((s) => s.shape!.length !== rank)) return one({ shape: null, elemType: x.elemType });
      const axis = normAxis(a.int('axis', 0), rank);
      if (axis === undefined) return one({ shape: null, elemType: x.elemType });
      const out: Dim[] = [];
      for (let d = 0; d < rank; d++) {
        if (d === axis) {
          const ds = ins.map((s) => s.shape![d]);
          out.push(ds.every((v) => v !== null) ? (ds as number[]).reduce((p, q) => p + q, 0) : null);
        } else out.push(ins.map((s) => s.shape![d]).find((v) => v !== null) ?? null);
      }
      const values = axis === 0 && ins.every((s) => s.values) ? ins.flatMap((s) => s.values!) : undefined;
      return one(withValues(out, x.elemType, values));
    }
    case 'Reshape': {
      const target = valuesOf(inputs[1]);
      if (target === undefined) {
        const len = inputs[1]?.shape?.[0];
        return one({ shape: typeof len === 'number' ? new Array<Dim>(len).fill(null) : null, elemType: x.elemType });
      }
      const allowZero = a.int('allowzero', 0) === 1;
      const out: Dim[] = target.map((v, i) => (v === 0 && !allowZero ? (x.shape?.[i] ?? null) : v === -1 ? null : v));
      const minus = target.indexOf(-1);
      if (minus >= 0) {
        const rest = out.filter((_, i) => i !== minus);
        out[minus] = isKnown(x.shape) && isKnown(rest) && count(rest) > 0 ? count(x.shape) / count(rest) : null;
        if (out[minus] !== null && !Number.isInteger(out[minus])) return one({ shape: null, elemType: x.elemType });
      }
      return one(withValues(out, x.elemType, x.values));
    }
    case 'Flatten': {
      if (x.shape === null) return one({ shape: null, elemType: x.elemType });
      const r = x.shape.length;
      const axis = a.int('axis', 1);
      const k = axis < 0 ? axis + r : axis;
      const head = x.shape.slice(0, k);
      const tail = x.shape.slice(k);
      return one(withValues([isKnown(head) ? count(head) : null, isKnown(tail) ? count(tail) : null], x.elemType, x.values));
    }
    case 'Expand': {
      const target = valuesOf(inputs[1]);
      if (target === undefined) return one({ shape: null, elemType: x.elemType });
      return one({ shape: broadcastShapes([x.shape, target]), elemType: x.elemType });
    }
    case 'Tile': {
      const reps = valuesOf(inputs[1]);
      if (x.shape === null || reps === undefined || reps.length !== x.shape.length) return one({ shape: null, elemType: x.elemType });
      return one({ shape: x.shape.map((d, i) => (d === null ? null : d * reps[i])), elemType: x.elemType });
    }
    case 'Slice': {
      const fromInputs = inputs.length > 1;
      const starts = fromInputs ? valuesOf(inputs[1]) : a.ints('starts');
      const ends = fromInputs ? valuesOf(inputs[2]) : a.ints('ends');
      if (x.shape === null || starts === undefined || ends === undefined || starts.length !== ends.length) return one({ shape: null, elemType: x.elemType });
      const rank = x.shape.length;
      const axes = (fromInputs ? (inputs[3] ? valuesOf(inputs[3]) : undefined) : a.ints('axes')) ?? starts.map((_, i) => i);
      const steps = (fromInputs && inputs[4] ? valuesOf(inputs[4]) : undefined) ?? starts.map(() => 1);
      if ((fromInputs && inputs[3] && !inputs[3].values) || (fromInputs && inputs[4] && !inputs[4].values)) return one({ shape: new Array<Dim>(rank).fill(null), elemType: x.elemType });
      const out = [...x.shape];
      const spec: [number, number, number][] = x.shape.map((d) => [0, d ?? 0, 1]);
      for (let i = 0; i < starts.length; i++) {
        const ax = normAxis(axes[i], rank);
        if (ax === undefined || steps[i] === 0) return one({ shape: null, elemType: x.elemType });
        const d = x.shape[ax];
        if (d === null) continue;
        const len = sliceLength(d, starts[i], ends[i], steps[i]);
        out[ax] = len;
        spec[ax] = [sliceStart(d, starts[i], steps[i]), len, steps[i]];
      }
      let values: number[] | undefined;
      if (x.values && isKnown(x.shape) && isKnown(out)) {
        const src = x.shape;
        values = gatherValues(out, (idx) => {
          let flat = 0;
          for (let d = 0; d < rank; d++) flat = flat * src[d] + spec[d][0] + idx[d] * spec[d][2];
          return x.values![flat];
        });
      }
      return one(withValues(out, x.elemType, values));
    }
    case 'Pad': {
      const pads = a.ints('pads') ?? a.ints('paddings') ?? valuesOf(inputs[1]);
      if (x.shape === null || pads === undefined) return one({ shape: x.shape === null ? null : x.shape.map(() => null), elemType: x.elemType });
      const rank = x.shape.length;
      const axesIn = inputs[3] ? valuesOf(inputs[3]) : [...Array(rank).keys()];
      if (axesIn === undefined || pads.length !== 2 * axesIn.length) return one({ shape: x.shape.map(() => null), elemType: x.elemType });
      const out = [...x.shape];
      for (let i = 0; i < axesIn.length; i++) {
        const ax = normAxis(axesIn[i], rank);
        if (ax === undefined) return one({ shape: null, elemType: x.elemType });
        const d = out[ax];
        out[ax] = d === null ? null : d + pads[i] + pads[i + axesIn.length];
      }
      return one({ shape: out, elemType: x.elemType });
    }
    case 'Transpose': {
      if (x.shape === null) return one({ shape: null, elemType: x.elemType });
      const r = x.shape.length;
      const perm = a.ints('perm') ?? [...Array(r).keys()].reverse();
      if (perm.length !== r || perm.some((p) => p < 0 || p >= r)) return one({ shape: null, elemType: x.elemType });
      const out = perm.map((p) => x.shape![p]);
      let values: number[] | undefined;
      if (x.values && isKnown(x.shape) && isKnown(out)) {
        const src = x.shape;
        values = gatherValues(out, (idx) => {
          const at = new Array<number>(r);
          perm.forEach((p, d) => (at[p] = idx[d]));
          let flat = 0;
          for (let d = 0; d < r; d++) flat = flat * src[d] + at[d];
          return x.values![flat];
        });
      }
      return one(withValues(out, x.elemType, values));
    }
    case 'ConstantOfShape': {
      const target = valuesOf(inputs[0]);
      const value = a.tensor('value');
      const elemType = value?.data_type ?? OnnxDataType.FLOAT;
      if (target === undefined) {
        const len = inputs[0]?.shape?.[0];
        return one({ shape: typeof len === 'number' ? new Array<Dim>(len).fill(null) : null, elemType });
      }
      const fill = value ? (smallConstantValues(value, `value of ${a.label}`, a.file)?.[0] ?? undefined) : 0;
      return one(withValues(target, elemType, fill !== undefined && count(target) <= MAX_FOLDED_ELEMENTS ? new Array<number>(count(target)).fill(fill) : undefined));
    }
    case 'Range': {
      const [s, l, d] = [0, 1, 2].map((i) => valuesOf(inputs[i])?.[0]);
      if (s === undefined || l === undefined || d === undefined || d === 0) return one({ shape: [null], elemType: x.elemType });
      const n = Math.max(Math.ceil((l - s) / d), 0);
      return one(withValues([n], x.elemType, n <= MAX_FOLDED_ELEMENTS ? Array.from({ length: n }, (_, i) => s + i * d) : undefined));
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (x.shape === null) return one({ shape: null, elemType: OnnxDataType.INT64 });
      const ax = normAxis(a.int('axis', 0), x.shape.length);
      if (ax === undefined) return one({ shape: null, elemType: OnnxDataType.INT64 });
      const keep = a.int('keepdims', 1) === 1;
      return one({ shape: x.shape.flatMap((d, i) => (i === ax ? (keep ? [1] : []) : [d])), elemType: OnnxDataType.INT64 });
    }
    case 'MatMul': {
      const b = inputs[1] ?? UNKNOWN;
      if (x.shape === null || b.shape === null || x.shape.length === 0 || b.shape.length === 0) return one({ shape: null, elemType: x.elemType });
      const as = x.shape.length === 1 ? [1, x.shape[0]] : x.shape;
      const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
      const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
      if (batch === null) return one({ shape: null, elemType: x.elemType });
      const out = [...batch, ...(x.shape.length === 1 ? [] : [as[as.length - 2]]), ...(b.shape.length === 1 ? [] : [bs[bs.length - 1]])];
      return one({ shape: out, elemType: x.elemType });
    }
    case 'Gemm': {
      const b = inputs[1] ?? UNKNOWN;
      if (x.shape?.length !== 2 || b.shape?.length !== 2) return one({ shape: null, elemType: x.elemType });
      const m = a.int('transA', 0) ? x.shape[1] : x.shape[0];
      const n = a.int('transB', 0) ? b.shape[0] : b.shape[1];
      return one({ shape: [m, n], elemType: x.elemType });
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'GlobalLpPool':
      return one({ shape: x.shape === null ? null : x.shape.map((d, i) => (i < 2 ? d : 1)), elemType: x.elemType });
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool': {
      const kernel = a.ints('kernel_shape');
      if (x.shape === null || kernel === undefined || x.shape.length < 3) return [{ shape: null, elemType: x.elemType }, ...new Array<ValueState>(Math.max(outputCount - 1, 0)).fill(UNKNOWN)];
      const r = windowOutput(a, x.shape.slice(2), kernel, a.int('ceil_mode', 0) === 1);
      if (typeof r === 'string') throw a.error(r);
      const shape = [x.shape[0], x.shape[1], ...r.dims];
      return [{ shape, elemType: x.elemType }, ...(outputCount > 1 ? [{ shape, elemType: OnnxDataType.INT64 }] : [])];
    }
    case 'Split': {
      if (x.shape === null) return new Array<ValueState>(outputCount).fill(UNKNOWN);
      const ax = normAxis(a.int('axis', 0), x.shape.length);
      if (ax === undefined) return new Array<ValueState>(outputCount).fill(UNKNOWN);
      const d = x.shape[ax];
      let sizes = a.ints('split') ?? valuesOf(inputs[1]);
      if (sizes === undefined && d !== null) {
        const k = Math.ceil(d / outputCount);
        sizes = Array.from({ length: outputCount }, (_, i) => Math.max(0, Math.min(k, d - i * k)));
      }
      return Array.from({ length: outputCount }, (_, i) => ({
        shape: x.shape!.map((v, j) => (j === ax ? (sizes?.[i] ?? null) : v)),
        elemType: x.elemType,
      }));
    }
  }
  if (REDUCE.has(op)) {
    if (x.shape === null) return one({ shape: null, elemType: x.elemType });
    const axes = a.ints('axes') ?? valuesOf(inputs[1]);
    if (axes === undefined && inputs[1] !== undefined) return one({ shape: null, elemType: x.elemType });
    const set = reduceAxes(x.shape.length, axes, a.int('noop_with_empty_axes', 0) === 1);
    if (set === null) return one({ shape: null, elemType: x.elemType });
    if (set === 'noop') return one({ shape: x.shape, elemType: x.elemType });
    const keep = a.int('keepdims', 1) === 1;
    return one({ shape: x.shape.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d])), elemType: x.elemType });
  }
  return undefined;
}
