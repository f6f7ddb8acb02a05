/**
 * `npm run bench`: the benchmark suite's Node CLI (bundled to dist/bench.js).
 *
 *   node dist/bench.js [--size 512] [--cases conv2d,lstm] [--budget-ms 1500] [--quick]
 *                      [--json] [--out FILE] [--record] [--no-peers] [--browser]
 *   node dist/bench.js --soak [--soak-trials 1000] [--soak-size 32]
 *
 * In Node the peers run on the same Dawn adapter as peir: Dawn's GPU object is
 * installed as `navigator.gpu` before tfjs is loaded. `--browser` runs the
 * same suite (bench/suite.ts) in headless Chromium instead, through
 * src/browser/page/bench.html. `--record` writes bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { createGpu, type GpuContext } from '../src/gpu/context.js';
import { acquireNodeGpu, releaseNodeGpu } from '../src/gpu/node-host.js';
import { markdownReport } from './report.js';
import { runSoak } from './soak.js';
import './browser-protocol.js';
import { CASE_IDS, runSuite, type Peer, type SuiteReport } from './suite.js';

interface Options {
  size: number;
  cases?: string[];
  budgetMs: number;
  quick: boolean;
  json: boolean;
  out?: string;
  record: boolean;
  peers: boolean;
  browser: boolean;
  soak: boolean;
  soakTrials: number;
  soakSize: number;
  studyTrials?: number;
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function caseList(v: string): string[] {
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) if (!(CASE_IDS as readonly string[]).includes(id)) throw new InvalidArgumentError(`unknown case '${id}'; the cases are ${CASE_IDS.join(', ')}`);
  return ids;
}

/** The repository root (dist/bench.js lives in dist/). */
function repoRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function cpuClock(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function machine(): Record<string, string | number> {
  const [l1, l5, l15] = loadavg();
  return { cpus: cpus().length, 'load average (1/5/15 min) at the end': `${l1.toFixed(2)} / ${l5.toFixed(2)} / ${l15.toFixed(2)}`, node: process.version };
}

/** Make Dawn's GPU object `navigator.gpu`, so that tfjs's WebGPU backend finds it. Returns the undo. */
async function installNavigatorGpu(): Promise<() => void> {
  const { gpu } = await acquireNodeGpu('auto');
  const g = globalThis as unknown as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return releaseNodeGpu;
}

async function nodePeers(log: (s: string) => void): Promise<{ peers: Peer[]; release: () => void }> {
  const release = await installNavigatorGpu();
  try {
    const { createTfjsPeer } = await import('./peers/tfjs.js');
    const tfjs = await createTfjsPeer();
    log(`peer: ${tfjs.name} (clock: ${tfjs.clock})`);
    return { peers: [tfjs], release };
  } catch (e) {
    log(`peer tfjs-webgpu unavailable: ${(e as Error).message}`);
    return { peers: [], release };
  }
}

async function runInNode(o: Options, log: (s: string) => void): Promise<SuiteReport> {
  // peir's context first: it picks the Vulkan driver (and reports how); tfjs then gets the same Dawn GPU object.
  const ctx: GpuContext = await createGpu();
  const { peers, release } = o.peers ? await nodePeers(log) : { peers: [], release: () => {} };
  try {
    const report = await runSuite(ctx, {
      size: o.size, cases: o.cases, budgetMs: o.budgetMs, quick: o.quick, peers, cpuClock, log, studyTrials: o.studyTrials,
    });
    return { ...report, machine: machine() };
  } finally {
    for (const p of peers) p.dispose();
    ctx.dispose();
    release();
  }
}

async function runInBrowser(o: Options, log: (s: string) => void): Promise<SuiteReport> {
  const { runInChrome } = await import('../src/browser/run-in-chrome.js');
  const arg = { size: o.size, cases: o.cases, budgetMs: o.budgetMs, quick: o.quick, peers: o.peers, studyTrials: o.studyTrials };
  log('running the suite in headless Chromium (dist/browser/bench.html)');
  const report = await runInChrome('bench', (a: typeof arg) => window.peirBench!.run(a), { arg, ready: 'peirBench', distDir: join(repoRoot(), 'dist/browser') });
  return { ...report, machine: machine() };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('peir-bench')
    .description('peir benchmark suite: kernels, passes and a whole study, with tfjs-webgpu and the CPU reference side by side')
    .option('--size <n>', 'input height and width (LSTM: steps and features)', positiveInt('--size'), 512)
    .option('--cases <list>', `comma-separated cases (${CASE_IDS.join(', ')})`, caseList)
    .option('--budget-ms <ms>', 'time budget per implementation and case, after one warm-up', positiveInt('--budget-ms'), 1500)
    .option('--quick', 'size 128 unless --size is given, 300 ms budgets, a 5-trial study', false)
    .option('--json', 'print the report as JSON instead of Markdown', false)
    .option('--out <file>', 'also write the report (JSON with --json, else Markdown) to this file')
    .option('--record', 'write bench/RESULTS.md (date, commit, adapter, figures)', false)
    .option('--no-peers', 'skip tfjs-webgpu')
    .option('--browser', 'run the suite in headless Chromium instead of Node/Dawn', false)
    .option('--study-trials <n>', 'trials of the study in the trial case (default 100; --quick 5)', positiveInt('--study-trials'))
    .option('--soak', 'memory soak instead of the suite: many trials, buffer-pool counters and RSS at start and end', false)
    .option('--soak-trials <n>', 'trials of the soak', positiveInt('--soak-trials'), 1000)
    .option('--soak-size <n>', 'input size of the soak', positiveInt('--soak-size'), 32);
  program.parse(argv);
  const o = program.opts<Options>();
  const sizeGiven = program.getOptionValueSource('size') === 'cli';
  const budgetGiven = program.getOptionValueSource('budgetMs') === 'cli';
  if (o.quick) {
    if (!sizeGiven) o.size = 128;
    if (!budgetGiven) o.budgetMs = 300;
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  if (o.soak) {
    const ok = await runSoak({ trials: o.soakTrials, size: o.soakSize, log: (s) => process.stdout.write(`${s}\n`) });
    if (!ok) process.exitCode = 1;
    return;
  }
  const report = o.browser ? await runInBrowser(o, log) : await runInNode(o, log);
  const commit = gitCommit();
  const md = markdownReport(report, { commit });
  const text = o.json ? `${JSON.stringify({ ...report, commit }, null, 2)}\n` : md;
  process.stdout.write(text);
  if (o.out) writeFileSync(o.out, text);
  if (o.record) {
    const path = join(repoRoot(), 'bench/RESULTS.md');
    writeFileSync(path, `${md}\nRecorded with \`node dist/bench.js ${argv.slice(2).join(' ')}\`.\n`);
    log(`wrote ${path}`);
  }
}

main(process.argv).catch((e) => {
  process.stderr.write(`peir-bench: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
