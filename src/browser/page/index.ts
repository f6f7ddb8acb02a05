/**
 * The experiment page (dist/browser/index.html, served by `peir serve`):
 * a form with the options of `peir run`, a run on this browser's WebGPU (in
 * a dedicated worker where possible, see engine-host.ts) or on the CPU
 * reference, and the report as a table and three figures, each exportable.
 * `window.peir` (src/browser/page-protocol.ts) runs the same code path for
 * `peir browser run` and the tests. Plain TypeScript and DOM: no framework
 * for one form and one results section.
 */
import { OBSERVER_KINDS } from '../../calibrate/observers.js';
import { DISTRIBUTIONS } from '../../data/generate.js';
import type { RunOptions } from '../../run/config.js';
import type { RunReport } from '../../run/experiment.js';
import { adapterLine, formatJson, formatNumber, metricRows, SUMMARY_HEADER, worstLine, worstTrial } from '../../report/format.js';
import { stats } from '../../report/summary.js';
import { PROGRESS_EVENT, type LayerJson, type PageStatus, type PeirPage } from '../page-protocol.js';
import { chooseHost, PageRunError, type EngineHost, type RunHandle } from './engine-host.js';
import { channelBarsSvg, drawHeatmap, histogramSvg, svgToString } from './plots.js';
import type { RunOutcome } from './runner.js';

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

const form = byId<HTMLFormElement>('run-form');
const runButton = byId<HTMLButtonElement>('run');
const cancelButton = byId<HTMLButtonElement>('cancel');
const progress = byId<HTMLProgressElement>('progress');
const progressText = byId('progress-text');
const statusLine = byId('status');
const field = (name: string) => byId<HTMLInputElement | HTMLSelectElement>(`f-${name}`);

// ---------------------------------------------------------------- the form

function fillSelect(id: string, values: readonly string[], selected: string): void {
  const s = byId<HTMLSelectElement>(id);
  s.replaceChildren(...values.map((v) => new Option(v, v, v === selected, v === selected)));
}
fillSelect('f-dist', DISTRIBUTIONS, 'normal');
fillSelect('f-observer', OBSERVER_KINDS, 'minmax');

function showFieldsFor(module: string): void {
  for (const f of form.querySelectorAll<HTMLElement>('[data-modules]')) f.hidden = !f.dataset.modules!.split(' ').includes(module);
}

field('module').addEventListener('change', () => {
  const module = field('module').value;
  // The CLI's default channel counts differ for depthwise (16) and conv2d (3).
  const cin = field('in-channels');
  if (module === 'depthwise' && cin.value === '3') cin.value = '16';
  if (module === 'conv2d' && cin.value === '16') cin.value = '3';
  showFieldsFor(module);
  showCliEquivalent();
});

function intField(name: string): number {
  return Number(field(name).value.trim());
}

/** The form as `peir run` options: only the fields that apply to the module, so the config matches the CLI's. */
function formOptions(): RunOptions {
  const module = field('module').value as RunOptions['module'];
  const o: RunOptions = {
    module,
    scheme: field('scheme').value as RunOptions['scheme'],
    size: intField('size'),
    trials: intField('trials'),
    seed: intField('seed'),
    calib: intField('calib'),
    dist: field('dist').value as RunOptions['dist'],
    observer: field('observer').value as RunOptions['observer'],
    granularity: field('granularity').value as RunOptions['granularity'],
    rounding: field('rounding').value as RunOptions['rounding'],
    mode: field('mode').value as RunOptions['mode'],
    backend: field('backend').value as RunOptions['backend'],
  };
  if (field('scale').value) o.scaleType = field('scale').value as RunOptions['scaleType'];
  if (module === 'lstm') o.hidden = intField('hidden');
  else {
    o.inChannels = intField('in-channels');
    o.kernel = intField('kernel');
    if (module === 'conv2d') o.outChannels = intField('out-channels');
  }
  return o;
}

/** Show options given through `window.peir.run` in the form, where it has a field for them. */
function fillForm(o: RunOptions): void {
  const set = (name: string, v: unknown) => {
    if (v !== undefined && v !== null && typeof v !== 'object') field(name).value = String(v);
  };
  set('module', o.module);
  set('scheme', o.scheme);
  set('size', o.size ?? (o.height === o.width ? o.height : undefined));
  set('trials', o.trials);
  set('seed', o.seed);
  set('calib', o.calib);
  set('dist', o.dist);
  set('observer', o.observer);
  set('granularity', o.granularity);
  set('rounding', o.rounding);
  set('mode', o.mode);
  set('backend', o.backend);
  field('scale').value = o.scaleType ?? '';
  set('hidden', o.hidden);
  set('in-channels', o.inChannels);
  set('out-channels', o.outChannels);
  if (typeof o.kernel === 'number') set('kernel', o.kernel);
  showFieldsFor(o.module);
  showCliEquivalent(o);
}

const CLI_FLAGS: Record<string, string> = { inChannels: 'in-channels', outChannels: 'out-channels', scaleType: 'scale', calibDist: 'calib-dist' };

/** The `peir run` command line that reproduces these options in Node. */
function cliLine(o: RunOptions): string {
  const parts = ['peir run'];
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    if (k === 'bias') {
      if (v === false) parts.push('--no-bias');
      continue;
    }
    parts.push(`--${CLI_FLAGS[k] ?? k} ${Array.isArray(v) ? v.join(',') : String(v)}`);
  }
  return parts.join(' ');
}

function showCliEquivalent(o: RunOptions = formOptions()): void {
  byId('cli-equivalent').textContent = cliLine(o);
}
form.addEventListener('input', () => showCliEquivalent());

// ---------------------------------------------------------------- the adapter

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

function mib(bytes: number): string {
  return `${formatNumber(bytes / 2 ** 20)} MiB`;
}

function renderAdapter(s: PageStatus): void {
  const rows: [string, string][] = [];
  const where = s.thread === 'worker' ? 'a dedicated worker (the page stays responsive)' : "the page's own thread, yielding between steps";
  if (s.adapter) {
    const a = s.adapter;
    rows.push(
      ['vendor', a.vendor || '(not reported)'],
      ['architecture', a.architecture || '(not reported)'],
      ['description', a.description || '(not reported)'],
      ['fallback / software', yesNo(a.isFallbackAdapter)],
      ['maxStorageBufferBindingSize', mib(a.limits.maxStorageBufferBindingSize)],
      ['maxComputeWorkgroupsPerDimension', String(a.limits.maxComputeWorkgroupsPerDimension)],
      ['timestamp-query', yesNo(a.timestampQuery)],
      ['packed_4x8_integer_dot_product', yesNo(a.packed4x8IntegerDotProduct)],
      ['experiments run in', where],
    );
  } else {
    rows.push(['WebGPU', 'not available'], ['why', s.gpuProblem ?? 'unknown'], ['CPU reference runs in', where]);
  }
  byId('adapter').replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  const notice = byId('gpu-notice');
  const gpuOption = byId<HTMLSelectElement>('f-backend').querySelector<HTMLOptionElement>('option[value=gpu]')!;
  if (s.adapter) {
    notice.hidden = true;
    gpuOption.disabled = false;
    return;
  }
  notice.hidden = false;
  notice.textContent =
    `WebGPU is not available in this browser: ${s.gpuProblem ?? 'no adapter'}. ` +
    'You can still run the CPU reference path (plain TypeScript loops, slow: keep sizes small); its results are labelled "CPU reference".';
  gpuOption.disabled = true;
  field('backend').value = 'cpu';
  showCliEquivalent();
}

// ---------------------------------------------------------------- results

let last: (RunOutcome & { status: PageStatus }) | undefined;

function fileStem(r: RunReport): string {
  return `peir-${r.config.module}-${r.config.scheme}-seed${r.config.seed}`;
}

function renderSummary(r: RunReport): void {
  const table = byId<HTMLTableElement>('summary');
  table.tHead!.rows[0].replaceChildren(
    ...SUMMARY_HEADER.map((h) => {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = h;
      return th;
    }),
  );
  table.tBodies[0].replaceChildren(
    ...metricRows(r.summary).map((row) => {
      const tr = document.createElement('tr');
      row.forEach((cell, j) => {
        const td = document.createElement(j === 0 ? 'th' : 'td');
        if (j === 0) (td as HTMLTableCellElement).scope = 'row';
        td.textContent = cell;
        tr.append(td);
      });
      return tr;
    }),
  );
  table.caption!.textContent = `Summary over ${r.trials.length} trials`;
}

function argmax(v: readonly number[]): number {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[k]) k = i;
  return k;
}

function renderChannels(r: RunReport): void {
  const unit = r.config.module === 'lstm' ? 'hidden unit' : 'channel';
  const mode = byId<HTMLSelectElement>('channel-mode').value;
  const worst = worstTrial(r.trials);
  const values =
    mode === 'median'
      ? worst.perChannelPeir.map((_, c) => stats(r.trials.map((t) => t.perChannelPeir[c])).median)
      : worst.perChannelPeir;
  const k = argmax(values);
  const which = mode === 'median' ? `the median over ${r.trials.length} trials, per ${unit}` : `trial ${worst.trial}, the trial with the highest PEIR`;
  byId('channels-title').textContent = `PEIR per ${r.config.module === 'lstm' ? 'hidden unit' : 'output channel'}`;
  byId('channels').replaceChildren(channelBarsSvg(values, k, unit, `PEIR per ${unit}: ${which}`));
  byId('channels-caption').textContent =
    `Each ${unit}'s own PEIR (its max |X − X′| over its own interval) in ${which}; ` + `the highest, ${unit} ${k}, in red.`;
}

function renderHeatmap(o: RunOutcome): void {
  const m = o.errorMap;
  const canvas = byId<HTMLCanvasElement>('heatmap');
  drawHeatmap(canvas, m);
  const clipped = m.clipped.reduce((a, b) => a + b, 0);
  const what =
    m.layout === 'sequence'
      ? `the whole output of trial ${m.trial} (rows: ${m.rows} time steps, columns: ${m.cols} hidden units; the worst unit, ${m.channel}, dashed)`
      : `output channel ${m.channel} of trial ${m.trial} (${m.rows} × ${m.cols}), the channel holding the trial's largest error`;
  canvas.setAttribute('aria-label', `heatmap of |X − X′| over ${what}`);
  byId('heatmap-title').textContent = m.layout === 'sequence' ? '|X − X′| of the worst trial' : '|X − X′| of the worst channel';
  byId('heatmap-caption').textContent =
    `|X − X′| over ${what}. Blue: rounding errors; orange: ${clipped} clipped element(s) (X outside the calibrated range), ` +
    'each on its own scale. The worst element is outlined in black.';
}

function render(o: RunOutcome, status: PageStatus): void {
  last = { ...o, status };
  const r = o.report;
  const host = r.adapter.host === 'cpu-reference' ? 'CPU reference' : `WebGPU: ${adapterLine(r.adapter)}`;
  byId('run-description').textContent = `${r.description}. Ran on ${host}, in ${status.thread === 'worker' ? 'a worker' : 'the page thread'}.`;
  renderSummary(r);
  byId('worst-line').textContent = `${worstLine(r)}.`;
  byId('histogram').replaceChildren(histogramSvg(r.trials.map((t) => t.peir), 'PEIR'));
  renderChannels(r);
  renderHeatmap(o);
  byId('results').hidden = false;
}

byId('channel-mode').addEventListener('change', () => last && renderChannels(last.report));

// ---------------------------------------------------------------- export

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked later: revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

byId('export-json').addEventListener('click', () => {
  if (last) download(`${fileStem(last.report)}.json`, new Blob([formatJson(last.report)], { type: 'application/json' }));
});
for (const [button, container, suffix] of [
  ['export-histogram', 'histogram', 'peir-histogram'],
  ['export-channels', 'channels', 'channel-peir'],
] as const) {
  byId(button).addEventListener('click', () => {
    const svg = byId(container).querySelector('svg');
    if (last && svg) download(`${fileStem(last.report)}-${suffix}.svg`, new Blob([svgToString(svg)], { type: 'image/svg+xml' }));
  });
}
byId('export-heatmap').addEventListener('click', () => {
  if (!last) return;
  const name = `${fileStem(last.report)}-error-map.png`;
  byId<HTMLCanvasElement>('heatmap').toBlob((b) => b && download(name, b), 'image/png');
});

// ---------------------------------------------------------------- running

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}

function setStatus(text: string, isError = false): void {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

let host: EngineHost | undefined;
let running: RunHandle | undefined;

async function startRun(options: RunOptions, layer?: LayerJson): Promise<RunReport> {
  if (!host) throw new PageRunError('PeirError', 'the page is still looking for a WebGPU adapter', false);
  if (running) throw new PageRunError('PeirError', 'a run is already in progress; cancel it first', false);
  const t0 = performance.now();
  let firstTrialAt: number | undefined;
  const trials = options.trials ?? 0;
  runButton.disabled = true;
  cancelButton.disabled = false;
  progress.value = 0;
  progress.max = 1;
  progressText.textContent = 'calibrating…';
  setStatus(`Running ${options.module} ${options.scheme}${trials ? `, ${trials} trials` : ''}…`);
  const onProgress = (done: number, total: number) => {
    const now = performance.now();
    firstTrialAt ??= now;
    progress.max = total;
    progress.value = done;
    // After the second trial the rate excludes the calibration.
    const perTrial = done >= 2 ? (now - firstTrialAt) / (done - 1) : (now - t0) / done;
    const left = ((total - done) * perTrial) / 1000;
    progressText.textContent = done < total ? `${done} / ${total} trials · about ${duration(left)} left` : `${done} / ${total} trials`;
    window.dispatchEvent(new CustomEvent(PROGRESS_EVENT, { detail: { done, total } }));
  };
  const handle = host.run(options, layer, onProgress);
  running = handle;
  try {
    const outcome = await handle.result;
    render(outcome, host.status);
    const r = outcome.report;
    setStatus(`Done: ${r.trials.length} trials in ${duration((performance.now() - t0) / 1000)} on ${r.adapter.host === 'cpu-reference' ? 'the CPU reference' : 'WebGPU'}.`);
    progressText.textContent = `${r.trials.length} / ${r.trials.length} trials`;
    return r;
  } catch (e) {
    const err = e instanceof PageRunError ? e : new PageRunError((e as Error).name ?? 'Error', (e as Error).message ?? String(e), false);
    if (err.cancelled) {
      setStatus(`Cancelled: ${err.message}.`);
      progressText.textContent = 'cancelled';
    } else {
      const lost = err.name === 'GpuDeviceLostError' ? ' The GPU device was lost; a new one is created for the next run, or switch the engine to the CPU reference.' : '';
      setStatus(`Failed: ${err.name}: ${err.message}.${lost}`, true);
      progressText.textContent = 'failed';
    }
    throw err;
  } finally {
    running = undefined;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  // The outcome is shown on the page; nothing else awaits it.
  startRun(formOptions()).catch(() => undefined);
});
cancelButton.addEventListener('click', () => {
  if (!running) return;
  running.cancel();
  cancelButton.disabled = true;
  setStatus('Cancelling after the trial in progress…');
});

// ---------------------------------------------------------------- tabs

const tabs = [byId('tab-experiment'), byId('tab-bench')];
function selectTab(tab: HTMLElement): void {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    byId(t.getAttribute('aria-controls')!).hidden = !on;
  }
}
for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const next = tabs[(tabs.indexOf(t) + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    selectTab(next);
    next.focus();
  });
}

// The benchmark suite (bench/suite.ts, with tfjs-webgpu) lives in its own page so that this page's
// bundle stays small; the tab embeds it.
byId('bench').innerHTML =
  '<h2>Benchmark</h2><iframe id="bench-frame" title="peir benchmark suite" src="bench.html" loading="lazy" ' +
  'style="width: 100%; height: 640px; border: 0"></iframe>';

// ---------------------------------------------------------------- start

showFieldsFor(field('module').value);
showCliEquivalent();

async function init(): Promise<void> {
  host = await chooseHost();
  renderAdapter(host.status);
  const api: PeirPage = {
    status: host.status,
    run: (options, layer) => {
      fillForm(options);
      return startRun(options, layer);
    },
    cancel: () => running?.cancel(),
  };
  window.peir = api;
}

init().catch((e: unknown) => setStatus(`The page could not start: ${(e as Error).message}`, true));
