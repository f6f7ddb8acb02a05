/**
 * ONNX reading and the model walk (no GPU): the Silero VAD models shipped in
 * @ricky0123/vad-web (a dev dependency; nothing is committed), checked
 * against an independent walk of the protobuf message and against
 * onnxruntime-web running the real model; hand-built small models for every
 * rule (auto_pad, groups, LSTM directions and options, subgraphs, constants,
 * BN folding, external data); and bad models, which must fail with a
 * ModelFileError / InputError naming the file and the node.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { lstmCpu } from '../src/cpu/lstm.js';
import { writeNpy } from '../src/data/npy-node.js';
import { Prng } from '../src/data/prng.js';
import { InputError, ModelFileError } from '../src/errors.js';
import { analyzeModel, type InputShapeSpec } from '../src/model/graph.js';
import { npySampleSource } from '../src/model/inputs-node.js';
import { runModel, UNKNOWN_SHAPE_REASON } from '../src/model/run-model.js';
import { loadOnnxFile } from '../src/onnx/load-node.js';
import { decodeOnnxModel, encodeOnnxModel } from '../src/onnx/schema.js';
import type { OnnxModel } from '../src/onnx/types.js';
import { formatModelCsv, formatModelMarkdown, formatModelTable } from '../src/report/model-format.js';
import { CpuEngine, type Layer } from '../src/run/engine.js';
import { f32 } from '../src/tensor.js';
import { randomTensor } from './helpers.js';
import {
  attr, convLayer, convTolerance, cpuConv, decodeRaw, findNode, FLOAT16, floatTensor, graph, independentNodes, inlineIfs, int64Tensor, modelBytes,
  naiveOnnxConv, naiveOnnxLstm, node, rawFloats, SILERO_LEGACY, SILERO_V5, valueInfo,
} from './onnx-builders.js';
import { compareWithBound, describeMismatches, handCheckTolerance } from './tolerance.js';

const tmp = mkdtempSync(join(tmpdir(), 'peir-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function analyzeBytes(bytes: Uint8Array, opts: Partial<Parameters<typeof analyzeModel>[1]> = {}) {
  return analyzeModel(decodeOnnxModel(bytes, 'test.onnx'), { file: 'test.onnx', ...opts });
}

function expectWithin(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number): void {
  const bad = compareWithBound(Float32Array.from(got), Float32Array.from(want), tol);
  expect(bad, `${what}: ${describeMismatches(bad, got.length)}`).toHaveLength(0);
}

describe('Silero VAD models (@ricky0123/vad-web)', () => {
  const cases: [string, InputShapeSpec[], number, number][] = [
    [SILERO_LEGACY, [{ name: 'input', dims: [1, 512] }], 36, 8],
    [SILERO_V5, [{ name: 'input', dims: [1, 576] }, { name: 'state', dims: [2, 1, 128] }], 12, 4],
  ];
  for (const [file, shapes, conv, lstm] of cases) {
    it(`${file.split('/').pop()}: every Conv and LSTM node is found, as by an independent walk of the protobuf message`, () => {
      const raw = decodeRaw(readFileSync(file));
      const convs = independentNodes(raw, 'Conv');
      const lstms = independentNodes(raw, 'LSTM');
      expect([convs.length, lstms.length]).toEqual([conv, lstm]);
      const { model, readExternal } = loadOnnxFile(file);
      const a = analyzeModel(model, { file, readExternal, inputShapes: shapes });
      expect(a.found).toEqual({ Conv: conv, LSTM: lstm });
      // Each node is accounted for exactly once: as layer(s) or as skipped.
      const layerNodes = new Map(a.layers.map((l) => [`${l.graph}\n${l.node}`, l]));
      const accounted = [...[...layerNodes.values()].map((l) => ({ op: l.op, node: l.node })), ...a.skipped.map((s) => ({ op: s.op, node: s.node }))];
      expect(accounted.length, JSON.stringify(a.skipped, null, 1)).toBe(conv + lstm);
      const names = (op: string) => accounted.filter((x) => x.op === op).map((x) => x.node).sort();
      expect(names('Conv')).toEqual([...convs].sort());
      expect(names('LSTM')).toEqual([...lstms].sort());
    });
  }

  it('legacy: the 16 kHz branch has known shapes for every layer; dead If branches are reported, not measured', () => {
    const { model } = loadOnnxFile(SILERO_LEGACY);
    const a = analyzeModel(model, { file: SILERO_LEGACY, inputShapes: [{ name: 'input', dims: [1, 512] }] });
    // 'batch' (a dim_param of input, h and c) takes the given 1 everywhere.
    expect(a.inputs.find((i) => i.name === 'h')?.shape).toEqual([2, 1, 64]);
    const live = a.layers.filter((l) => l.graph.startsWith('torch_jit/If_25.then_branch'));
    expect(live).toHaveLength(18 + 2);
    for (const l of live) expect(l.inputShape, l.id).not.toBeNull();
    const dead = a.skipped.filter((s) => s.reason.includes('not taken'));
    expect(dead.map((s) => s.node).sort()).toEqual(['LSTM_407', 'LSTM_477', 'LSTM_881', 'LSTM_951']);
  });

  it('legacy without --input-shape: the sequence length is unknown, so every layer is reported "input shape unknown"', async () => {
    const { model } = loadOnnxFile(SILERO_LEGACY);
    const a = analyzeModel(model, { file: SILERO_LEGACY });
    expect(a.notes.join('\n')).toContain("symbolic dimension 'batch'");
    expect(a.layers.every((l) => l.inputShape === null)).toBe(true);
    const r = await runModel(a, { scheme: 'q8', trials: 1, calib: 1, backend: 'cpu' }, new CpuEngine());
    expect(r.layers).toHaveLength(0);
    const unknown = r.skipped.filter((s) => s.reason === UNKNOWN_SHAPE_REASON);
    expect(unknown).toHaveLength(a.layers.length);
    expect(formatModelTable(r)).toContain('input shape unknown: give --input-shape or value_info');
  });

  it('v5: LSTM weights built by Slice/Concat/Unsqueeze of constants are folded; Constant-node conv weights are read', () => {
    const { model } = loadOnnxFile(SILERO_V5);
    const a = analyzeModel(model, { file: SILERO_V5, inputShapes: [{ name: 'input', dims: [1, 576] }, { name: 'state', dims: [2, 1, 128] }] });
    const lstm = a.layers.find((l) => l.kind === 'lstm' && l.graph.includes('If_0.then_branch'));
    expect(lstm?.inputShape).toEqual([1, 1, 128]);
    expect(lstm?.notes.join(' ')).toContain('folded');
    const stft = a.layers.find((l) => l.node.endsWith('stft/Conv') && l.graph === 'spox_graph/If_0.then_branch');
    expect(stft?.inputShape).toEqual([1, 1, 640]);
    expect(stft?.weightShape).toEqual([258, 1, 256]);
  });

  /**
   * The real model in onnxruntime-web, with the If branches taken for 16 kHz
   * and a zero state inlined so that every layer's input and output are graph
   * outputs: our inferred input shapes must be the shapes ORT produces, and
   * our CPU reference of each conv (weights, pads, strides as converted) on
   * ORT's own input must reproduce ORT's output within the dot-product bound.
   */
  it('legacy, 16 kHz: inferred shapes equal onnxruntime-web\'s, and each conv layer reproduces its output (seed 2301)', async () => {
    const { model } = loadOnnxFile(SILERO_LEGACY);
    const a = analyzeModel(model, { file: SILERO_LEGACY, inputShapes: [{ name: 'input', dims: [1, 512] }] });
    const live = a.layers.filter((l) => l.graph.startsWith('torch_jit/If_25.then_branch'));
    // A second copy of the model to rewrite (loadOnnxFile decodes afresh).
    const inlined: OnnxModel = loadOnnxFile(SILERO_LEGACY).model;
    inlineIfs(inlined.graph!, { If_25: 'then_branch', If_177: 'then_branch' });
    const wanted = [...new Set(live.flatMap((l) => [l.inputName, l.outputName]))];
    inlined.graph!.output = wanted.map((name) => ({ name }));
    const bytes = encodeOnnxModel(inlined as unknown as Record<string, unknown>);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' });
    const p = new Prng(2301);
    const feeds = {
      input: new ort.Tensor('float32', p.fill(512, (r) => r.uniform(-0.5, 0.5)), [1, 512]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
      c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
    };
    const out = await session.run(feeds);
    await session.release();
    let compared = 0;
    for (const l of live) {
      const x = out[l.inputName];
      expect(l.inputShape, `${l.name} input ${l.inputName}`).toEqual([...x.dims]);
      if (l.kind === 'lstm') continue;
      const xt = f32(x.dims, x.data as Float32Array);
      const got = cpuConv(l, xt);
      const want = out[l.outputName];
      expect(got.data.length, l.name).toBe(want.data.length);
      expectWithin(`${l.name} vs onnxruntime-web`, got.data, want.data as Float32Array, convTolerance(l, xt));
      compared++;
    }
    expect(compared).toBe(18);
  });

  it('legacy LSTM_245: the converted layer (gates i, f, g, o) equals the ONNX definition (gates i, o, f, c) on the raw W, R, B (seed 2302)', () => {
    const { model } = loadOnnxFile(SILERO_LEGACY);
    const a = analyzeModel(model, { file: SILERO_LEGACY, inputShapes: [{ name: 'input', dims: [1, 512] }] });
    const l = a.layers.find((x) => x.node === 'LSTM_245')!;
    const raw = findNode(model.graph!, 'LSTM_245')!;
    // W, R, B decoded here from the branch initializers' raw_data, not by peir.
    const [w, r, b] = [1, 2, 3].map((i) => rawFloats(model.graph!, raw.input[i]));
    const T = 7;
    const x = randomTensor(new Prng(2302), [T, 64]);
    const want = naiveOnnxLstm(x.data, T, 64, w, r, b, 64, 0, false);
    const got = lstmCpu({ input: x, ...(l.layer as Extract<Layer, { kind: 'lstm' }>) }).output;
    expectWithin('LSTM_245', got.data, Float32Array.from(want), () => handCheckTolerance(1));
  });
});

// ---- hand-built models ----

const p = new Prng(2310);
const rnd = (n: number) => p.fill(n, (r) => r.uniform(-1, 1));

function convModel(opts: { xShape: number[]; wShape: number[]; attrs: Record<string, unknown>[]; bias?: boolean; how?: 'raw' | 'float_data'; wType?: number }): { bytes: Uint8Array; w: Float32Array; b?: Float32Array } {
  const w = rnd(opts.wShape.reduce((a, c) => a * c, 1));
  const b = opts.bias ? rnd(opts.wShape[0]) : undefined;
  const wt = floatTensor('W', opts.wShape, w, opts.how);
  if (opts.wType) Object.assign(wt, { data_type: opts.wType, raw_data: new Uint8Array(w.length * 2) });
  const bytes = modelBytes(
    graph({
      node: [node('Conv', ['X', 'W', ...(b ? ['B'] : [])], ['Y'], opts.attrs, 'conv')],
      initializer: [wt, ...(b ? [floatTensor('B', [opts.wShape[0]], b)] : [])],
      input: [valueInfo('X', opts.xShape)],
      output: [valueInfo('Y', null)],
    }),
  );
  return { bytes, w, b };
}

describe('Conv rules', () => {
  for (const [mode, pads] of [
    ['SAME_UPPER', [1, 1, 2, 2]],
    ['SAME_LOWER', [2, 2, 1, 1]],
    ['VALID', [0, 0, 0, 0]],
  ] as const) {
    it(`auto_pad ${mode}, stride 2, kernel 4: pads [top, left, bottom, right] = [${pads}] and the output matches the ONNX definition (seed 2310)`, () => {
      const xShape = [1, 2, 5, 5];
      const { bytes, w, b } = convModel({ xShape, wShape: [3, 2, 4, 4], attrs: [attr.str('auto_pad', mode), attr.ints('strides', [2, 2])], bias: true });
      const a = analyzeBytes(bytes);
      const l = a.layers[0];
      expect(l.kind).toBe('conv2d');
      expect(convLayer(l).opts.padding).toEqual(pads);
      const x = randomTensor(new Prng(2311), xShape);
      const want = naiveOnnxConv(x.data, xShape, w, [3, 2, 4, 4], b, { strides: [2, 2], pads: [...pads], dilations: [1, 1], group: 1 });
      const got = cpuConv(l, x);
      expect(got.shape).toEqual(want.shape);
      expectWithin(mode, got.data, Float32Array.from(want.data), convTolerance(l, x));
    });
  }

  it('1-D conv with explicit pads and dilation 2 is measured as 2-D over 1 x L (seed 2312)', () => {
    const xShape = [1, 3, 11];
    const { bytes, w, b } = convModel({ xShape, wShape: [4, 3, 3], attrs: [attr.ints('pads', [2, 1]), attr.ints('dilations', [2]), attr.ints('strides', [1])], bias: true, how: 'float_data' });
    const l = analyzeBytes(bytes).layers[0];
    expect(convLayer(l).weight.shape).toEqual([4, 3, 1, 3]);
    expect(convLayer(l).opts).toEqual({ stride: [1, 1], dilation: [1, 2], padding: [0, 2, 0, 1] });
    const x = randomTensor(new Prng(2312), xShape);
    const want = naiveOnnxConv(x.data, xShape, w, [4, 3, 3], b, { strides: [1], pads: [2, 1], dilations: [2], group: 1 });
    const got = cpuConv(l, x);
    expect(got.shape).toEqual([1, 4, 1, want.shape[2]]);
    expectWithin('conv1d', got.data, Float32Array.from(want.data), convTolerance(l, x));
  });

  it('group = C is depthwise; other groups and channel multipliers are skipped with the reason', () => {
    expect(analyzeBytes(convModel({ xShape: [1, 4, 6, 6], wShape: [4, 1, 3, 3], attrs: [attr.int('group', 4)] }).bytes).layers[0].kind).toBe('depthwise');
    const grouped = analyzeBytes(convModel({ xShape: [1, 4, 6, 6], wShape: [4, 2, 3, 3], attrs: [attr.int('group', 2)] }).bytes);
    expect(grouped.layers).toHaveLength(0);
    expect(grouped.skipped[0].reason).toMatch(/grouped convolution \(group = 2/);
    const mult = analyzeBytes(convModel({ xShape: [1, 4, 6, 6], wShape: [8, 1, 3, 3], attrs: [attr.int('group', 4)] }).bytes);
    expect(mult.skipped[0].reason).toMatch(/channel multiplier 2/);
    const conv3d = analyzeBytes(convModel({ xShape: [1, 2, 4, 4, 4], wShape: [2, 2, 3, 3, 3], attrs: [] }).bytes);
    expect(conv3d.skipped[0].reason).toMatch(/3-D convolution/);
  });

  it('float16 weights are skipped with the reason; raw_data and float_data give the same layer', () => {
    const f16 = analyzeBytes(convModel({ xShape: [1, 2, 4, 4], wShape: [2, 2, 3, 3], attrs: [], wType: FLOAT16 }).bytes);
    expect(f16.skipped[0].reason).toMatch(/float16: only float32 weights/);
    const p1 = new Prng(5);
    const w = p1.fill(18, (r) => r.uniform(-1, 1));
    const make = (how: 'raw' | 'float_data') =>
      analyzeBytes(modelBytes(graph({ node: [node('Conv', ['X', 'W'], ['Y'])], initializer: [floatTensor('W', [1, 2, 3, 3], w, how)], input: [valueInfo('X', [1, 2, 4, 4])] }))).layers[0];
    expect(Array.from(convLayer(make('raw')).weight.data)).toEqual(Array.from(convLayer(make('float_data')).weight.data));
  });

  it('weights from a Constant node (behind an Identity) and from the enclosing graph inside If / Loop / Scan bodies', () => {
    const w = floatTensor('W', [2, 2, 1, 1], [1, 2, 3, 4]);
    const body = (name: string, x: string) => graph({ name, node: [node('Conv', [x, 'W'], [`${name}_y`], [], `conv_${name}`)], output: [valueInfo(`${name}_y`, null)] });
    const scanBody = graph({
      name: 'scan',
      node: [node('Conv', ['slice', 'W'], ['scan_y'], [], 'conv_scan')],
      input: [valueInfo('slice', null)],
      output: [valueInfo('scan_y', null)],
    });
    const g = graph({
      node: [
        node('Constant', [], ['Wc'], [attr.tensor('value', { ...floatTensor('', [2, 2, 1, 1], [1, 0, 0, 1]) })], 'const'),
        node('Identity', ['Wc'], ['Wi'], [], 'ident'),
        node('Conv', ['X', 'Wi'], ['Y0'], [], 'conv_main'),
        node('If', ['cond'], ['Y1'], [attr.graph('then_branch', body('then', 'X')), attr.graph('else_branch', body('else', 'X'))], 'if'),
        node('Loop', ['', 'cond'], [], [attr.graph('body', graph({ name: 'loop', node: [node('Conv', ['X', 'W'], ['loop_y'], [], 'conv_loop')], input: [valueInfo('i', [], 7), valueInfo('c', [], 9)], output: [valueInfo('c', [], 9)] }))], 'loop'),
        node('Scan', ['XS'], ['YS'], [attr.int('num_scan_inputs', 1), attr.graph('body', scanBody)], 'scan'),
      ],
      initializer: [w],
      input: [valueInfo('X', [1, 2, 3, 3]), valueInfo('cond', [], 9), valueInfo('XS', [5, 1, 2, 3, 3])],
    });
    const a = analyzeBytes(modelBytes(g));
    expect(a.found.Conv).toBe(5);
    expect(a.skipped).toEqual([]);
    const byNode = Object.fromEntries(a.layers.map((l) => [l.node, l]));
    expect(Array.from(convLayer(byNode.conv_main).weight.data)).toEqual([1, 0, 0, 1]);
    for (const n of ['conv_then', 'conv_else', 'conv_loop']) expect(byNode[n].inputShape, n).toEqual([1, 2, 3, 3]);
    // A scan input's body value is one slice along the scan axis.
    expect(byNode.conv_scan.inputShape).toEqual([1, 2, 3, 3]);
    expect(byNode.conv_then.graph).toBe('g/if.then_branch');
  });

  it('--fold-bn: a following BatchNormalization folds into a second, labelled layer equal to BN(conv(x)) (seed 2313)', () => {
    const C = 3;
    const [scale, beta, mean] = [rnd(C), rnd(C), rnd(C)];
    const variance = Float32Array.from(rnd(C), (v) => Math.abs(v) + 0.1);
    const { w, b } = { w: rnd(C * 2 * 9), b: rnd(C) };
    const g = graph({
      node: [node('Conv', ['X', 'W', 'B'], ['Y'], [attr.ints('pads', [1, 1, 1, 1])], 'conv'), node('BatchNormalization', ['Y', 's', 'bb', 'm', 'v'], ['Z'], [attr.float('epsilon', 1e-3)], 'bn')],
      initializer: [floatTensor('W', [C, 2, 3, 3], w), floatTensor('B', [C], b), floatTensor('s', [C], scale), floatTensor('bb', [C], beta), floatTensor('m', [C], mean), floatTensor('v', [C], variance)],
      input: [valueInfo('X', [1, 2, 5, 5])],
    });
    const a = analyzeBytes(modelBytes(g), { foldBn: true });
    expect(a.layers.map((l) => [l.name, l.variant])).toEqual([['conv', 'unfolded'], ['conv [bn-folded]', 'bn-folded']]);
    const x = randomTensor(new Prng(2313), [1, 2, 5, 5]);
    const y = cpuConv(a.layers[0], x);
    const z = cpuConv(a.layers[1], x);
    const eps = Math.fround(1e-3);
    const hw = 25;
    const want = Float64Array.from(y.data, (v, i) => {
      const c = Math.floor(i / hw);
      return (scale[c] * (v - mean[c])) / Math.sqrt(variance[c] + eps) + beta[c];
    });
    // Folding rounds each weight once more (k w to f32): one more rounding per term than the plain bound.
    const tol = convTolerance(a.layers[1], x);
    expectWithin('folded', z.data, Float32Array.from(want), (i) => 2 * tol(i) + handCheckTolerance(Math.abs(want[i])));
    expect(analyzeBytes(modelBytes(g)).layers).toHaveLength(1);
  });
});

describe('LSTM rules', () => {
  const H = 3;
  const I = 2;
  function lstmModel(dirs: number, attrs: Record<string, unknown>[], extraInputs: string[] = []) {
    const [w, r, b] = [rnd(dirs * 4 * H * I), rnd(dirs * 4 * H * H), rnd(dirs * 8 * H)];
    const bytes = modelBytes(
      graph({
        node: [node('LSTM', ['X', 'W', 'R', 'B', ...extraInputs], ['Y', 'Yh'], [attr.int('hidden_size', H), ...attrs], 'lstm')],
        initializer: [floatTensor('W', [dirs, 4 * H, I], w), floatTensor('R', [dirs, 4 * H, H], r), floatTensor('B', [dirs, 8 * H], b)],
        input: [valueInfo('X', [6, 'batch', I])],
      }),
    );
    return { bytes, w, r, b };
  }

  it('bidirectional: two layers, forward and reverse, each equal to the ONNX definition (reverse on the reversed sequence) (seed 2320)', () => {
    const { bytes, w, r, b } = lstmModel(2, [attr.str('direction', 'bidirectional')]);
    const a = analyzeBytes(bytes);
    expect(a.layers.map((l) => l.name)).toEqual(['lstm [forward]', 'lstm [reverse]']);
    expect(a.layers[0].inputShape).toEqual([6, 1, I]);
    const x = randomTensor(new Prng(2320), [6, I]);
    for (const [d, l] of a.layers.entries()) {
      const want = naiveOnnxLstm(x.data, 6, I, w, r, b, H, d, d === 1);
      const input = d === 1 ? f32([6, I], Float32Array.from({ length: 6 * I }, (_, k) => x.data[(5 - Math.floor(k / I)) * I + (k % I)])) : x;
      const got = lstmCpu({ input, ...(l.layer as Extract<Layer, { kind: 'lstm' }>) }).output.data;
      // The reverse layer's step s is the model's step T - 1 - s.
      const inModelOrder = d === 1 ? Float32Array.from({ length: 6 * H }, (_, k) => got[(5 - Math.floor(k / H)) * H + (k % H)]) : got;
      expectWithin(l.name, inModelOrder, Float32Array.from(want), () => handCheckTolerance(1));
    }
  });

  it('unsupported options are skipped with the reason; the initial state and sequence_lens are noted', () => {
    const reason = (attrs: Record<string, unknown>[]) => analyzeBytes(lstmModel(1, attrs).bytes).skipped[0]?.reason;
    expect(reason([attr.strs('activations', ['Sigmoid', 'Relu', 'Tanh'])])).toMatch(/activations \[Sigmoid, Relu, Tanh\]/);
    expect(reason([attr.float('clip', 3)])).toMatch(/clip = 3/);
    expect(reason([attr.int('input_forget', 1)])).toMatch(/input_forget/);
    expect(analyzeBytes(lstmModel(1, [attr.strs('activations', ['sigmoid', 'tanh', 'tanh'])]).bytes).layers).toHaveLength(1);
    const noted = analyzeBytes(lstmModel(1, [], ['seq', 'h0']).bytes).layers[0].notes.join('; ');
    expect(noted).toMatch(/sequence_lens ignored/);
    expect(noted).toMatch(/initial_h \/ initial_c replaced by zeros/);
  });
});

describe('running a model (CPU reference engine)', () => {
  it('JSON has model, adapter, layers[] worst first with summaries, skipped[] with reasons; md and csv render (seed 1)', async () => {
    const g = graph({
      node: [
        node('Conv', ['X', 'W1', 'B1'], ['Y1'], [attr.ints('pads', [1, 1, 1, 1])], 'c1'),
        node('Relu', ['Y1'], ['R1'], [], 'relu'),
        node('Conv', ['R1', 'W2'], ['Y2'], [attr.int('group', 4), attr.ints('strides', [2, 2])], 'dw'),
        node('Conv', ['Y2', 'W3'], ['Y3'], [attr.int('group', 2)], 'grouped'),
      ],
      initializer: [floatTensor('W1', [4, 2, 3, 3], rnd(72)), floatTensor('B1', [4], rnd(4)), floatTensor('W2', [4, 1, 3, 3], rnd(36)), floatTensor('W3', [4, 2, 1, 1], rnd(8))],
      input: [valueInfo('X', ['N', 2, 8, 8])],
    });
    const a = analyzeBytes(modelBytes(g));
    const r = await runModel(a, { scheme: 'q8', trials: 3, calib: 2, backend: 'cpu' }, new CpuEngine());
    expect(r.layers.map((l) => l.node).sort()).toEqual(['c1', 'dw']);
    expect(r.layers[0].summary.peir.median).toBeGreaterThanOrEqual(r.layers[1].summary.peir.median);
    expect(r.skipped.map((s) => s.node)).toEqual(['grouped']);
    const dw = r.layers.find((l) => l.node === 'dw')!;
    expect(dw.inputShape).toEqual([1, 4, 8, 8]);
    expect(dw.geometry).toMatchObject({ strides: [2, 2], outputShape: [1, 4, 3, 3] });
    const json = JSON.parse(JSON.stringify(r));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['model', 'adapter', 'layers', 'skipped', 'verdict']));
    expect(json.layers[0].summary.peir).toEqual(expect.objectContaining({ min: expect.any(Number), median: expect.any(Number), max: expect.any(Number), mean: expect.any(Number) }));
    expect(r.verdict.text.length).toBeGreaterThan(0);
    expect(formatModelMarkdown(r)).toContain('| # | layer |');
    expect(formatModelCsv(r).split('\n')[0]).toContain('peir_median');
  });

  it('--inputs: real activations from <tensor name>.npy, batch axis = samples, override the shape (seed 2330)', async () => {
    const g = graph({
      node: [node('Conv', ['x:0', 'W'], ['Y'], [], 'c')],
      initializer: [floatTensor('W', [2, 3, 1, 1], rnd(6))],
      input: [valueInfo('x:0', null)],
    });
    const a = analyzeBytes(modelBytes(g));
    expect(a.layers[0].inputShape).toBeNull();
    const dir = join(tmp, 'acts');
    mkdirSync(dir, { recursive: true });
    await writeNpy(join(dir, 'x_0.npy'), randomTensor(new Prng(2330), [5, 3, 4, 6]));
    const r = await runModel(a, { scheme: 'q8', trials: 3, calib: 2, backend: 'cpu' }, new CpuEngine(), { samples: npySampleSource(dir), inputsLabel: dir });
    expect(r.layers[0].inputs).toBe(join(dir, 'x_0.npy'));
    expect(r.layers[0].inputShape).toEqual([1, 3, 4, 6]);
    const short = await runModel(a, { scheme: 'q8', trials: 4, calib: 2, backend: 'cpu' }, new CpuEngine(), { samples: npySampleSource(dir) });
    expect(short.skipped[0].reason).toMatch(/5 samples, the run needs calib \+ trials = 2 \+ 4/);
  });

  it('--input-shape errors name the input', () => {
    const bytes = modelBytes(graph({ node: [], input: [valueInfo('X', [1, 2, 3])] }));
    expect(() => analyzeBytes(bytes, { inputShapes: [{ name: 'Y', dims: [1] }] })).toThrow(InputError);
    expect(() => analyzeBytes(bytes, { inputShapes: [{ name: 'Y', dims: [1] }] })).toThrow(/no graph input 'Y'; its inputs are X/);
    expect(() => analyzeBytes(bytes, { inputShapes: [{ dims: [1, 2] }] })).toThrow(/has 2 dimensions, the model declares 3/);
    expect(() => analyzeBytes(bytes, { inputShapes: [{ dims: [1, 5, 3] }] })).toThrow(/dimension 1 is 5, the model fixes it at 2/);
  });
});

describe('external data', () => {
  function externalModel(dir: string, location: string): string {
    mkdirSync(dir, { recursive: true });
    const t = { name: 'W', dims: [1, 1, 2, 2], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: location }, { key: 'offset', value: '4' }, { key: 'length', value: '16' }] };
    const bytes = modelBytes(graph({ node: [node('Conv', ['X', 'W'], ['Y'], [], 'conv')], initializer: [t], input: [valueInfo('X', [1, 1, 3, 3])] }));
    const file = join(dir, 'm.onnx');
    writeFileSync(file, bytes);
    return file;
  }

  it('a tensor stored next to the model is read at its offset', () => {
    const dir = join(tmp, 'ext-ok');
    const file = externalModel(dir, 'weights.bin');
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(new Float32Array([99, 1.5, -2, 3, 4.25]).buffer));
    const { model, readExternal } = loadOnnxFile(file);
    const l = analyzeModel(model, { file, readExternal }).layers[0];
    expect(Array.from(convLayer(l).weight.data)).toEqual([1.5, -2, 3, 4.25]);
  });

  for (const [label, location, setup] of [
    ['..', '../secret.bin', () => {}],
    ['an absolute path', '/etc/hostname', () => {}],
    ['a symlink out of the folder', 'link.bin', (dir: string) => {
      writeFileSync(join(tmp, 'outside.bin'), new Uint8Array(32));
      symlinkSync(join(tmp, 'outside.bin'), join(dir, 'link.bin'));
    }],
  ] as const) {
    it(`a location through ${label} is refused, naming the file and tensor`, () => {
      const dir = join(tmp, `ext-${label.replace(/\W/g, '')}`);
      const file = externalModel(dir, location);
      setup(dir);
      const { model, readExternal } = loadOnnxFile(file);
      const run = () => analyzeModel(model, { file, readExternal });
      expect(run).toThrow(ModelFileError);
      expect(run).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')}: tensor 'W'.*refused`));
    });
  }
});

describe('browser bundle', () => {
  it('the parser, the graph walk and the model run bundle for the browser (esbuild) with no Node import, and decode Silero there', async () => {
    const esbuild = await import('esbuild');
    const entry = join(tmp, 'entry.ts');
    const src = (f: string) => JSON.stringify(join(process.cwd(), f));
    writeFileSync(entry, `export { decodeOnnxModel } from ${src('src/onnx/schema.ts')};\nexport { analyzeModel } from ${src('src/model/graph.ts')};\nexport { runModel } from ${src('src/model/run-model.ts')};\n`);
    const out = join(tmp, 'bundle.mjs');
    const r = await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', loader: { '.proto': 'text' }, outfile: out, metafile: true, logLevel: 'silent' });
    const external = Object.values(r.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect(external).toEqual([]);
    const mod = (await import(out)) as { decodeOnnxModel: typeof decodeOnnxModel; analyzeModel: typeof analyzeModel };
    const a = mod.analyzeModel(mod.decodeOnnxModel(readFileSync(SILERO_LEGACY), 'legacy'), { file: 'legacy', inputShapes: [{ name: 'input', dims: [1, 512] }] });
    expect(a.found).toEqual({ Conv: 36, LSTM: 8 });
    expect(a.layers).toHaveLength(40);
  });
});

describe('bad models fail with a clear ModelFileError', () => {
  const write = (name: string, bytes: Uint8Array | string) => {
    const f = join(tmp, name);
    writeFileSync(f, bytes);
    return f;
  };

  it('a truncated model, random bytes, a text file, an empty file', () => {
    const truncated = write('truncated.onnx', readFileSync(SILERO_LEGACY).subarray(0, 100_000));
    const random = write('random.onnx', new Prng(7).fill(4096, (r) => Math.floor(r.uniform(0, 256))).reduce((u, v, i) => ((u[i] = v), u), new Uint8Array(4096)));
    const text = write('text.onnx', 'this is not a model\nat all\n');
    const empty = write('empty.onnx', '');
    for (const f of [truncated, random, text, empty]) {
      expect(() => loadOnnxFile(f), f).toThrow(ModelFileError);
      expect(() => loadOnnxFile(f), f).toThrow(new RegExp(`^${f.replace(/[/.]/g, '\\$&')}: `));
    }
    expect(() => loadOnnxFile(join(tmp, 'missing.onnx'))).toThrow(/cannot read the model file/);
  });

  it('a huge declared tensor is refused before allocating; a size mismatch names the tensor', () => {
    const huge = { name: 'W', dims: [100000, 100000, 1000], data_type: 1, raw_data: new Uint8Array(4) };
    const g = (t: Record<string, unknown>) => modelBytes(graph({ node: [node('Conv', ['X', 'W'], ['Y'], [], 'conv')], initializer: [t], input: [valueInfo('X', [1, 1, 3, 3])] }));
    expect(() => analyzeBytes(g(huge))).toThrow(/test\.onnx: tensor 'W' .* declares dims \[100000, 100000, 1000\] = 10000000000000 elements, above peir's limit/);
    const short = { name: 'W', dims: [1, 1, 2, 2], data_type: 1, raw_data: new Uint8Array(12) };
    expect(() => analyzeBytes(g(short))).toThrow(/tensor 'W' .* declares dims \[1, 1, 2, 2\] .* but its raw_data holds 12 bytes/);
    const negative = { name: 'W', dims: [1, -1, 2, 2], data_type: 1 };
    expect(() => analyzeBytes(g(negative))).toThrow(ModelFileError);
  });

  it('an unsupported or mistyped attribute value names the node', () => {
    const conv = (attrs: Record<string, unknown>[]) =>
      modelBytes(graph({ node: [node('Conv', ['X', 'W'], ['Y'], attrs, 'bad_conv')], initializer: [floatTensor('W', [1, 1, 2, 2], [1, 2, 3, 4])], input: [valueInfo('X', [1, 1, 3, 3])] }));
    expect(() => analyzeBytes(conv([attr.str('auto_pad', 'SAME_SIDEWAYS')]))).toThrow(/test\.onnx: node 'bad_conv' \(Conv\) in graph 'g': auto_pad 'SAME_SIDEWAYS' is not one of/);
    expect(() => analyzeBytes(conv([attr.int('strides', 2)]))).toThrow(/node 'bad_conv' .*attribute 'strides' must be INTS, got INT/);
    expect(() => analyzeBytes(conv([attr.ints('kernel_shape', [3, 3])]))).toThrow(/kernel_shape \[3,3\] disagrees with the weight's shape \[1, 1, 2, 2\]/);
    expect(() => analyzeBytes(conv([attr.ints('pads', [1, 1])]))).toThrow(/pads \[1,1\] must be 4 non-negative integers/);
    const lstm = modelBytes(graph({
      node: [node('LSTM', ['X', 'W', 'R'], ['Y'], [attr.str('direction', 'sideways'), attr.int('hidden_size', 1)], 'bad_lstm')],
      initializer: [floatTensor('W', [1, 4, 1], [1, 2, 3, 4]), floatTensor('R', [1, 4, 1], [1, 2, 3, 4])],
    }));
    expect(() => analyzeBytes(lstm)).toThrow(/node 'bad_lstm' \(LSTM\).*direction 'sideways'/);
    // int64 constants beyond 2^53 fold as "to the end" (Slice), nothing crashes.
    const slice = modelBytes(graph({
      node: [node('Slice', ['X', 's', 'e'], ['Y'], [], 'sl'), node('Conv', ['Y', 'W'], ['Z'], [], 'c')],
      initializer: [int64Tensor('s', [1], [0]), { name: 'e', dims: [1], data_type: 7, raw_data: new Uint8Array(new BigInt64Array([9223372036854775807n]).buffer) }, floatTensor('W', [1, 1, 2, 2], [1, 2, 3, 4])],
      input: [valueInfo('X', [1, 1, 3, 3])],
    }));
    expect(analyzeBytes(slice).layers[0].inputShape).toEqual([1, 1, 3, 3]);
  });
});
