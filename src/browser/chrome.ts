/**
 * Headless Chrome / Chromium for running peir's kernels in a real browser:
 * find the system browser (puppeteer never downloads one here, see
 * .puppeteerrc.cjs), launch it with WebGPU enabled and a throwaway profile,
 * and make sure it ends: on `close()`, on error, when the session's time runs
 * out, on SIGINT / SIGTERM / SIGHUP, and when Node exits.
 *
 * @example
 * ```ts
 * const title = await withChrome({ timeoutMs: 60_000 }, async ({ browser }) => {
 *   const page = await browser.newPage();
 *   await page.goto('http://127.0.0.1:8080/harness.html');
 *   return page.title();
 * });
 * ```
 */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer';
import { InputError, PeirError } from '../errors.js';
import { hasHardwareVulkan } from '../gpu/node-host.js';

/** Where browsers usually live, tried in order after `PEIR_CHROME`. */
export const CHROME_CANDIDATES: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The browser to launch: `explicit` if given, else `$PEIR_CHROME`, else the
 * first of `CHROME_CANDIDATES` that exists. An explicit choice that is not an
 * executable file is an error rather than a silent fallback.
 */
export function findChrome(explicit?: string, candidates: readonly string[] = CHROME_CANDIDATES): string {
  if (explicit) {
    if (!isExecutableFile(explicit)) throw new PeirError(`the Chrome executable given (${explicit}) does not exist or is not executable`);
    return explicit;
  }
  const fromEnv = process.env.PEIR_CHROME;
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) throw new PeirError(`PEIR_CHROME=${fromEnv} does not exist or is not executable`);
    return fromEnv;
  }
  const found = candidates.find(isExecutableFile);
  if (found) return found;
  throw new PeirError(
    `no Chrome or Chromium found (looked in ${candidates.join(', ')}). ` +
      `Install one (Debian / Ubuntu: 'sudo apt-get install chromium') or set PEIR_CHROME to the browser's executable.`,
  );
}

/**
 * Flags for a headless browser with WebGPU. On Linux without a hardware GPU,
 * WebGPU runs on SwiftShader (Chrome's CPU Vulkan), which Chrome only offers
 * when asked for by name.
 */
export function defaultChromeFlags(platform: NodeJS.Platform = process.platform, hardwareGpu = hasHardwareVulkan()): string[] {
  return [
    '--headless=new',
    '--no-sandbox',
    '--enable-unsafe-webgpu',
    '--enable-features=Vulkan',
    ...(platform === 'linux' && !hardwareGpu ? ['--use-webgpu-adapter=swiftshader'] : []),
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ];
}

/** The flags `launchChrome` uses on this machine unless told otherwise. */
export const DEFAULT_CHROME_FLAGS: readonly string[] = Object.freeze(defaultChromeFlags());

function flagName(flag: string): string {
  const eq = flag.indexOf('=');
  return eq < 0 ? flag : flag.slice(0, eq);
}

/** `base` with each of `extra` appended, replacing a flag of the same name (`--use-webgpu-adapter=default`). */
export function mergeChromeFlags(base: readonly string[], extra: readonly string[]): string[] {
  const names = new Set(extra.map(flagName));
  return [...base.filter((f) => !names.has(flagName(f))), ...extra];
}

export interface LaunchChromeOptions {
  /** The browser executable; default `findChrome()`. */
  executablePath?: string;
  /** Replace `DEFAULT_CHROME_FLAGS` entirely. */
  flags?: readonly string[];
  /** Add to the flags; one with the same name as a default replaces it. */
  extraFlags?: readonly string[];
  /** The browser is killed this long after launch, whatever it is doing. Default 120 s. */
  timeoutMs?: number;
  /** How long Chrome may take to start. Default 30 s. */
  launchTimeoutMs?: number;
}

export interface ChromeSession {
  browser: Browser;
  executablePath: string;
  /** The flags it was launched with (before puppeteer's own). */
  flags: readonly string[];
  /** The fresh profile directory, removed when the session ends. */
  userDataDir: string;
  /** Rejects with a PeirError when `timeoutMs` runs out (the browser is then already killed). */
  deadline: Promise<never>;
  /** Close the browser (killing it if it does not close within 5 s) and remove the profile. Idempotent. */
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 5_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Sessions still alive, killed synchronously if the process is interrupted or exits. */
const live = new Set<{ killNow(): void; started: boolean }>();

/** Launches in progress (their pid is not known yet), and a signal that arrived meanwhile. */
let launching = 0;
let pendingSignal: NodeJS.Signals | undefined;

function onSignal(signal: NodeJS.Signals): void {
  // A browser still starting (pid unknown, profile in use) is killed, and the
  // signal re-raised, once its launch settles.
  for (const s of [...live]) if (s.started) s.killNow();
  if (launching > 0) pendingSignal = signal;
  else reraise(signal);
}

function reraise(signal: NodeJS.Signals): void {
  pendingSignal = undefined;
  removeProcessHandlers();
  // With no other listener left the default action ends the process with the
  // signal's status. Anyone else listening received it already.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function onExit(): void {
  for (const s of [...live]) s.killNow();
}

function addProcessHandlers(): void {
  if (live.size !== 1) return;
  for (const sig of SIGNALS) process.on(sig, onSignal);
  process.on('exit', onExit);
}

function removeProcessHandlers(): void {
  for (const sig of SIGNALS) process.off(sig, onSignal);
  process.off('exit', onExit);
}

/**
 * Launch headless Chrome with WebGPU and a fresh temporary profile. The
 * caller must `close()` the session (or use `withChrome`), but the browser
 * also ends if the time runs out or the Node process is interrupted or exits.
 */
export async function launchChrome(opts: LaunchChromeOptions = {}): Promise<ChromeSession> {
  const executablePath = findChrome(opts.executablePath);
  const flags = mergeChromeFlags(opts.flags ?? DEFAULT_CHROME_FLAGS, opts.extraFlags ?? []);
  if (flags.some((f) => flagName(f) === '--user-data-dir')) {
    throw new InputError('launchChrome: do not pass --user-data-dir; each session gets a fresh temporary profile');
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const userDataDir = mkdtempSync(join(tmpdir(), 'peir-chrome-'));
  // Chrome's own temporary files (org.chromium.Chromium.*, left behind when it is killed) go inside the profile.
  const chromeTmp = join(userDataDir, 'tmp');
  mkdirSync(chromeTmp);

  let pid: number | undefined;
  let exited = false;
  const killNow = (): void => {
    if (pid !== undefined) {
      try {
        // puppeteer starts the browser as a process-group leader (detached): this also ends
        // helper processes (GPU, renderer) that might outlive a browser that has exited.
        if (process.platform !== 'win32') process.kill(-pid, 'SIGKILL');
        else if (!exited) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      pid = undefined;
    }
    rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    live.delete(entry);
  };
  const entry = { killNow, started: false };
  live.add(entry);
  addProcessHandlers();

  let browser: Browser;
  launching++;
  try {
    const { default: puppeteer } = await import('puppeteer');
    browser = await puppeteer.launch({
      executablePath,
      // The headless flag is ours (in `flags`), so that callers can change it.
      headless: false,
      args: [...flags, `--user-data-dir=${userDataDir}`],
      pipe: true,
      env: { ...process.env, TMPDIR: chromeTmp },
      timeout: opts.launchTimeoutMs ?? 30_000,
      protocolTimeout: timeoutMs,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (e) {
    launching--;
    killNow();
    if (launching === 0 && pendingSignal) reraise(pendingSignal);
    if (live.size === 0) removeProcessHandlers();
    throw new PeirError(`could not start ${executablePath}: ${(e as Error).message}`, { cause: e });
  }
  launching--;
  const proc = browser.process();
  pid = proc?.pid;
  entry.started = true;
  if (pendingSignal) {
    const signal = pendingSignal;
    killNow();
    if (launching === 0) reraise(signal);
    throw new PeirError(`interrupted by ${signal} while Chrome was starting`);
  }
  if (proc) {
    if (proc.exitCode !== null || proc.signalCode !== null) exited = true;
    else proc.once('exit', () => (exited = true));
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      killNow();
      reject(new PeirError(`Chrome was still running after ${timeoutMs / 1000} s and was killed (LaunchChromeOptions.timeoutMs)`));
    }, timeoutMs);
  });
  deadline.catch(() => undefined);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearTimeout(timer);
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        browser.close().catch(() => undefined),
        new Promise<void>((r) => (grace = setTimeout(r, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(grace);
      // The browser has exited or is past its grace period: make sure of the whole process group.
      killNow();
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
      if (live.size === 0) removeProcessHandlers();
    })();
    return closing;
  };

  return { browser, executablePath, flags, userDataDir, deadline, close };
}

/** Launch Chrome, run `fn`, and close Chrome whatever happens; `fn` fails with a PeirError if the time runs out. */
export async function withChrome<T>(opts: LaunchChromeOptions, fn: (session: ChromeSession) => Promise<T>): Promise<T> {
  const session = await launchChrome(opts);
  try {
    return await Promise.race([fn(session), session.deadline]);
  } finally {
    await session.close();
  }
}
