/**
 * Benchmark page (dist/browser/bench.html): the same suite as `npm run bench`
 * (bench/suite.ts) on the browser's WebGPU, with tfjs-webgpu beside it.
 * `window.peirBench.run(options)` creates a GpuContext, runs the suite,
 * disposes everything and returns the report as JSON; `node dist/bench.js
 * --browser` drives it through src/browser/run-in-chrome.ts.
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
