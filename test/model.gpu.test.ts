/**
 * `peir model` on WebGPU with the Silero VAD model (legacy, shipped in the
 * dev dependency @ricky0123/vad-web): every layer's fp32 output on the GPU
 * against the CPU reference and against the ONNX operator definition
 * written out in test/onnx-builders.ts (on the ONNX weights as stored), and
 * the command itself (dist/cli.js) producing the JSON and Markdown reports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { lstmCpu } from '../src/cpu/lstm.js';
import { Prng } from '../src/data/prng.js';
import { analyzeModel, type ModelLayer } from '../src/model/graph.js';
import { engineConvInputShape } from '../src/model/layers.js';
import { loadOnnxFile } from '../src/onnx/load-node.js';
import { GpuEngine, type Layer } from '../src/run/engine.js';
import { f32, type Tensor } from '../src/tensor.js';
import { randomTensor, useGpu } from './helpers.js';
import { convTolerance, cpuConv, findNode, naiveOnnxConv, naiveOnnxLstm, rawFloats, SILERO_LEGACY } from './onnx-builders.js';
import { compareWithBound, describeMismatches, handCheckTolerance, lstmSequenceTolerance, lstmStepTolerance } from './tolerance.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'peir-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectWithin(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number): void {
  const bad = compareWithBound(Float32Array.from(got), Float32Array.from(want), tol);
  expect(bad, `${what}: ${describeMismatches(bad, got.length)}`).toHaveLength(0);
}

type LstmLayer = Extract<Layer, { kind: 'lstm' }>;

/**
 * lstmSequenceTolerance for a short sequence: per step, the largest
 * lstmStepTolerance over the units, with gate magnitudes from the CPU
 * reference's own states (the magnitudes of the bound's derivation).
 */
function lstmTolerance(l: LstmLayer, x: Tensor): number[] {
  const [T, I] = x.shape;
  const H = l.weightHh.shape[1];
  const bounds: number[] = [];
  for (let t = 0; t < T; t++) {
    const prev = t === 0 ? undefined : lstmCpu({ input: f32([t, I], x.data.slice(0, t * I)), ...l });
    const h = prev?.h.data ?? new Float32Array(H);
    const c = prev?.c.data ?? new Float32Array(H);
    let worst = 0;
    for (let j = 0; j < H; j++) {
      let mag = 0;
      for (let g = 0; g < 4; g++) {
        const row = g * H + j;
        let m = Math.abs(l.biasIh?.data[row] ?? 0) + Math.abs(l.biasHh?.data[row] ?? 0);
        for (let k = 0; k < I; k++) m += Math.abs(l.weightIh.data[row * I + k] * x.data[t * I + k]);
        for (let k = 0; k < H; k++) m += Math.abs(l.weightHh.data[row * H + k] * h[k]);
        mag = Math.max(mag, m);
      }
      worst = Math.max(worst, lstmStepTolerance(I + H + 2, mag, Math.abs(c[j])).h);
    }
    bounds.push(worst);
  }
  return lstmSequenceTolerance(bounds);
}

describe('Silero VAD legacy on WebGPU', () => {
  const gpu = useGpu();
  const { model } = loadOnnxFile(SILERO_LEGACY);
  const analysis = analyzeModel(model, { file: SILERO_LEGACY, inputShapes: [{ name: 'input', dims: [1, 512] }] });
  const layers = analysis.layers.filter((l): l is ModelLayer & { inputShape: number[] } => l.inputShape !== null);

  it('has layers with known shapes in both sample-rate branches', () => {
    expect(layers).toHaveLength(40);
  });

  it('each layer\'s fp32 output on the GPU equals the CPU reference and the ONNX definition on the stored weights (seed 2401)', async () => {
    const engine = new GpuEngine(gpu());
    const p = new Prng(2401);
    for (const l of layers) {
      const node = findNode(model.graph!, l.node)!;
      if (l.kind === 'lstm') {
        const [T, , I] = l.inputShape;
        const x = randomTensor(p, [T, I]);
        const layer = l.layer as LstmLayer;
        const got = (await engine.lstm({ input: x, ...layer })).output;
        const ref = lstmCpu({ input: x, ...layer }).output;
        const tol = lstmTolerance(layer, x);
        const H = layer.weightHh.shape[1];
        expectWithin(`${l.id}: GPU vs CPU`, got.data, ref.data, (i) => tol[Math.floor(i / H)]);
        const [w, r, b] = [1, 2, 3].map((k) => rawFloats(model.graph!, node.input[k]));
        const onnx = naiveOnnxLstm(x.data, T, I, w, r, b, H, 0, false);
        expectWithin(`${l.id}: GPU vs ONNX definition`, got.data, Float32Array.from(onnx), (i) => tol[Math.floor(i / H)] + handCheckTolerance(1));
        continue;
      }
      const xModel = randomTensor(p, l.inputShape);
      const x = f32(engineConvInputShape(l.inputShape), xModel.data);
      const got = await engine.conv(l.layer as Extract<Layer, { kind: 'conv2d' | 'depthwise' }>, x);
      const ref = cpuConv(l, xModel);
      const tol = convTolerance(l, xModel);
      expect(got.shape, l.id).toEqual(ref.shape);
      expectWithin(`${l.id}: GPU vs CPU`, got.data, ref.data, tol);
      const w = rawFloats(model.graph!, node.input[1]);
      const b = node.input[2] ? rawFloats(model.graph!, node.input[2]) : undefined;
      const c = l.conv!;
      const onnx = naiveOnnxConv(xModel.data, l.inputShape, w, l.weightShape, b, { strides: c.strides, pads: c.explicitPads, dilations: c.dilations, group: c.group });
      expect(onnx.data.length, l.id).toBe(got.data.length);
      expectWithin(`${l.id}: GPU vs ONNX definition`, got.data, Float32Array.from(onnx.data), tol);
    }
  });
});

function peir(...args: string[]) {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('peir model (dist/cli.js) on Silero VAD legacy', () => {
  it('builds', () => expect(inject('distBuildError')).toBe(''));

  it('--format json: model, adapter, layers[] worst first with run summaries, skipped[] with reasons, verdict', () => {
    const out = join(dir, 'silero.json');
    const r = peir('model', SILERO_LEGACY, '--input-shape', 'input=1,512', '--trials', '2', '--calib', '2', '--format', 'json', '--out', out, '-q');
    expect(r.stderr).toContain('report written to');
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.command).toBe('model');
    expect(doc.model.found).toEqual({ Conv: 36, LSTM: 8 });
    expect(doc.adapter.host).toBe('node-dawn');
    expect(doc.settings).toMatchObject({ scheme: 'q8', trials: 2, calib: 2, inputs: 'synthetic' });
    expect(doc.layers).toHaveLength(40);
    expect(doc.skipped).toHaveLength(4);
    for (const s of doc.skipped) expect(s.reason).toMatch(/not taken for these input shapes/);
    const medians = doc.layers.map((l: { summary: { peir: { median: number } } }) => l.summary.peir.median);
    expect(medians).toEqual([...medians].sort((a: number, b: number) => b - a));
    for (const l of doc.layers) {
      for (const k of ['min', 'median', 'max', 'mean']) expect(Number.isFinite(l.summary.peir[k]), `${l.id} ${k}`).toBe(true);
      expect(l.summary.sqnrDb && l.summary.cosine, l.id).toBeTruthy();
      expect(l.worstChannel.channel).toBeGreaterThanOrEqual(0);
    }
    const lstm = doc.layers.find((l: { node: string }) => l.node === 'LSTM_245');
    expect(lstm.geometry).toEqual({ steps: 1, inputSize: 64, hidden: 64, direction: 'forward', layout: 0 });
    expect(doc.verdict.threshold).toBe(0.01);
    expect(Array.isArray(doc.verdict.keep)).toBe(true);
  });

  it('--scheme q16 --format md: a Markdown table and verdict', () => {
    const r = peir('model', SILERO_LEGACY, '--input-shape', 'input=1,512', '--scheme', 'q16', '--trials', '2', '--calib', '2', '--format', 'md', '-q');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('## peir model');
    expect(r.stdout).toMatch(/\| 1 \| \S+ \|/);
    expect(r.stdout).toContain('**Verdict:**');
    // Every live layer measured: only the four LSTMs of untaken If branches are skipped.
    expect(r.stdout).not.toContain('failed:');
    expect(r.stdout).toContain('skipped (4):');
  });

  it('a non-ONNX file: exit 1, one line naming the file', () => {
    const r = peir('model', 'package.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^peir: ModelFileError: package\.json: /);
  });
});
