/**
 * `peir browser run` (dist/cli.js, built by test/global-setup.ts) against
 * `peir run` on the same kind of adapter (SwiftShader in both: Dawn in Node,
 * Chromium's WebGPU in the page): the same seed gives the same report, trial
 * for trial, bit for bit. Also: options checked before Chrome starts, the
 * browser ended on --timeout and on Ctrl-C, and `peir serve`.
 *
 * Why exact equality holds (and is asserted, not a tolerance): both hosts run
 * the same engine code on the same SwiftShader build (Node's Dawn loads
 * Chromium's vk_swiftshader ICD, src/gpu/node-host.ts), inputs and weights
 * come from the seed alone, integer kernels are exact, and the fp32 kernels
 * (the reference output X, calibration ranges) execute the same WGSL
 * arithmetic in the same order on the same JIT, so even X agrees bit for bit.
 * On two different adapters only fp32 would differ, within
 * test/tolerance.ts's bounds; that case is not what this file checks.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AdapterReport } from '../src/gpu/context.js';
import { findSwiftShaderIcd } from '../src/gpu/node-host.js';
import { writeNpy } from '../src/data/npy-node.js';
import { Prng } from '../src/data/prng.js';
import { f32 } from '../src/tensor.js';
import type { RunReport } from '../src/run/experiment.js';
import { liveWithArg } from './processes.js';
import { haveChrome } from './chrome-available.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const swiftShaderIcd = findSwiftShaderIcd();

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface PeirProcess {
  done: Promise<Ran>;
  kill(signal: NodeJS.Signals): void;
  stdout(): string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, deadlineMs = 60_000): PeirProcess {
  const p = spawn(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c) => (stdout += c));
  p.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => p.kill('SIGKILL'), deadlineMs);
  const done = new Promise<Ran>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { done, kill: (s) => p.kill(s), stdout: () => stdout };
}

const peir = (...args: string[]) => start(args).done;

async function waitFor(probe: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

beforeAll(() => {
  const buildError = inject('distBuildError');
  if (buildError) throw new Error(buildError);
});

describe.runIf(haveChrome && swiftShaderIcd && process.platform === 'linux')('peir browser run agrees with peir run (both on SwiftShader)', () => {
  const CASES = [
    ['conv2d q8, seed 1', ['--module', 'conv2d', '--scheme', 'q8', '--size', '32', '--trials', '3', '--seed', '1']],
    ['lstm q16, seed 5', ['--module', 'lstm', '--scheme', 'q16', '--size', '16', '--hidden', '8', '--trials', '2', '--seed', '5']],
  ] as const;

  it.each(CASES)('%s: identical trials, calibration and summary', async (_name, args) => {
    // Side by side: Chrome's start-up overlaps the Node run.
    const [node, browser] = await Promise.all([
      start(['run', ...args, '--format', 'json', '--no-journal'], { VK_ICD_FILENAMES: swiftShaderIcd, VK_DRIVER_FILES: swiftShaderIcd }).done,
      peir('browser', 'run', ...args, '--format', 'json', '--chrome-flag=--use-webgpu-adapter=swiftshader'),
    ]);
    expect(node.code, node.stderr).toBe(0);
    expect(browser.code, browser.stderr).toBe(0);
    const n = JSON.parse(node.stdout) as RunReport;
    const b = JSON.parse(browser.stdout) as RunReport;
    const na = n.adapter as AdapterReport;
    const ba = b.adapter as AdapterReport;
    expect([na.host, na.architecture]).toEqual(['node-dawn', 'swiftshader']);
    expect([ba.host, ba.architecture]).toEqual(['browser', 'swiftshader']);
    expect(b.config).toEqual(n.config);
    expect(b.description).toBe(n.description);
    expect(b.calibration).toEqual(n.calibration);
    // Per trial, every metric exactly (PEIR and max |err| first, so a failure names them).
    for (const [k, t] of n.trials.entries()) {
      const u = b.trials[k];
      expect([u.trial, u.peir, u.maxAbsError], `trial ${k}: browser vs node`).toEqual([t.trial, t.peir, t.maxAbsError]);
      expect(u, `trial ${k}: browser vs node`).toEqual(t);
    }
    expect(b.trials).toHaveLength(n.trials.length);
    expect(b.summary).toEqual(n.summary);
  });

  it('seed 4: --weights loaded in Node run in the page, with the same result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peir-browser-weights-'));
    try {
      // A depthwise layer of 3 channels with planted channel scales (so per-channel PEIRs differ).
      const p = new Prng(4);
      await writeNpy(join(dir, 'weight.npy'), f32([3, 1, 3, 3], p.fill(27, (r) => r.uniform(-1, 1)).map((v, i) => v * (1 + Math.floor(i / 9)))));
      await writeNpy(join(dir, 'bias.npy'), f32([3], [0.5, -0.25, 0]));
      const args = ['--module', 'depthwise', '--scheme', 'q8', '--size', '12', '--trials', '2', '--calib', '2', '--seed', '4', '--weights', dir, '--format', 'json'];
      const [node, browser] = await Promise.all([
        start(['run', ...args, '--no-journal'], { VK_ICD_FILENAMES: swiftShaderIcd, VK_DRIVER_FILES: swiftShaderIcd }).done,
        peir('browser', 'run', ...args),
      ]);
      expect(node.code, node.stderr).toBe(0);
      expect(browser.code, browser.stderr).toBe(0);
      const n = JSON.parse(node.stdout) as RunReport;
      const b = JSON.parse(browser.stdout) as RunReport;
      expect(b.config).toMatchObject({ inChannels: 3, outChannels: 3, weightsDir: dir });
      expect(b.config).toEqual(n.config);
      expect(b.trials).toEqual(n.trials);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the other formats too, naming the browser adapter', async () => {
    const r = await peir('browser', 'run', '--module', 'depthwise', '--scheme', 'q8', '--size', '8', '--in-channels', '2', '--trials', '2', '--calib', '1', '--format', 'md', '-q');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^## peir run\n/);
    expect(r.stdout).toMatch(/- adapter: google swiftshader.* via browser/);
    expect(r.stdout).toMatch(/\| PEIR \| /);
  });
});

describe('peir browser run refuses bad input before starting Chrome', () => {
  it('a bad option value is an InputError naming the option (status 1)', async () => {
    const r = await peir('browser', 'run', '--module', 'conv2d', '--scheme', 'q8', '--size', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/InputError: --size must be an integer from 1 to 16384; got 0/);
  });

  it('a --chrome that does not exist is reported', async () => {
    const r = await peir('browser', 'run', '--module', 'conv2d', '--scheme', 'q8', '--size', '8', '--chrome', '/nonexistent/chrome');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the Chrome executable given \(\/nonexistent\/chrome\) does not exist or is not executable/);
  });
});

describe.runIf(haveChrome && process.platform === 'linux')('peir browser run always ends the browser', () => {
  /** A run far longer than the test: it only ends by --timeout or a signal. */
  const LONG = ['browser', 'run', '--module', 'conv2d', '--scheme', 'q8', '--size', '96', '--trials', '100000', '-q'];

  it('--timeout kills Chrome and fails with status 1', async () => {
    // A private TMPDIR: Chrome's profile, and so its command line, lives under it.
    const tmp = mkdtempSync(join(tmpdir(), 'peir-browser-timeout-'));
    try {
      const t0 = Date.now();
      const r = await start([...LONG, '--timeout', '3'], { TMPDIR: tmp }).done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/still running after 3 s and was killed/);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(await waitFor(() => liveWithArg(tmp).length === 0, 5_000), `still running: ${liveWithArg(tmp).join(', ')}`).toBe(true);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('Ctrl-C (SIGINT) mid-run kills Chrome and ends peir with SIGINT', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'peir-browser-sigint-'));
    try {
      const p = start(LONG, { TMPDIR: tmp });
      expect(await waitFor(() => liveWithArg(tmp).length > 0, 20_000), 'Chrome never started').toBe(true);
      // Let the page load and the run begin.
      await new Promise((r) => setTimeout(r, 2_500));
      p.kill('SIGINT');
      const r = await p.done;
      expect(r.signal, r.stderr).toBe('SIGINT');
      expect(await waitFor(() => liveWithArg(tmp).length === 0, 5_000), `still running: ${liveWithArg(tmp).join(', ')}`).toBe(true);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('peir serve', () => {
  it('serves the page and its worker on 127.0.0.1, prints the URL, and stops on Ctrl-C', async () => {
    const p = start(['serve', '--port', '0']);
    expect(await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\//.test(p.stdout()), 30_000), 'no URL printed').toBe(true);
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(p.stdout())![0];
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>peir: quantization error/);
    const worker = await fetch(`${url}worker.js`);
    expect(worker.status).toBe(200);
    expect(worker.headers.get('content-type')).toMatch(/^text\/javascript/);
    // Only dist/browser is served (test/server.test.ts covers traversal).
    expect((await fetch(`${url}package.json`)).status).toBe(404);
    p.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
  });
});

describe.runIf(Boolean(swiftShaderIcd))('peir browser bench', () => {
  it('runs the benchmark suite in headless Chromium and prints the same report', async () => {
    const r = await start(['browser', 'bench', '--size', '16', '--cases', 'conv2d,minmax', '--budget-ms', '50', '--no-peers', '--study-trials', '1', '--json'], {}, 180_000).done;
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.host).toBe('browser');
    expect(report.cases.map((c: { id: string }) => c.id)).toEqual(['conv2d', 'minmax']);
    const md = await start(['browser', 'bench', '--cases', 'nope']).done;
    expect(md.code).toBe(1);
    expect(md.stderr).toMatch(/unknown case 'nope'; the cases are conv2d/);
  });
});
