/**
 * Finding and launching Chrome, and making sure it always ends: on close(),
 * when the session's time runs out, when the function given to withChrome
 * throws, and when the Node process gets SIGINT / SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CHROME_CANDIDATES,
  defaultChromeFlags,
  findChrome,
  launchChrome,
  mergeChromeFlags,
  withChrome,
} from '../src/browser/chrome.js';
import { InputError, PeirError } from '../src/errors.js';
import { liveWithArg } from './processes.js';
import { haveChrome } from './chrome-available.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const onLinux = process.platform === 'linux';

/** Live (non-zombie) processes in process group `pgid`, from /proc (Linux). */
function liveInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces, so parse after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') pids.push(Number(d));
  }
  return pids;
}

async function waitGroupGone(pgid: number, ms = 5_000): Promise<number[]> {
  const until = Date.now() + ms;
  let left = liveInGroup(pgid);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = liveInGroup(pgid);
  }
  return left;
}

async function waitFor<T>(probe: () => T | undefined, ms: number, stepMs = 10): Promise<T | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

describe('findChrome', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('takes an explicit executable first, and rejects one that does not exist', () => {
    vi.stubEnv('PEIR_CHROME', '/nonexistent/env-chrome');
    expect(findChrome(process.execPath)).toBe(process.execPath);
    expect(() => findChrome('/nonexistent/chrome')).toThrow(PeirError);
    expect(() => findChrome('/nonexistent/chrome')).toThrow(/\(\/nonexistent\/chrome\) does not exist or is not executable/);
  });

  it('then PEIR_CHROME, which must exist', () => {
    vi.stubEnv('PEIR_CHROME', process.execPath);
    expect(findChrome(undefined, [])).toBe(process.execPath);
    vi.stubEnv('PEIR_CHROME', '/nonexistent/env-chrome');
    expect(() => findChrome()).toThrow(/PEIR_CHROME=\/nonexistent\/env-chrome does not exist/);
  });

  it('then the first usual location that exists, skipping non-executable files', () => {
    vi.stubEnv('PEIR_CHROME', '');
    expect(findChrome(undefined, ['/nonexistent/a', join(ROOT, 'package.json'), process.execPath])).toBe(process.execPath);
    expect(CHROME_CANDIDATES).toContain('/usr/bin/chromium');
  });

  it('says how to install a browser or set PEIR_CHROME when there is none', () => {
    vi.stubEnv('PEIR_CHROME', '');
    expect(() => findChrome(undefined, ['/nonexistent/a', '/nonexistent/b'])).toThrow(
      /no Chrome or Chromium found \(looked in \/nonexistent\/a, \/nonexistent\/b\).*apt-get install chromium.*PEIR_CHROME/,
    );
  });
});

describe('Chrome flags', () => {
  it('asks for SwiftShader only on Linux without a hardware GPU', () => {
    const soft = defaultChromeFlags('linux', false);
    expect(soft).toContain('--use-webgpu-adapter=swiftshader');
    for (const f of ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-first-run']) {
      expect(soft).toContain(f);
    }
    expect(defaultChromeFlags('linux', true)).not.toContain('--use-webgpu-adapter=swiftshader');
    expect(defaultChromeFlags('darwin', false)).not.toContain('--use-webgpu-adapter=swiftshader');
  });

  it('lets a caller replace a default flag by name or add one', () => {
    const merged = mergeChromeFlags(['--headless=new', '--use-webgpu-adapter=swiftshader', '--no-first-run'], [
      '--use-webgpu-adapter=default',
      '--enable-logging',
    ]);
    expect(merged).toEqual(['--headless=new', '--no-first-run', '--use-webgpu-adapter=default', '--enable-logging']);
  });

  it('refuses a caller-chosen --user-data-dir (each session gets a fresh one)', async () => {
    await expect(launchChrome({ extraFlags: ['--user-data-dir=/tmp/x'] })).rejects.toThrow(InputError);
  });
});

describe.runIf(onLinux && haveChrome)('Chrome lifecycle', () => {
  const baseline = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM') + process.listenerCount('exit');

  it('close() ends the browser and all its helper processes, removes the profile and the signal handlers', async () => {
    const before = baseline();
    const s = await launchChrome();
    const pid = s.browser.process()!.pid!;
    expect(existsSync(s.userDataDir)).toBe(true);
    expect(baseline()).toBeGreaterThan(before);
    const page = await s.browser.newPage();
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
    expect(liveInGroup(pid).length).toBeGreaterThan(1);
    await s.close();
    await s.close();
    expect(await waitGroupGone(pid)).toEqual([]);
    expect(existsSync(s.userDataDir)).toBe(false);
    expect(baseline()).toBe(before);
  });

  it('kills the browser when the session time runs out', async () => {
    const s = await launchChrome({ timeoutMs: 1_500 });
    const pid = s.browser.process()!.pid!;
    const t0 = Date.now();
    await expect(s.deadline).rejects.toThrow(/still running after 1.5 s and was killed/);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(await waitGroupGone(pid)).toEqual([]);
    expect(existsSync(s.userDataDir)).toBe(false);
    await s.close();
  });

  it('withChrome closes the browser when the function throws, and times out a function that never ends', async () => {
    let pid = 0;
    let dir = '';
    await expect(
      withChrome({}, async (s) => {
        pid = s.browser.process()!.pid!;
        dir = s.userDataDir;
        throw new Error('failure inside');
      }),
    ).rejects.toThrow('failure inside');
    expect(await waitGroupGone(pid)).toEqual([]);
    expect(existsSync(dir)).toBe(false);

    await expect(
      withChrome({ timeoutMs: 1_500 }, async (s) => {
        pid = s.browser.process()!.pid!;
        return new Promise(() => {});
      }),
    ).rejects.toThrow(/was killed/);
    expect(await waitGroupGone(pid)).toEqual([]);
  });

  it('reports a browser that cannot start as a PeirError and leaves nothing behind', async () => {
    const before = baseline();
    await expect(launchChrome({ executablePath: '/bin/false', launchTimeoutMs: 5_000 })).rejects.toThrow(/could not start \/bin\/false/);
    expect(baseline()).toBe(before);
  });

  describe('when Node is interrupted', () => {
    let child: string;

    /** A small Node program that launches Chrome, prints its pid and profile, and waits. */
    async function bundleChild(): Promise<string> {
      if (child) return child;
      const dir = join(ROOT, 'test-artifacts');
      mkdirSync(dir, { recursive: true });
      child = join(dir, 'chrome-signal-child.mjs');
      await esbuild.build({
        stdin: {
          contents:
            `import { launchChrome } from ${JSON.stringify(join(ROOT, 'src/browser/chrome.ts'))};\n` +
            'const s = await launchChrome({ timeoutMs: 60_000 });\n' +
            'console.log(JSON.stringify({ pid: s.browser.process().pid, dir: s.userDataDir }));\n' +
            'setInterval(() => {}, 1000);\n',
          resolveDir: dir,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        outfile: child,
        logLevel: 'silent',
      });
      return child;
    }

    it('SIGTERM while Chrome is still starting kills it once the launch settles, and leaves no profile', async () => {
      // A private TMPDIR: the profile directory, and so Chrome's command line, lives under it.
      const tmp = mkdtempSync(join(tmpdir(), 'peir-signal-launch-'));
      try {
        const proc = spawn(process.execPath, [await bundleChild()], { stdio: 'ignore', env: { ...process.env, TMPDIR: tmp } });
        const exited = new Promise<NodeJS.Signals | null>((r) => proc.once('exit', (_code, sig) => r(sig)));
        const started = await waitFor(() => (liveWithArg(tmp).length > 0 ? true : undefined), 20_000);
        expect(started, 'Chrome never started').toBe(true);
        proc.kill('SIGTERM');
        expect(await exited).toBe('SIGTERM');
        const left = await waitFor(() => (liveWithArg(tmp).length === 0 ? [] : undefined), 5_000, 50);
        expect(left, `processes still running with ${tmp}: ${liveWithArg(tmp).join(', ')}`).toEqual([]);
        // Neither the profile nor Chrome's own temporary files (which it puts under TMPDIR) remain.
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });

    it.each(['SIGINT', 'SIGTERM'] as const)('%s kills the browser, removes the profile and ends Node with that signal', async (signal) => {
      const proc = spawn(process.execPath, [await bundleChild()], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      proc.stderr.on('data', (c) => (stderr += c));
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (c) => {
          out += c;
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        proc.once('exit', (code) => reject(new Error(`child exited (${code}) before launching Chrome: ${stderr}`)));
      });
      const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
      expect(liveInGroup(pid).length).toBeGreaterThan(0);
      const exited = new Promise<NodeJS.Signals | null>((r) => proc.once('exit', (_code, sig) => r(sig)));
      const t0 = Date.now();
      proc.kill(signal);
      expect(await exited).toBe(signal);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(await waitGroupGone(pid), `Chrome process group ${pid} still alive after ${signal}`).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    });
  });
});
