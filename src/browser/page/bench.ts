/**
 * Benchmark page (dist/browser/bench.html, also the Benchmark tab of the
 * experiment page): the same suite as `npm run bench` (bench/suite.ts) on the
 * browser's WebGPU, with tfjs-webgpu beside it. A person runs it from the
 * form; `window.peirBench.run(options)` creates a GpuContext, runs the suite,
 * disposes everything and returns the report as JSON (`peir browser bench`
 * and `node dist/bench.js --browser` drive it through
 * src/browser/run-in-chrome.ts).
 */
import type { BrowserBenchOptions } from '../../../bench/browser-protocol.js';
import { createTfjsPeer } from '../../../bench/peers/tfjs.js';
import { markdownReport } from '../../../bench/report.js';
import { runSuite, type Peer, type SuiteReport } from '../../../bench/suite.js';
import { createGpu } from '../../gpu/context.js';

async function run(o: BrowserBenchOptions): Promise<SuiteReport> {
  const out = document.getElementById('out');
  const log = (line: string) => {
    if (out) out.textContent += `${line}\n`;
  };
  const peers: Peer[] = [];
  if (o.peers) {
    try {
      peers.push(await createTfjsPeer());
    } catch (e) {
      log(`peer tfjs-webgpu unavailable: ${(e as Error).message}`);
    }
  }
  const ctx = await createGpu();
  try {
    const report = await runSuite(ctx, { size: o.size, cases: o.cases, budgetMs: o.budgetMs, quick: o.quick, studyTrials: o.studyTrials, peers, log });
    log(markdownReport(report));
    return report;
  } finally {
    for (const p of peers) p.dispose();
    ctx.dispose();
  }
}

window.peirBench = { run };

const form = document.getElementById('bench-form') as HTMLFormElement | null;
const num = (id: string) => Number((document.getElementById(id) as HTMLInputElement).value);
form?.addEventListener('submit', (e) => {
  e.preventDefault();
  const button = document.getElementById('b-run') as HTMLButtonElement;
  const status = document.getElementById('b-status')!;
  const out = document.getElementById('out')!;
  const cases = (document.getElementById('b-cases') as HTMLInputElement).value.split(',').map((c) => c.trim()).filter(Boolean);
  out.textContent = '';
  button.disabled = true;
  status.textContent = 'Running the benchmark suite...';
  const t0 = performance.now();
  run({
    size: num('b-size'),
    budgetMs: num('b-budget'),
    cases: cases.length ? cases : undefined,
    quick: false,
    peers: (document.getElementById('b-peers') as HTMLInputElement).checked,
    studyTrials: num('b-study'),
  })
    .then(() => (status.textContent = `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s.`))
    .catch((err: unknown) => (status.textContent = `The benchmark failed: ${(err as Error).message}`))
    .finally(() => (button.disabled = false));
});
