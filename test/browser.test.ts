/**
 * The kernels in a real browser: headless Chromium loads dist/browser/harness.html
 * (built by test/global-setup.ts), runs seeded conv2d, depthwise conv2d and
 * LSTM cases on its own WebGPU and returns JSON that is checked here against
 * the CPU references.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { HarnessRun, KernelCase } from '../src/browser/harness-protocol.js';
import { toJson } from '../src/browser/harness-protocol.js';
import { runInChrome } from '../src/browser/run-in-chrome.js';
import { conv2dCpu } from '../src/cpu/conv2d.js';
import { depthwiseConv2dCpu } from '../src/cpu/depthwise-conv2d.js';
import { lstmCpu } from '../src/cpu/lstm.js';
import { Prng } from '../src/data/prng.js';
import { PeirError } from '../src/errors.js';
import type { Conv2dOptions } from '../src/layers/conv-geometry.js';
import { f32 } from '../src/tensor.js';
import { absTensor, randomTensor } from './helpers.js';
import { compareWithBound, describeMismatches, dotTolerance, lstmStepTolerance } from './tolerance.js';

interface ConvCase {
  kernel: 'conv2d' | 'depthwise-conv2d';
  seed: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: [number, number];
  opts: Conv2dOptions;
  bias: boolean;
}

const CASES: ConvCase[] = [
  { kernel: 'conv2d', seed: 101, cin: 1, cout: 1, h: 1, w: 1, k: [1, 1], opts: {}, bias: true },
  { kernel: 'conv2d', seed: 102, cin: 3, cout: 5, h: 7, w: 13, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { kernel: 'conv2d', seed: 103, cin: 2, cout: 7, h: 7, w: 13, k: [3, 5], opts: { padding: 'valid', stride: 2 }, bias: false },
  { kernel: 'conv2d', seed: 104, cin: 4, cout: 6, h: 16, w: 15, k: [3, 3], opts: { padding: 'same', stride: 2, dilation: 2 }, bias: true },
  {
    kernel: 'conv2d', seed: 105, cin: 4, cout: 6, h: 9, w: 11, k: [3, 3],
    opts: { padding: [1, 2, 0, 3], stride: [2, 1], dilation: [1, 2] }, bias: true,
  },
  { kernel: 'conv2d', seed: 106, cin: 3, cout: 8, h: 64, w: 64, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { kernel: 'depthwise-conv2d', seed: 107, cin: 5, cout: 5, h: 7, w: 13, k: [3, 3], opts: { padding: 'same' }, bias: true },
  { kernel: 'depthwise-conv2d', seed: 108, cin: 6, cout: 6, h: 16, w: 15, k: [5, 5], opts: { padding: 'same', stride: 2, dilation: 2 }, bias: false },
];

function makeTensors(c: ConvCase) {
  const p = new Prng(c.seed);
  const input = randomTensor(p, [1, c.cin, c.h, c.w]);
  const weight = randomTensor(p, [c.cout, c.kernel === 'conv2d' ? c.cin : 1, ...c.k]);
  const bias = c.bias ? randomTensor(p, [c.cout]) : undefined;
  return { input, weight, bias };
}

function toCase(c: ConvCase): KernelCase {
  const { input, weight, bias } = makeTensors(c);
  return {
    kernel: c.kernel,
    input: toJson(input),
    weight: toJson(weight),
    ...(bias ? { bias: toJson(bias) } : {}),
    opts: c.opts as Record<string, unknown>,
  };
}

/**
 * One LSTM step from a given state (h0, c0), with PyTorch's default weight
 * range U(-1/sqrt(H), 1/sqrt(H)): compared with `lstmStepTolerance`, which
 * needs no assumption about the dynamics.
 */
const LSTM = { seed: 109, inputSize: 5, hiddenSize: 7 };

function makeLstm() {
  const { inputSize: I, hiddenSize: H } = LSTM;
  const p = new Prng(LSTM.seed);
  const k = 1 / Math.sqrt(H);
  return {
    input: randomTensor(p, [1, I]),
    weightIh: randomTensor(p, [4 * H, I], -k, k),
    weightHh: randomTensor(p, [4 * H, H], -k, k),
    biasIh: randomTensor(p, [4 * H], -k, k),
    biasHh: randomTensor(p, [4 * H], -k, k),
    h0: randomTensor(p, [H]),
    c0: randomTensor(p, [H], -2, 2),
  };
}

function lstmCase(): KernelCase {
  const t = makeLstm();
  return {
    kernel: 'lstm',
    input: toJson(t.input),
    weight: toJson(t.weightIh),
    bias: toJson(t.biasIh),
    extra: { weightHh: toJson(t.weightHh), biasHh: toJson(t.biasHh), h0: toJson(t.h0), c0: toJson(t.c0) },
  };
}

describe('kernels in headless Chromium (WebGPU in a page) vs the CPU reference', () => {
  let run: HarnessRun;

  beforeAll(async () => {
    const buildError = inject('distBuildError');
    if (buildError) throw new Error(buildError);
    run = await runInChrome('harness', (cases) => window.peirHarness!.run(cases), {
      arg: [...CASES.map(toCase), lstmCase()],
      timeoutMs: 90_000,
    });
  });

  it('ran on a real WebGPU adapter in the browser, and reported it', () => {
    const a = run.adapter;
    expect(a.host).toBe('browser');
    expect(a.vendor, 'adapter vendor').not.toBe('');
    expect(a.architecture, 'adapter architecture').not.toBe('');
    expect(typeof a.isFallbackAdapter).toBe('boolean');
    if (a.architecture === 'swiftshader') expect(a.isFallbackAdapter).toBe(true);
    expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(run.results).toHaveLength(CASES.length + 1);
  });

  CASES.forEach((c, i) => {
    it(`${c.kernel} seed ${c.seed}: ${c.cin}->${c.cout} ${c.h}x${c.w} k${c.k.join('x')} ${JSON.stringify(c.opts)}`, () => {
      const { input, weight, bias } = makeTensors(c);
      const cpu = c.kernel === 'conv2d' ? conv2dCpu : depthwiseConv2dCpu;
      const want = cpu(input, weight, bias, c.opts);
      const got = run.results[i];
      expect(got.shape).toEqual(want.shape);
      const mag = cpu(absTensor(input), absTensor(weight), bias && absTensor(bias), c.opts).data;
      const n = (c.kernel === 'conv2d' ? c.cin : 1) * c.k[0] * c.k[1];
      const bad = compareWithBound(Float32Array.from(got.data), want.data, (j) => dotTolerance(n, mag[j]));
      expect(bad, `seed ${c.seed}: ${describeMismatches(bad, got.data.length)}`).toHaveLength(0);
    });
  });

  it(`lstm seed ${LSTM.seed}: one step, I=${LSTM.inputSize} H=${LSTM.hiddenSize}, from a given state`, () => {
    const t = makeLstm();
    const { inputSize: I, hiddenSize: H } = LSTM;
    const want = lstmCpu(t);
    const got = run.results[CASES.length];
    expect(got.shape).toEqual([1, H]);
    expect(got.extra?.h.shape).toEqual([H]);
    expect(got.extra?.c.shape).toEqual([H]);
    // Per unit j: the largest sum of |terms| over its four gate pre-activations.
    const gateMagnitude = (j: number) => {
      let m = 0;
      for (let q = 0; q < 4; q++) {
        const row = q * H + j;
        let s = Math.abs(t.biasIh.data[row]) + Math.abs(t.biasHh.data[row]);
        for (let i = 0; i < I; i++) s += Math.abs(t.weightIh.data[row * I + i] * t.input.data[i]);
        for (let i = 0; i < H; i++) s += Math.abs(t.weightHh.data[row * H + i] * t.h0.data[i]);
        m = Math.max(m, s);
      }
      return m;
    };
    const tol = (j: number) => lstmStepTolerance(I + H + 2, gateMagnitude(j), Math.abs(t.c0.data[j]));
    for (const [name, gotData, wantData, bound] of [
      ['output', got.data, want.output.data, (j: number) => tol(j).h],
      ['h', got.extra!.h.data, want.h.data, (j: number) => tol(j).h],
      ['c', got.extra!.c.data, want.c.data, (j: number) => tol(j).c],
    ] as const) {
      const bad = compareWithBound(Float32Array.from(gotData), wantData, bound);
      expect(bad, `lstm seed ${LSTM.seed} ${name}: ${describeMismatches(bad, wantData.length)}`).toHaveLength(0);
    }
  });

  it('reports a kernel error in the page as a PeirError naming the case', async () => {
    const x = f32([1, 3, 4, 4]);
    const w = f32([2, 5, 3, 3]); // 5 input channels for a 3-channel input
    const bad: KernelCase = { kernel: 'conv2d', input: toJson(x), weight: toJson(w) };
    const err = await runInChrome('harness', (cases) => window.peirHarness!.run(cases), { arg: [bad] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeirError);
    expect((err as Error).message).toMatch(/case 0 \(conv2d\): InputError: conv2d weight expects 5 input channels but the input has 3/);
  });

  it('forwards uncaught page errors and failed requests, and puts them in the error when the page never gets ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peir-broken-page-'));
    try {
      writeFileSync(
        join(dir, 'broken.html'),
        '<!doctype html><link rel="icon" href="data:,"><script src="./missing.js"></script>' +
          '<script>throw new Error("boom from the page")</script>',
      );
      const lines: string[] = [];
      const err = await runInChrome('broken', () => 1, { distDir: dir, readyTimeoutMs: 1500, onPageProblem: (l) => lines.push(l) }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PeirError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/failed while waiting for window\.peirHarness/);
      expect(msg).toContain('boom from the page');
      expect(msg).toMatch(/HTTP 404 for http:\/\/127\.0\.0\.1:\d+\/missing\.js/);
      expect(lines.some((l) => l.includes('boom from the page'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says to run the build when a page is missing', async () => {
    await expect(runInChrome('no-such-page', () => 1)).rejects.toThrow(/no-such-page\.html does not exist: run 'npm run build'/);
  });
});
