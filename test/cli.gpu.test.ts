/**
 * The built `peir` command (dist/cli.js, built by test/global-setup.ts): it
 * answers, and it exits by itself once done (a Dawn device or a stray handle
 * left open would keep Node alive after printing).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AdapterReport } from '../src/gpu/context.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Generous for a command that takes ~0.1 s: only a hang should cross it. */
const EXIT_DEADLINE_MS = 15_000;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function peir(...args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => p.kill('SIGKILL'), EXIT_DEADLINE_MS);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('peir CLI (dist/cli.js)', () => {
  beforeAll(() => {
    const buildError = inject('distBuildError');
    if (buildError) throw new Error(buildError);
  });

  it('prints its version and help', async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    const v = await peir('--version');
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = await peir('--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: peir/);
    expect(h.stdout).toMatch(/adapter/);
  });

  it('`peir adapter` prints the adapter report as JSON and exits by itself', async () => {
    const r = await peir('adapter');
    expect(r.signal, `peir adapter did not exit within ${EXIT_DEADLINE_MS} ms (killed); stderr: ${r.stderr}`).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as AdapterReport;
    expect(a.host).toBe('node-dawn');
    expect(a.vendor.length + a.architecture.length).toBeGreaterThan(0);
    expect(typeof a.isFallbackAdapter).toBe('boolean');
    if (a.architecture === 'swiftshader') expect(a.driver).toMatch(/SwiftShader|VK_ICD_FILENAMES/);
  });

  it('rejects an unknown command or option value with status 1', async () => {
    const bad = await peir('adapter', '--adapter', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Allowed choices are auto, swiftshader, hardware/);
    expect((await peir('no-such-command')).code).toBe(1);
  });
});
