/**
 * Run a function in one of peir's pages (dist/browser/<page>.html) in headless
 * Chrome and return its JSON result to Node. Serves dist/browser on
 * 127.0.0.1, launches Chrome, waits for `window.peirHarness`, evaluates, and
 * always closes the browser and the server. Builds nothing: run
 * `npm run build` first.
 *
 * @example
 * ```ts
 * const run = await runInChrome('harness', (cases) => window.peirHarness!.run(cases), { arg: cases });
 * ```
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer';
import { InputError, PeirError } from '../errors.js';
import { withChrome, type LaunchChromeOptions } from './chrome.js';
import { serveStatic } from './server.js';

export interface RunInChromeOptions<A> extends LaunchChromeOptions {
  /** The single argument passed to `fn` in the page (JSON-serialisable). */
  arg?: A;
  /** Where the built pages are; default dist/browser of this package. */
  distDir?: string;
  /** How long the page may take to load and define its global (`ready`). Default 30 s. */
  readyTimeoutMs?: number;
  /** The global the page defines once it is ready for `fn`. Default 'peirHarness'. */
  ready?: string;
  /** Called with the new tab before the page loads (e.g. to expose functions to it). */
  prepare?: (page: Page) => Promise<void>;
  /**
   * Receives the page's console errors, uncaught exceptions and failed
   * requests as they happen. Default: written to stderr.
   */
  onPageProblem?: (line: string) => void;
}

/** dist/browser, whether this module runs from src/browser (tests) or from a bundle in dist/. */
export function defaultDistDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'browser'), join(here, '../../dist/browser')];
  return candidates.find((d) => existsSync(d)) ?? candidates[candidates.length - 1];
}

function watchPage(page: Page, report: (line: string) => void): void {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'assert') report(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => report(`uncaught in page: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => report(`request failed: ${r.url()} (${r.failure()?.errorText ?? 'unknown'})`));
  page.on('response', (r) => {
    if (r.status() >= 400) report(`HTTP ${r.status()} for ${r.url()}`);
  });
}

/**
 * Open `<pageName>.html`, wait until it defines `window.peirHarness` (or the global named by `ready`), run
 * `fn(opts.arg)` in the page and return its (JSON-serialisable) result. If
 * anything fails, the thrown PeirError lists what the page reported.
 */
export async function runInChrome<T, A = undefined>(
  pageName: string,
  fn: (arg: A) => T | Promise<T>,
  opts: RunInChromeOptions<A> = {},
): Promise<T> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(pageName)) throw new InputError(`page name must be kebab-case letters and digits, got '${pageName}'`);
  const distDir = opts.distDir ?? defaultDistDir();
  const html = join(distDir, `${pageName}.html`);
  if (!existsSync(html)) {
    throw new PeirError(`${html} does not exist: run 'npm run build' to build the browser pages`);
  }
  const problems: string[] = [];
  const forward = opts.onPageProblem ?? ((line: string) => process.stderr.write(`[chrome ${pageName}] ${line}\n`));
  const report = (line: string) => {
    problems.push(line);
    forward(line);
  };
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const withProblems = (msg: string) => (problems.length ? `${msg}\npage reported:\n  ${problems.join('\n  ')}` : msg);
  const annotated = new WeakSet<object>();
  const server = await serveStatic(distDir);
  try {
    return await withChrome(opts, async ({ browser }) => {
      let step = 'opening a tab';
      try {
        const page = await browser.newPage();
        watchPage(page, report);
        if (opts.prepare) {
          step = 'preparing the tab';
          await opts.prepare(page);
        }
        step = `loading ${pageName}.html`;
        const response = await page.goto(`${server.url}/${pageName}.html`, { waitUntil: 'load', timeout: readyTimeoutMs });
        if (!response?.ok()) throw new Error(`HTTP ${response?.status() ?? 'no response'}`);
        const ready = opts.ready ?? 'peirHarness';
        step = `waiting for window.${ready}`;
        await page.waitForFunction((name: string) => (window as unknown as Record<string, unknown>)[name] !== undefined, { timeout: readyTimeoutMs }, ready);
        step = 'evaluating';
        return (await page.evaluate(fn as (arg: unknown) => unknown, opts.arg)) as T;
      } catch (e) {
        const err = new PeirError(withProblems(`runInChrome('${pageName}') failed while ${step}: ${(e as Error).message}`), { cause: e });
        annotated.add(err);
        throw err;
      }
    });
  } catch (e) {
    // A launch failure or the session deadline: still say what the page reported.
    if (annotated.has(e as object) || problems.length === 0) throw e;
    throw new PeirError(withProblems((e as Error).message), { cause: e });
  } finally {
    await server.close();
  }
}
