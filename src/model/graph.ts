/**
 * The graph walk of `peir model`: every Conv and LSTM node of an ONNX model,
 * in the main graph and, recursively, in the bodies of If (then / else),
 * Loop and Scan nodes (and any other node that carries a graph), each turned
 * into the engine's layer with the shape of its input, or reported as
 * skipped with the reason.
 *
 * Scopes: a subgraph sees the values, initializers and Constant outputs of
 * the graphs that enclose it (ONNX's lexical scoping), so a weight stored in
 * the main graph serves a Conv inside an If branch. Weights must be stored
 * constants (an initializer or a Constant node, possibly behind Identity
 * nodes); anything computed at run time is skipped with the producing op
 * named.
 *
 * Shapes: graph inputs take their declared shape, with `--input-shape`
 * overriding it; a symbolic dimension (dim_param) given a value through one
 * input takes that value everywhere, and one whose name says batch is set
 * to 1 (with a note). Values then flow through src/model/shapes.ts, Conv
 * and LSTM output rules, If branches (the taken branch when its condition
 * folds to a constant, else what both branches agree on), and value_info
 * declarations fill in what inference leaves open. A layer whose input
 * shape is still unknown is kept with inputShape null: the run reports it
 * skipped ("input shape unknown") unless --inputs supplies the activations.
 */
import { InputError, ModelFileError } from '../errors.js';
import type { Layer } from '../run/engine.js';
import type { Tensor } from '../tensor.js';
import { NodeAttributes, nodeLabel } from '../onnx/attributes.js';
import { dataTypeName, floatTensor, safeInt, smallConstantValues, tensorDims, type ExternalReader, type TensorSourceContext } from '../onnx/tensor.js';
import { OnnxDataType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../onnx/types.js';
import { engineConvOptions, engineConvWeight, foldBatchNorm, lstmDirection, type ConvSpec } from './layers.js';
import { concatTensors, reshapeTensor, sliceTensor, transposeTensor } from './fold.js';
import { inferNode, isKnown, slicePlan, UNKNOWN, windowOutput, type Dim, type ValueState } from './shapes.js';

export type LayerKind = 'conv2d' | 'depthwise' | 'lstm';

/** One measurable layer found in the model. */
export interface ModelLayer {
  /** Unique: graph path, node name, and a suffix for LSTM directions / folded variants. */
  id: string;
  /** Node name plus that suffix, for people. */
  name: string;
  node: string;
  op: 'Conv' | 'LSTM';
  kind: LayerKind;
  graph: string;
  /** The node's input tensor (X), which --inputs files are named after. */
  inputName: string;
  /** The node's (first) output tensor. */
  outputName: string;
  /** Shape of X in the model's layout with batch 1; null when it cannot be known statically. */
  inputShape: number[] | null;
  /** Shape of the ONNX weight W. */
  weightShape: number[];
  conv?: ConvSpec & { group: number; inChannels: number; outChannels: number };
  lstm?: { hidden: number; inputSize: number; direction: 'forward' | 'reverse'; layout: 0 | 1 };
  /** With --fold-bn: the conv as stored, or with the following BatchNormalization folded in. */
  variant?: 'unfolded' | 'bn-folded';
  /** The layer in the engine's layout; conv `opts` are resolved when inputShape is known. */
  layer: Layer;
  notes: string[];
}

export interface SkippedLayer {
  id: string;
  node: string;
  op: string;
  graph: string;
  reason: string;
}

export interface GraphInputInfo {
  name: string;
  shape: Dim[] | null;
  /** 'given': --input-shape; 'declared': the model's type (with symbolic dims bound where possible). */
  source: 'given' | 'declared';
}

export interface ModelAnalysis {
  file: string;
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: GraphInputInfo[];
  layers: ModelLayer[];
  skipped: SkippedLayer[];
  /** Conv and LSTM nodes found anywhere (each is in layers or in skipped). */
  found: { Conv: number; LSTM: number };
  notes: string[];
}

/** `--input-shape [NAME=]d1,d2,...`: no name means the first graph input. */
export interface InputShapeSpec {
  name?: string;
  dims: number[];
}

export interface AnalyzeOptions {
  file: string;
  readExternal?: ExternalReader;
  inputShapes?: readonly InputShapeSpec[];
  foldBn?: boolean;
}

const BATCH_PARAM = /batch|^n$|^bs$/i;
const LSTM_DEFAULT_ACTIVATIONS = ['sigmoid', 'tanh', 'tanh'];
const MAX_FOLD_DEPTH = 64;
/** Operators that only move values: a weight computed through them from constants is folded. */
const FOLDABLE = new Set(['Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Cast', 'Concat', 'Slice', 'Transpose']);

class Scope {
  readonly values = new Map<string, ValueState>();
  readonly tensors = new Map<string, OnnxTensor>();
  readonly producers = new Map<string, OnnxNode>();
  readonly sparse = new Set<string>();
  constructor(readonly parent: Scope | undefined) {}

  state(name: string): ValueState | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const v = s.values.get(name);
      if (v) return v;
    }
    return undefined;
  }

  /** The innermost definition of `name`. */
  definition(name: string): { tensor: OnnxTensor } | { producer: OnnxNode } | { sparse: true } | { input: true } | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const t = s.tensors.get(name);
      if (t) return { tensor: t };
      const p = s.producers.get(name);
      if (p) return { producer: p };
      if (s.sparse.has(name)) return { sparse: true };
      if (s.values.has(name)) return { input: true };
    }
    return undefined;
  }
}

function nodeName(node: OnnxNode, index: number): string {
  return node.name || `${node.op_type ?? 'node'}#${index}`;
}

function isDefaultDomain(node: OnnxNode): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

function sameShape(a: Dim[] | null, b: Dim[] | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** What two alternatives (If branches) agree on. */
function agree(a: ValueState | undefined, b: ValueState | undefined): ValueState {
  if (!a || !b || a.shape === null || b.shape === null || a.shape.length !== b.shape.length) return UNKNOWN;
  return {
    shape: a.shape.map((d, i) => (d === b.shape![i] ? d : null)),
    elemType: a.elemType === b.elemType ? a.elemType : undefined,
    values: a.values && b.values && a.values.every((v, i) => v === b.values![i]) ? a.values : undefined,
  };
}

class Analyzer {
  readonly layers: ModelLayer[] = [];
  readonly skipped: SkippedLayer[] = [];
  readonly notes: string[] = [];
  readonly found = { Conv: 0, LSTM: 0 };
  readonly symbols = new Map<string, number>();
  private readonly useCounts = new WeakMap<OnnxGraph, Map<string, number>>();
  private readonly ctx: TensorSourceContext;

  constructor(private readonly opts: AnalyzeOptions) {
    this.ctx = { file: opts.file, readExternal: opts.readExternal };
  }

  private get file(): string {
    return this.opts.file;
  }

  // ---- declared types ----

  typeState(vi: OnnxValueInfo | undefined): ValueState | undefined {
    const tt = vi?.type?.tensor_type;
    if (!tt) return undefined;
    if (!tt.shape) return { shape: null, elemType: tt.elem_type };
    const shape = tt.shape.dim.map((d, i): Dim => {
      if (d.dim_value !== undefined) return safeInt(d.dim_value, `value '${vi!.name}' dim ${i}`, this.file);
      if (d.dim_param) return this.symbols.get(d.dim_param) ?? null;
      return null;
    });
    return { shape, elemType: tt.elem_type };
  }

  tensorState(t: OnnxTensor, what: string): ValueState {
    const shape = tensorDims(t, what, this.file);
    return { shape, elemType: t.data_type, values: smallConstantValues(t, what, this.file) };
  }

  // ---- graph inputs ----

  bindMainInputs(g: OnnxGraph, scope: Scope): GraphInputInfo[] {
    const real = g.input.filter((i) => i.name && !scope.tensors.has(i.name));
    const given = new Map<string, number[]>();
    for (const s of this.opts.inputShapes ?? []) {
      const name = s.name ?? real[0]?.name;
      const vi = real.find((i) => i.name === name);
      if (!name || !vi) {
        throw new InputError(
          `--input-shape ${s.name ?? ''}${s.name ? '=' : ''}${s.dims.join(',')}: the model has no graph input ` +
            `${s.name ? `'${s.name}'` : ''}; its inputs are ${real.map((i) => i.name).join(', ') || '(none)'}`,
        );
      }
      const dims = vi.type?.tensor_type?.shape?.dim;
      if (dims && dims.length !== s.dims.length) {
        throw new InputError(`--input-shape for '${name}' has ${s.dims.length} dimensions, the model declares ${dims.length}`);
      }
      dims?.forEach((d, i) => {
        if (d.dim_value !== undefined && Number(d.dim_value) !== s.dims[i]) {
          throw new InputError(`--input-shape for '${name}': dimension ${i} is ${s.dims[i]}, the model fixes it at ${d.dim_value}`);
        }
        if (d.dim_param) this.symbols.set(d.dim_param, s.dims[i]);
      });
      given.set(name, s.dims);
    }
    for (const vi of real) {
      if (given.has(vi.name!)) continue;
      for (const d of vi.type?.tensor_type?.shape?.dim ?? []) {
        if (d.dim_value === undefined && d.dim_param && !this.symbols.has(d.dim_param) && BATCH_PARAM.test(d.dim_param)) {
          this.symbols.set(d.dim_param, 1);
          this.notes.push(`symbolic dimension '${d.dim_param}' (of input '${vi.name}') set to 1: peir measures batch 1`);
        }
      }
    }
    return real.map((vi) => {
      const dims = given.get(vi.name!);
      const state: ValueState = dims ? { shape: dims, elemType: vi.type?.tensor_type?.elem_type } : (this.typeState(vi) ?? UNKNOWN);
      scope.values.set(vi.name!, state);
      return { name: vi.name!, shape: state.shape, source: dims ? 'given' : 'declared' };
    });
  }

  // ---- the walk ----

  /**
   * Walk a graph; returns the states of its outputs. `inputStates` bind a
   * subgraph's inputs by position (merged with their declared types).
   */
  walkGraph(g: OnnxGraph, parent: Scope | undefined, path: string, inputStates: (ValueState | undefined)[] = [], main?: { inputs: GraphInputInfo[] }): ValueState[] {
    const scope = new Scope(parent);
    for (const t of g.initializer) {
      if (!t.name) continue;
      scope.tensors.set(t.name, t);
      scope.values.set(t.name, this.tensorState(t, `initializer of graph '${path}'`));
    }
    for (const s of g.sparse_initializer) {
      const name = s.values?.name;
      if (!name) continue;
      scope.sparse.add(name);
      scope.values.set(name, { shape: s.dims.map((d, i) => safeInt(d, `sparse initializer '${name}' dims[${i}]`, this.file)), elemType: s.values?.data_type });
    }
    const declared = new Map<string, ValueState>();
    for (const vi of [...g.value_info, ...g.output]) {
      const s = this.typeState(vi);
      if (vi.name && s) declared.set(vi.name, s);
    }
    if (main) main.inputs.push(...this.bindMainInputs(g, scope));
    else {
      g.input.forEach((vi, i) => {
        if (!vi.name || scope.tensors.has(vi.name)) return;
        scope.values.set(vi.name, this.merge(inputStates[i], this.typeState(vi), vi.name));
      });
    }
    g.node.forEach((node, index) => this.visitNode(g, node, index, scope, path, declared));
    return g.output.map((o) => (o.name ? (scope.state(o.name) ?? declared.get(o.name) ?? UNKNOWN) : UNKNOWN));
  }

  /** Inferred and declared shape, dimension by dimension; a conflict takes the declaration, with a note. */
  merge(inferred: ValueState | undefined, declared: ValueState | undefined, name: string): ValueState {
    if (!inferred || inferred.shape === null) return declared ? { shape: declared.shape, elemType: declared.elemType ?? inferred?.elemType } : (inferred ?? UNKNOWN);
    if (!declared || declared.shape === null) return inferred;
    if (declared.shape.length !== inferred.shape.length) {
      this.notes.push(`value '${name}': value_info declares rank ${declared.shape.length}, inference gives [${inferred.shape.join(', ')}]; the declaration is used`);
      return declared;
    }
    let conflict = false;
    const shape = inferred.shape.map((d, i) => {
      const e = declared.shape![i];
      if (d !== null && e !== null && d !== e) conflict = true;
      return e ?? d;
    });
    if (conflict) this.notes.push(`value '${name}': value_info declares [${declared.shape.join(', ')}], inference gives [${inferred.shape.join(', ')}]; the declaration is used`);
    return sameShape(shape, inferred.shape) ? inferred : { shape, elemType: inferred.elemType ?? declared.elemType };
  }

  visitNode(g: OnnxGraph, node: OnnxNode, index: number, scope: Scope, path: string, declared: Map<string, ValueState>): void {
    const op = node.op_type ?? '';
    const a = new NodeAttributes(node, path, this.file);
    const ins = node.input.map((n) => (n ? (scope.state(n) ?? UNKNOWN) : undefined));
    const name = nodeName(node, index);
    let outs: (ValueState | undefined)[] | undefined;
    if (!isDefaultDomain(node)) {
      if (op === 'Conv' || op === 'LSTM') {
        this.found[op]++;
        this.skip(path, name, op, `operator of domain '${node.domain}', not the standard ONNX ${op}`);
      }
      this.walkOtherSubgraphs(node, scope, path, name);
    } else {
      switch (op) {
        case 'Constant':
          outs = [this.constantState(a, scope, node)];
          break;
        case 'If':
          outs = this.ifNode(a, ins, scope, path, name);
          break;
        case 'Loop':
          this.loopNode(a, scope, path, name);
          break;
        case 'Scan':
          this.scanNode(a, node, ins, scope, path, name);
          break;
        case 'Conv':
          outs = [this.convNode(g, node, a, ins, scope, path, name)];
          break;
        case 'LSTM':
          outs = this.lstmNode(node, a, ins, scope, path, name);
          break;
        default:
          outs = inferNode(op, a, ins, node.output.length);
          this.walkOtherSubgraphs(node, scope, path, name);
      }
    }
    node.output.forEach((out, i) => {
      if (!out) return;
      scope.values.set(out, this.merge(outs?.[i], declared.get(out), out));
      scope.producers.set(out, node);
    });
  }

  /** Subgraphs of nodes this walk does not interpret: searched for layers, inputs unknown. */
  walkOtherSubgraphs(node: OnnxNode, scope: Scope, path: string, name: string): void {
    for (const attr of node.attribute) {
      if (attr.g) this.walkGraph(attr.g, scope, `${path}/${name}.${attr.name}`);
      attr.graphs.forEach((sg, i) => this.walkGraph(sg, scope, `${path}/${name}.${attr.name}[${i}]`));
    }
  }

  constantState(a: NodeAttributes, scope: Scope, node: OnnxNode): ValueState {
    const t = a.tensor('value');
    if (t) {
      if (node.output[0]) scope.tensors.set(node.output[0], t);
      return this.tensorState(t, `value of ${a.label}`);
    }
    const f = a.float('value_float');
    if (f !== undefined) return { shape: [], elemType: OnnxDataType.FLOAT, values: [f] };
    const fs = a.floats('value_floats');
    if (fs !== undefined) return { shape: [fs.length], elemType: OnnxDataType.FLOAT, values: fs };
    const i = a.int('value_int');
    if (i !== undefined) return { shape: [], elemType: OnnxDataType.INT64, values: [i] };
    const is = a.ints('value_ints');
    if (is !== undefined) return { shape: [is.length], elemType: OnnxDataType.INT64, values: is };
    return UNKNOWN;
  }

  ifNode(a: NodeAttributes, ins: (ValueState | undefined)[], scope: Scope, path: string, name: string): ValueState[] {
    const thenG = a.graph('then_branch');
    const elseG = a.graph('else_branch');
    if (!thenG || !elseG) throw a.error('an If needs both then_branch and else_branch graphs');
    const cond = ins[0]?.values?.[0];
    if (cond !== undefined) {
      // The condition folds for these input shapes: the other branch never runs (and its shapes may not even fit).
      const [taken, dead] = cond ? ['then_branch', 'else_branch'] : ['else_branch', 'then_branch'];
      this.walkDead(cond ? elseG : thenG, `${path}/${name}.${dead}`, `the ${dead} of If '${name}', not taken for these input shapes (its condition folds to ${cond ? 'true' : 'false'})`);
      return this.walkGraph(cond ? thenG : elseG, scope, `${path}/${name}.${taken}`);
    }
    const t = this.walkGraph(thenG, scope, `${path}/${name}.then_branch`);
    const e = this.walkGraph(elseG, scope, `${path}/${name}.else_branch`);
    return t.map((s, i) => agree(s, e[i]));
  }

  /** A branch that never runs: its Conv / LSTM nodes are counted and reported skipped, nothing is inferred. */
  walkDead(g: OnnxGraph, path: string, why: string): void {
    g.node.forEach((n, i) => {
      const name = nodeName(n, i);
      if (n.op_type === 'Conv' || n.op_type === 'LSTM') {
        this.found[n.op_type]++;
        this.skip(path, name, n.op_type, `in ${why}`);
      }
      for (const attr of n.attribute) {
        if (attr.g) this.walkDead(attr.g, `${path}/${name}.${attr.name}`, why);
        attr.graphs.forEach((sg, k) => this.walkDead(sg, `${path}/${name}.${attr.name}[${k}]`, why));
      }
    });
  }

  loopNode(a: NodeAttributes, scope: Scope, path: string, name: string): void {
    const body = a.graph('body');
    if (!body) throw a.error("a Loop needs a 'body' graph");
    // Iteration number and condition are scalars; loop-carried values may change shape: only their declarations count.
    const states: (ValueState | undefined)[] = [{ shape: [], elemType: OnnxDataType.INT64 }, { shape: [], elemType: OnnxDataType.BOOL }];
    this.walkGraph(body, scope, `${path}/${name}.body`, states);
  }

  scanNode(a: NodeAttributes, node: OnnxNode, ins: (ValueState | undefined)[], scope: Scope, path: string, name: string): void {
    const body = a.graph('body');
    if (!body) throw a.error("a Scan needs a 'body' graph");
    const m = a.int('num_scan_inputs');
    if (m === undefined || m < 0 || m > node.input.length) throw a.error(`num_scan_inputs ${m} is not in [0, ${node.input.length}]`);
    const n = node.input.length - m;
    const axes = a.ints('scan_input_axes') ?? new Array<number>(m).fill(0);
    const states: (ValueState | undefined)[] = new Array<ValueState | undefined>(n).fill(undefined);
    for (let j = 0; j < m; j++) {
      // A scan input's body value is one slice: the outer shape without the scan axis.
      const outer = ins[n + j];
      if (!outer || outer.shape === null) states.push(undefined);
      else {
        const r = outer.shape.length;
        const ax = axes[j] < 0 ? axes[j] + r : axes[j];
        states.push({ shape: outer.shape.filter((_, i) => i !== ax), elemType: outer.elemType });
      }
    }
    this.walkGraph(body, scope, `${path}/${name}.body`, states);
  }

  // ---- layers ----

  skip(graph: string, node: string, op: string, reason: string): void {
    this.skipped.push({ id: `${graph}/${node}`, node, op, graph, reason });
  }

  /**
   * A float32 weight: a stored constant (initializer or Constant node), or
   * one the model computes from stored constants by data-movement operators
   * only (src/model/fold.ts); otherwise the reason it cannot be used.
   * `folded` collects the operators folded through, for the layer's notes.
   */
  floatConstant(scope: Scope, name: string, what: string, folded?: Set<string>, depth = 0): Tensor | string {
    if (depth > MAX_FOLD_DEPTH) return `${what} '${name}' is behind more than ${MAX_FOLD_DEPTH} operators`;
    const def = scope.definition(name);
    if (!def) return `${what} '${name}' is not defined in the graph or any enclosing graph`;
    if ('tensor' in def) {
      const t = def.tensor;
      if (t.data_type !== OnnxDataType.FLOAT) return `${what} '${name}' is ${dataTypeName(t.data_type)}: only float32 weights are measured`;
      return floatTensor(t, what, this.ctx);
    }
    if ('sparse' in def) return `${what} '${name}' is a sparse initializer, which peir does not read`;
    if ('input' in def) return `${what} '${name}' is a graph input, not a stored constant`;
    const p = def.producer;
    const op = p.op_type ?? '';
    const computed = `${what} '${name}' is computed by a ${op} node ('${p.name ?? ''}'), not stored in the model`;
    if (!isDefaultDomain(p) || !FOLDABLE.has(op)) return computed;
    const a = new NodeAttributes(p, '', this.file);
    if (op === 'Cast' && a.int('to') !== OnnxDataType.FLOAT) return computed;
    const inputs: Tensor[] = [];
    for (const input of op === 'Concat' ? p.input : [p.input[0]]) {
      const t = this.floatConstant(scope, input, what, folded, depth + 1);
      if (typeof t === 'string') return t;
      inputs.push(t);
    }
    let out: Tensor | string | undefined;
    if (op === 'Concat') out = concatTensors(inputs, a.int('axis', 0));
    else if (op === 'Slice') {
      const plan = slicePlan(a, p.input.map((n) => (n ? scope.state(n) : undefined)), inputs[0].shape);
      out = plan ? sliceTensor(inputs[0], plan) : 'its starts / ends / axes / steps are not constants';
    } else if (op === 'Transpose') {
      const perm = a.ints('perm') ?? inputs[0].shape.map((_, i, sh) => sh.length - 1 - i);
      out = perm.length === inputs[0].shape.length ? transposeTensor(inputs[0], perm) : `perm [${perm}] does not fit rank ${inputs[0].shape.length}`;
    } else {
      const shape = scope.state(name)?.shape ?? null;
      out = isKnown(shape) ? reshapeTensor(inputs[0], shape) : undefined;
    }
    if (out === undefined || typeof out === 'string') return `${computed}${out ? ` (${out})` : ''}`;
    folded?.add(op);
    return out;
  }

  convNode(g: OnnxGraph, node: OnnxNode, a: NodeAttributes, ins: (ValueState | undefined)[], scope: Scope, path: string, name: string): ValueState {
    this.found.Conv++;
    const x = ins[0] ?? UNKNOWN;
    const group = a.int('group', 1);
    if (group < 1) throw a.error(`group must be a positive integer, got ${group}`);
    const wState = ins[1] ?? UNKNOWN;
    const wShape = wState.shape;
    if (wShape !== null && wShape.length < 3) throw a.error(`weight '${node.input[1]}' has shape [${wShape.join(', ')}]; a Conv weight is [M, C/group, k1, ...]`);
    const kernelAttr = a.ints('kernel_shape');
    const kernel = kernelAttr ?? (wShape !== null && isKnown(wShape) ? wShape.slice(2) : undefined);
    if (kernelAttr && wShape !== null && isKnown(wShape) && (kernelAttr.length !== wShape.length - 2 || kernelAttr.some((k, i) => k !== wShape[i + 2]))) {
      throw a.error(`kernel_shape [${kernelAttr}] disagrees with the weight's shape [${wShape.join(', ')}]`);
    }
    if (kernel?.some((k) => k < 1)) throw a.error(`kernel_shape [${kernel}] must be positive`);
    const autoPad = a.string('auto_pad') ?? 'NOTSET';
    if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) throw a.error(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    const spatial = kernel?.length ?? (x.shape ? x.shape.length - 2 : undefined);
    const badRank = x.shape !== null && spatial !== undefined && x.shape.length !== spatial + 2;
    // Output shape (also validates strides, dilations and pads).
    let out: ValueState = UNKNOWN;
    if (x.shape !== null && kernel !== undefined && !badRank) {
      const r = windowOutput(a, x.shape.slice(2), kernel);
      if (typeof r === 'string') throw a.error(r);
      out = { shape: [x.shape[0], wShape?.[0] ?? null, ...r.dims], elemType: x.elemType };
    } else if (kernel !== undefined) {
      const r = windowOutput(a, new Array<Dim>(kernel.length).fill(null), kernel);
      if (typeof r === 'string') throw a.error(r);
    }

    if (badRank) {
      this.skip(path, name, 'Conv', `input '${node.input[0]}' is inferred to have shape [${x.shape!.map((d) => d ?? '?').join(', ')}]; the ${spatial}-D kernel needs rank ${spatial! + 2}`);
      return out;
    }
    const folded = new Set<string>();
    const weight = this.floatConstant(scope, node.input[1], 'weight', folded);
    if (typeof weight === 'string') {
      this.skip(path, name, 'Conv', weight);
      return out;
    }
    const [cout, cinPerGroup] = weight.shape;
    const k = weight.shape.slice(2);
    if (k.length > 2) {
      this.skip(path, name, 'Conv', `${k.length}-D convolution: peir measures 1-D and 2-D convolutions`);
      return out;
    }
    if (cout % group !== 0) throw a.error(`weight has ${cout} output channels, not a multiple of group = ${group}`);
    let kind: 'conv2d' | 'depthwise';
    if (group === 1) kind = 'conv2d';
    else if (cinPerGroup === 1 && cout === group) kind = 'depthwise';
    else if (cinPerGroup === 1) {
      this.skip(path, name, 'Conv', `depthwise convolution with channel multiplier ${cout / group} (group = ${group}, ${cout} outputs): peir's depthwise kernel has multiplier 1`);
      return out;
    } else {
      this.skip(path, name, 'Conv', `grouped convolution (group = ${group}, ${cinPerGroup} input channels per group): peir measures group = 1 and depthwise only`);
      return out;
    }
    const inChannels = cinPerGroup * group;
    let bias: Tensor | undefined;
    if (node.input[2]) {
      const b = this.floatConstant(scope, node.input[2], 'bias', folded);
      if (typeof b === 'string') {
        this.skip(path, name, 'Conv', b);
        return out;
      }
      if (b.shape.length !== 1 || b.shape[0] !== cout) throw a.error(`bias has shape [${b.shape.join(', ')}], expected [${cout}]`);
      bias = b;
    }
    const notes: string[] = [];
    let inputShape: number[] | null = null;
    if (x.shape !== null && x.shape[1] !== null && x.shape[1] !== inChannels) {
      this.skip(path, name, 'Conv', `input '${node.input[0]}' has ${x.shape[1]} channels, the weight expects ${inChannels}`);
      return out;
    }
    if (x.shape !== null && x.shape.slice(1).every((d) => d !== null)) {
      if (x.shape[0] !== 1) notes.push(`batch ${x.shape[0] ?? 'unknown'} set to 1`);
      inputShape = [1, inChannels, ...(x.shape.slice(2) as number[])];
    }
    const spec: ModelLayer['conv'] & object = {
      spatial: k.length,
      kernel: k,
      strides: a.ints('strides') ?? new Array<number>(k.length).fill(1),
      dilations: a.ints('dilations') ?? new Array<number>(k.length).fill(1),
      autoPad: autoPad as ConvSpec['autoPad'],
      explicitPads: autoPad === 'NOTSET' ? (a.ints('pads') ?? new Array<number>(2 * k.length).fill(0)) : new Array<number>(2 * k.length).fill(0),
      group,
      inChannels,
      outChannels: cout,
    };
    if (k.length === 1) notes.push('1-D convolution, measured as 2-D over 1 x L');
    if (folded.size) notes.push(`weights computed in the model from stored constants by ${[...folded].sort().join(', ')} (folded)`);
    const base: ModelLayer = {
      id: `${path}/${name}`,
      name,
      node: name,
      op: 'Conv',
      kind,
      graph: path,
      inputName: node.input[0],
      outputName: node.output[0] ?? '',
      inputShape,
      weightShape: [...weight.shape],
      conv: spec,
      layer: { kind, weight: engineConvWeight(weight), bias, opts: inputShape ? engineConvOptions(spec, inputShape.slice(2)) : {} },
      notes,
    };
    this.layers.push(base);
    if (this.opts.foldBn) this.foldFollowingBn(g, node, scope, base, weight, bias);
    return out;
  }

  uses(g: OnnxGraph): Map<string, number> {
    let m = this.useCounts.get(g);
    if (m) return m;
    const counts = new Map<string, number>();
    const count = (graph: OnnxGraph) => {
      for (const n of graph.node) {
        for (const i of n.input) if (i) counts.set(i, (counts.get(i) ?? 0) + 1);
        for (const attr of n.attribute) {
          if (attr.g) count(attr.g);
          attr.graphs.forEach(count);
        }
      }
      for (const o of graph.output) if (o.name) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
    };
    count(g);
    m = counts;
    this.useCounts.set(g, m);
    return m;
  }

  foldFollowingBn(g: OnnxGraph, conv: OnnxNode, scope: Scope, base: ModelLayer, weight: Tensor, bias: Tensor | undefined): void {
    const out = conv.output[0];
    const bn = g.node.find((n) => n.input[0] === out && n.op_type === 'BatchNormalization' && isDefaultDomain(n));
    if (!out || !bn) return;
    const why = (reason: string): void => {
      base.notes.push(`--fold-bn: ${nodeLabel(bn, base.graph)} not folded: ${reason}`);
    };
    if (this.uses(g).get(out) !== 1) return why(`the conv output '${out}' has other consumers`);
    const ba = new NodeAttributes(bn, base.graph, this.file);
    if (ba.int('training_mode', 0) !== 0) return why('training_mode = 1');
    const names = ['scale', 'bias', 'mean', 'variance'];
    const params: Tensor[] = [];
    for (let i = 0; i < 4; i++) {
      const t = this.floatConstant(scope, bn.input[i + 1] ?? '', names[i]);
      if (typeof t === 'string') return why(t);
      if (t.shape.length !== 1 || t.shape[0] !== base.conv!.outChannels) return why(`${names[i]} has shape [${t.shape.join(', ')}], expected [${base.conv!.outChannels}]`);
      params.push(t);
    }
    const epsilon = ba.float('epsilon') ?? 1e-5;
    const folded = foldBatchNorm(weight, bias, { scale: params[0], beta: params[1], mean: params[2], variance: params[3], epsilon });
    base.variant = 'unfolded';
    const bnName = bn.name || 'BatchNormalization';
    this.layers.push({
      ...base,
      id: `${base.id} [bn-folded]`,
      name: `${base.name} [bn-folded]`,
      variant: 'bn-folded',
      layer: { ...(base.layer as Extract<Layer, { kind: 'conv2d' | 'depthwise' }>), weight: engineConvWeight(folded.weight), bias: folded.bias },
      notes: [...base.notes, `folded with ${bnName} (epsilon ${epsilon})`],
    });
  }

  lstmNode(node: OnnxNode, a: NodeAttributes, ins: (ValueState | undefined)[], scope: Scope, path: string, name: string): ValueState[] {
    this.found.LSTM++;
    const direction = a.string('direction') ?? 'forward';
    if (!['forward', 'reverse', 'bidirectional'].includes(direction)) throw a.error(`direction '${direction}' is not forward, reverse or bidirectional`);
    const dirs = direction === 'bidirectional' ? 2 : 1;
    const layout = a.int('layout', 0);
    if (layout !== 0 && layout !== 1) throw a.error(`layout must be 0 or 1, got ${layout}`);
    const x = ins[0] ?? UNKNOWN;
    const rState = ins[2] ?? UNKNOWN;
    const hiddenAttr = a.int('hidden_size');
    const hidden = hiddenAttr ?? (rState.shape?.[2] ?? null);
    if (hidden !== null && hidden < 1) throw a.error(`hidden_size must be positive, got ${hidden}`);
    const badRank = x.shape !== null && x.shape.length !== 3;
    const [steps, batch] = x.shape === null || badRank ? [null, null] : layout === 0 ? [x.shape[0], x.shape[1]] : [x.shape[1], x.shape[0]];
    const y: Dim[] = layout === 0 ? [steps, dirs, batch, hidden] : [batch, steps, dirs, hidden];
    const yh: Dim[] = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
    const outs: ValueState[] = [{ shape: y, elemType: x.elemType }, { shape: yh, elemType: x.elemType }, { shape: yh, elemType: x.elemType }];
    const skip = (reason: string) => {
      this.skip(path, name, 'LSTM', reason);
      return outs;
    };

    if (badRank) return skip(`input '${node.input[0]}' is inferred to have shape [${x.shape!.map((d) => d ?? '?').join(', ')}]; an LSTM input is 3-D`);
    const acts = a.strings('activations');
    if (acts !== undefined) {
      if (acts.length !== 3 * dirs) throw a.error(`activations lists ${acts.length} functions; ${dirs} direction(s) need ${3 * dirs}`);
      if (acts.some((f, i) => f.toLowerCase() !== LSTM_DEFAULT_ACTIVATIONS[i % 3])) {
        return skip(`activations [${acts.join(', ')}]: peir's LSTM uses the default Sigmoid, Tanh, Tanh`);
      }
    }
    const clip = a.float('clip');
    if (clip !== undefined) return skip(`clip = ${clip}: peir's LSTM does not clip the cell pre-activations`);
    if (a.int('input_forget', 0) !== 0) return skip("input_forget = 1 (coupled input and forget gates): not supported");

    const folded = new Set<string>();
    const w = this.floatConstant(scope, node.input[1], 'W', folded);
    if (typeof w === 'string') return skip(w);
    const r = this.floatConstant(scope, node.input[2], 'R', folded);
    if (typeof r === 'string') return skip(r);
    const H = hidden ?? r.shape[2];
    if (w.shape.length !== 3 || w.shape[0] !== dirs || w.shape[1] !== 4 * H) throw a.error(`W has shape [${w.shape.join(', ')}], expected [${dirs}, ${4 * H}, input_size]`);
    if (r.shape.length !== 3 || r.shape[0] !== dirs || r.shape[1] !== 4 * H || r.shape[2] !== H) throw a.error(`R has shape [${r.shape.join(', ')}], expected [${dirs}, ${4 * H}, ${H}]`);
    const inputSize = w.shape[2];
    let b: Tensor | undefined;
    if (node.input[3]) {
      const t = this.floatConstant(scope, node.input[3], 'B', folded);
      if (typeof t === 'string') return skip(t);
      if (t.shape.length !== 2 || t.shape[0] !== dirs || t.shape[1] !== 8 * H) throw a.error(`B has shape [${t.shape.join(', ')}], expected [${dirs}, ${8 * H}]`);
      b = t;
    }
    if (node.input[7]) {
      const p = this.floatConstant(scope, node.input[7], 'P (peepholes)');
      if (typeof p === 'string' || p.data.some((v) => v !== 0)) return skip("peephole weights P: peir's LSTM has no peepholes");
    }
    if (x.shape !== null && x.shape[2] !== null && x.shape[2] !== inputSize) return skip(`input '${node.input[0]}' has ${x.shape[2]} features, W expects ${inputSize}`);
    const notes: string[] = [];
    if (folded.size) notes.push(`weights computed in the model from stored constants by ${[...folded].sort().join(', ')} (folded)`);
    if (node.input[4]) notes.push('sequence_lens ignored: every step of the sequence is measured');
    if (node.input[5] || node.input[6]) notes.push('initial_h / initial_c replaced by zeros in the measurement');
    if (batch !== 1) notes.push(`batch ${batch ?? 'unknown'} set to 1`);
    const inputShape = steps === null ? null : layout === 0 ? [steps, 1, inputSize] : [1, steps, inputSize];
    for (let d = 0; d < dirs; d++) {
      const dir: 'forward' | 'reverse' = direction === 'reverse' || d === 1 ? 'reverse' : 'forward';
      const suffix = dirs === 2 ? ` [${dir}]` : '';
      const dirNotes = dir === 'reverse' ? [...notes, 'reverse direction: measured as a forward LSTM over the reversed sequence (positions reported in model order)'] : notes;
      this.layers.push({
        id: `${path}/${name}${suffix}`,
        name: `${name}${suffix}`,
        node: name,
        op: 'LSTM',
        kind: 'lstm',
        graph: path,
        inputName: node.input[0],
        outputName: node.output[0] ?? '',
        inputShape,
        weightShape: [...w.shape],
        lstm: { hidden: H, inputSize, direction: dir, layout },
        layer: { kind: 'lstm', ...lstmDirection(w, r, b, d) },
        notes: dirNotes,
      });
    }
    return outs;
  }

  functionLayers(model: OnnxModel): void {
    for (const f of model.functions) {
      const visit = (nodes: OnnxNode[], path: string) =>
        nodes.forEach((n, i) => {
          if (n.op_type === 'Conv' || n.op_type === 'LSTM') {
            this.found[n.op_type]++;
            this.skip(path, nodeName(n, i), n.op_type, 'inside a model-local function, which peir does not expand');
          }
          for (const attr of n.attribute) {
            if (attr.g) visit(attr.g.node, `${path}/${nodeName(n, i)}.${attr.name}`);
          }
        });
      visit(f.node, `function ${f.domain ?? ''}.${f.name ?? ''}`);
    }
  }
}

/**
 * Find and convert every Conv and LSTM layer of a decoded model.
 *
 * @example
 *   const { model, readExternal } = loadOnnxFile('net.onnx');
 *   const a = analyzeModel(model, { file: 'net.onnx', readExternal, inputShapes: [{ dims: [1, 3, 224, 224] }] });
 */
export function analyzeModel(model: OnnxModel, opts: AnalyzeOptions): ModelAnalysis {
  const an = new Analyzer(opts);
  const g = model.graph;
  if (!g) throw new ModelFileError(`${opts.file}: the model has no graph`);
  const inputs: GraphInputInfo[] = [];
  an.walkGraph(g, undefined, g.name || 'main', [], { inputs });
  an.functionLayers(model);
  const opsets: Record<string, number> = {};
  for (const o of model.opset_import) opsets[o.domain || 'ai.onnx'] = Number(o.version ?? 0);
  return {
    file: opts.file,
    irVersion: Number(model.ir_version),
    producer: [model.producer_name, model.producer_version].filter(Boolean).join(' '),
    opsets,
    inputs,
    layers: an.layers,
    skipped: an.skipped,
    found: an.found,
    notes: an.notes,
  };
}
