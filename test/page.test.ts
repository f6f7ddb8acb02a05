/**
 * The experiment page (dist/browser/index.html, built by test/global-setup.ts)
 * driven as a person would in headless Chromium on SwiftShader: fill the form,
 * click Run, read the table and the figures, export the JSON report, cancel a
 * run; and, in a browser without a WebGPU adapter, the notice and the CPU path
 * (checked against the same run in Node). A screenshot of a finished run is
 * kept in test-artifacts/page.png.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChrome, type ChromeSession } from '../src/browser/chrome.js';
import { defaultDistDir } from '../src/browser/run-in-chrome.js';
import { serveStatic, type StaticServer } from '../src/browser/server.js';
import { histogramBins } from '../src/browser/page/plots.js';
import { resolveConfig, type RunOptions } from '../src/run/config.js';
import { CpuEngine } from '../src/run/engine.js';
import { runExperiment, type RunReport } from '../src/run/experiment.js';
import { formatNumber, metricRows, worstTrial } from '../src/report/format.js';
import { haveChrome } from './chrome-available.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts');

/** A browser with WebGPU switched off the way a stock Linux Chromium has it: no --enable-unsafe-webgpu, so no adapter. */
const NO_WEBGPU_FLAGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

let server: StaticServer;

beforeAll(async () => {
  const buildError = inject('distBuildError');
  if (buildError) throw new Error(buildError);
  server = await serveStatic(defaultDistDir());
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await server?.close();
});

async function openPage(session: ChromeSession): Promise<Page> {
  const page = await session.browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${server.url}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.peir !== undefined, { timeout: 30_000 });
  (page as Page & { problems?: string[] }).problems = problems;
  return page;
}

/** Set a form field (input or select) by its id, as typing or choosing would, firing input and change. */
async function setField(page: Page, id: string, value: string): Promise<void> {
  const tag = await page.$eval(`#${id}`, (e) => e.tagName);
  if (tag === 'SELECT') {
    await page.select(`#${id}`, value);
  } else {
    await page.click(`#${id}`, { clickCount: 3 });
    await page.type(`#${id}`, value);
  }
}

async function waitForStatus(page: Page, pattern: RegExp, timeout = 60_000): Promise<string> {
  await page.waitForFunction((src: string) => new RegExp(src).test(document.getElementById('status')!.textContent ?? ''), { timeout }, pattern.source);
  return page.$eval('#status', (e) => e.textContent ?? '');
}

/** Count the canvas pixels that are not white: the heatmap is drawn. */
function inkedPixels(page: Page, id: string): Promise<{ inked: number; total: number; width: number; height: number }> {
  return page.$eval(`#${id}`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) inked++;
    return { inked, total: d.length / 4, width: canvas.width, height: canvas.height };
  });
}

/** Click a button that downloads a file and return the file's path once it is complete. */
async function downloadBy(page: Page, buttonId: string, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  await page.click(`#${buttonId}`);
  const until = Date.now() + 10_000;
  for (;;) {
    const fresh = readdirSync(dir).filter((f) => !before.has(f) && !f.endsWith('.crdownload'));
    if (fresh.length > 0) return join(dir, fresh[0]);
    if (Date.now() > until) throw new Error(`no download from #${buttonId} in 10 s (directory has: ${readdirSync(dir).join(', ')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(haveChrome)('the experiment page on WebGPU (SwiftShader)', () => {
  let session: ChromeSession;
  let page: Page;
  let downloads: string;

  beforeAll(async () => {
    session = await launchChrome({ timeoutMs: 150_000 });
    page = await openPage(session);
    downloads = mkdtempSync(join(tmpdir(), 'peir-downloads-'));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  });
  afterAll(async () => {
    await session?.close();
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  it('names the adapter and its limits, and runs experiments in a worker', async () => {
    const text = await page.$eval('#adapter', (e) => e.textContent ?? '');
    for (const s of ['vendor', 'architecture', 'description', 'fallback / software', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupsPerDimension', 'timestamp-query', 'packed_4x8_integer_dot_product']) {
      expect(text, `#adapter lacks '${s}': ${text}`).toContain(s);
    }
    const status = await page.evaluate(() => window.peir!.status);
    expect(status.adapter?.architecture).toBe('swiftshader');
    expect(status.adapter?.isFallbackAdapter).toBe(true);
    expect(status.thread).toBe('worker');
    expect(await page.$eval('#gpu-notice', (e) => (e as HTMLElement).hidden)).toBe(true);
  });

  it('the Benchmark tab runs the suite of `npm run bench` and shows its table', async () => {
    await page.click('#tab-bench');
    const handle = await page.waitForSelector('#bench-frame');
    const frame = (await handle!.contentFrame())!;
    await frame.waitForSelector('#b-run');
    const set = (id: string, v: string) => frame.$eval(`#${id}`, (e, value) => ((e as HTMLInputElement).value = value), v);
    await set('b-size', '16');
    await set('b-budget', '50');
    await set('b-cases', 'conv2d,quantize');
    await frame.$eval('#b-peers', (e) => ((e as HTMLInputElement).checked = false));
    await frame.click('#b-run');
    await frame.waitForFunction(() => /^(Done|The benchmark failed)/.test(document.getElementById('b-status')!.textContent ?? ''), { timeout: 120_000 });
    expect(await frame.$eval('#b-status', (e) => e.textContent)).toMatch(/^Done in/);
    const table = await frame.$eval('#out', (e) => e.textContent ?? '');
    expect(table).toMatch(/conv2d/);
    expect(table).toMatch(/quantize/);
    expect(table).toMatch(/\| *[a-z].*\|/); // a Markdown table, as npm run bench prints
    await page.click('#tab-experiment');
  });

  it('seed 7: fill the form, Run, read the table and the figures, export the JSON report', async () => {
    await setField(page, 'f-module', 'conv2d');
    await setField(page, 'f-scheme', 'q8');
    await setField(page, 'f-size', '24');
    await setField(page, 'f-out-channels', '8');
    await setField(page, 'f-trials', '9');
    await setField(page, 'f-seed', '7');
    await setField(page, 'f-calib', '4');
    expect(await page.$eval('#cli-equivalent', (e) => e.textContent)).toContain('peir run --module conv2d --scheme q8 --size 24 --trials 9 --seed 7 --calib 4');
    await page.click('#run');
    const status = await waitForStatus(page, /^(Done|Failed)/);
    expect(status, status).toMatch(/^Done: 9 trials/);
    expect(await page.$eval('#progress', (e) => [(e as HTMLProgressElement).value, (e as HTMLProgressElement).max])).toEqual([9, 9]);

    // The exported document is what `peir run --format json` writes.
    const file = await downloadBy(page, 'export-json', downloads);
    expect(file.endsWith('peir-conv2d-q8-seed7.json'), file).toBe(true);
    const report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
    expect(report.tool).toBe('peir');
    expect(report.config).toMatchObject({ module: 'conv2d', scheme: 'q8', height: 24, width: 24, outChannels: 8, trials: 9, seed: 7, calib: 4, backend: 'gpu' });
    expect(report.adapter).toMatchObject({ host: 'browser', architecture: 'swiftshader' });
    expect(report.trials.map((t) => t.trial)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const k of ['peir', 'maxAbsError', 'mse', 'sqnrDb', 'cosine']) expect(Object.keys(report.summary)).toContain(k);

    // The table shows that report's summary.
    const rows = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    expect(rows).toEqual(metricRows(report.summary));
    expect(rows[0][0]).toBe('PEIR');
    expect(await page.$eval('#worst-line', (e) => e.textContent)).toContain(`PEIR ${formatNumber(worstTrial(report.trials).peir)}`);

    // Histogram: one bar per bin, the counts adding up to the trials.
    const peirs = report.trials.map((t) => t.peir);
    const bins = Math.max(...peirs) > Math.min(...peirs) ? histogramBins(9) : 1;
    const bars = await page.$$eval('#histogram svg rect.bar', (rs) => rs.map((r) => r.querySelector('title')?.textContent ?? ''));
    expect(bars).toHaveLength(bins);
    expect(bars.reduce((n, t) => n + Number(/: (\d+) trial/.exec(t)![1]), 0)).toBe(9);

    // Per-channel bars of the worst trial: 8 bars, the highest marked.
    const worst = worstTrial(report.trials);
    const top = worst.perChannelPeir.indexOf(Math.max(...worst.perChannelPeir));
    expect(await page.$$eval('#channels svg rect.bar', (rs) => rs.length)).toBe(8);
    expect(await page.$$eval('#channels svg rect.worst', (rs) => rs.length)).toBe(1);
    expect(await page.$eval('#channels svg', (s) => (s as SVGElement).dataset.worst)).toBe(String(top));
    await setField(page, 'channel-mode', 'median');
    expect(await page.$eval('#channels-caption', (e) => e.textContent)).toMatch(/median over 9 trials/);
    expect(await page.$$eval('#channels svg rect.bar', (rs) => rs.length)).toBe(8);
    await setField(page, 'channel-mode', 'worst');

    // Heatmap of the worst channel (24 x 24 output): drawn, and named in its caption.
    const ink = await inkedPixels(page, 'heatmap');
    expect(ink.inked, `heatmap ${ink.width}x${ink.height} is blank`).toBeGreaterThan(24 * 24);
    expect(await page.$eval('#heatmap-caption', (e) => e.textContent)).toContain(`output channel ${worst.worst.channel} of trial ${worst.trial} (24 × 24)`);

    // The figures export as SVG and PNG.
    const svg = readFileSync(await downloadBy(page, 'export-histogram', downloads), 'utf8');
    expect(svg).toMatch(/^<\?xml[^>]*>\n<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.match(/class="bar"/g)).toHaveLength(bins);
    const png = readFileSync(await downloadBy(page, 'export-heatmap', downloads));
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');

    expect((page as Page & { problems?: string[] }).problems).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'page.png'), fullPage: true });
  });

  it('stays responsive during a run, and a click on Cancel stops it and says so', async () => {
    await setField(page, 'f-size', '64');
    await setField(page, 'f-trials', '500');
    await page.click('#run');
    await page.waitForFunction(() => (document.getElementById('progress') as HTMLProgressElement).value >= 1, { timeout: 60_000 });
    // The engine runs in the worker: the page still paints frames during the run. The bound only catches a
    // page frozen by the run; it is loose enough for a loaded CI machine (a behaviour check, not a speed target).
    const frameMs = await page.evaluate(() => {
      const t0 = performance.now();
      return new Promise<number>((r) => requestAnimationFrame(() => r(performance.now() - t0)));
    });
    expect(frameMs, 'one animation frame took this long during a run').toBeLessThan(1500);
    expect(await page.$eval('#progress-text', (e) => e.textContent)).toMatch(/^\d+ \/ 500 trials · about .+ left$/);
    await page.click('#cancel');
    const status = await waitForStatus(page, /^(Cancelled|Done|Failed)/, 30_000);
    expect(status).toMatch(/^Cancelled: run cancelled after (\d+) of 500 trials/);
    const done = Number(/after (\d+) of/.exec(status)![1]);
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(500);
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    expect(await page.$eval('#cancel', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
  });

  it('Cancel during the (uninterruptible) calibration stops the worker outright; the next run works', async () => {
    await setField(page, 'f-size', '64');
    await setField(page, 'f-calib', '5000');
    await setField(page, 'f-trials', '2');
    await page.click('#run');
    await new Promise((r) => setTimeout(r, 300));
    expect(await page.$eval('#progress-text', (e) => e.textContent)).toBe('calibrating…');
    await page.click('#cancel');
    const status = await waitForStatus(page, /^(Cancelled|Done|Failed)/, 15_000);
    expect(status).toBe('Cancelled: run cancelled during calibration (the engine worker was stopped).');
    await setField(page, 'f-size', '8');
    await setField(page, 'f-calib', '1');
    await page.click('#run');
    expect(await waitForStatus(page, /^(Cancelled|Done|Failed)/)).toMatch(/^Done: 2 trials/);
  });

  it('seed 2: where the worker cannot start, runs on the page thread with the same result', async () => {
    const options: RunOptions = { module: 'conv2d', scheme: 'q16', size: 10, outChannels: 4, trials: 2, seed: 2, calib: 2 };
    const inWorker = (await page.evaluate((o) => window.peir!.run(o), options)) as RunReport;
    const tab = await session.browser.newPage();
    try {
      await tab.setRequestInterception(true);
      tab.on('request', (r) => void (r.url().endsWith('/worker.js') ? r.respond({ status: 404, body: 'no worker here' }) : r.continue()));
      await tab.goto(`${server.url}/`, { waitUntil: 'load' });
      await tab.waitForFunction(() => window.peir !== undefined, { timeout: 30_000 });
      const status = await tab.evaluate(() => window.peir!.status);
      expect(status.thread).toBe('main');
      expect(status.adapter?.architecture).toBe('swiftshader');
      expect(await tab.$eval('#adapter', (e) => e.textContent)).toMatch(/the page's own thread/);
      const onMain = (await tab.evaluate((o) => window.peir!.run(o), options)) as RunReport;
      expect(await tab.$eval('#run-description', (e) => e.textContent)).toMatch(/in the page thread\.$/);
      expect(onMain.adapter).toMatchObject({ host: 'browser', architecture: 'swiftshader' });
      expect(onMain.trials).toEqual(inWorker.trials);
    } finally {
      await tab.close();
    }
  });
});

describe.runIf(haveChrome)('the experiment page without WebGPU', () => {
  let session: ChromeSession;
  let page: Page;

  beforeAll(async () => {
    session = await launchChrome({ flags: NO_WEBGPU_FLAGS, timeoutMs: 90_000 });
    page = await openPage(session);
  });
  afterAll(async () => {
    await session?.close();
  });

  it('says so plainly, and runs the CPU reference path (seed 3), the same as Node', async () => {
    const notice = await page.$eval('#gpu-notice', (e) => ({ hidden: (e as HTMLElement).hidden, text: e.textContent ?? '' }));
    expect(notice.hidden).toBe(false);
    expect(notice.text).toMatch(/^WebGPU is not available in this browser: .+ CPU reference/);
    expect(await page.$eval('#f-backend', (s) => (s as HTMLSelectElement).value)).toBe('cpu');
    expect(await page.$eval('#f-backend option[value=gpu]', (o) => (o as HTMLOptionElement).disabled)).toBe(true);
    expect(await page.$eval('#adapter', (e) => e.textContent)).toMatch(/WebGPUnot available/);

    await setField(page, 'f-module', 'depthwise');
    await setField(page, 'f-size', '12');
    await setField(page, 'f-in-channels', '4');
    await setField(page, 'f-trials', '3');
    await setField(page, 'f-seed', '3');
    await setField(page, 'f-calib', '2');
    await page.click('#run');
    expect(await waitForStatus(page, /^(Done|Failed)/)).toMatch(/^Done: 3 trials .* on the CPU reference/);
    expect(await page.$eval('#run-description', (e) => e.textContent)).toMatch(/Ran on CPU reference/);
    expect(await page.$$eval('#channels svg rect.bar', (rs) => rs.length)).toBe(4);
    expect((await inkedPixels(page, 'heatmap')).inked).toBeGreaterThan(12 * 12);

    // The same options through window.peir, and in Node: the CPU reference gives the same trials in both.
    const options: RunOptions = { module: 'depthwise', scheme: 'q8', size: 12, inChannels: 4, trials: 3, seed: 3, calib: 2, backend: 'cpu' };
    const inPage = (await page.evaluate((o) => window.peir!.run(o), options)) as RunReport;
    expect(inPage.adapter).toEqual({ host: 'cpu-reference', description: 'CPU reference (plain TypeScript loops)' });
    const inNode = await runExperiment(resolveConfig(options), new CpuEngine());
    expect(inPage.config).toEqual(inNode.config);
    expect(inPage.calibration).toEqual(inNode.calibration);
    expect(inPage.trials).toEqual(inNode.trials);
  });
});

// test-artifacts/ is git-ignored; say where the screenshot is when it exists.
afterAll(() => {
  const shot = join(ARTIFACTS, 'page.png');
  if (existsSync(shot)) process.stdout.write(`page screenshot: ${shot}\n`);
});
