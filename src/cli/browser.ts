/**
 * `peir browser run` and `peir browser bench`.
 *
 * `run`: the same experiment as `peir run`, run by the page
 * `peir serve` serves (dist/browser/index.html) in headless Chromium, on the
 * browser's WebGPU. Same options, same report formats; the report's adapter
 * is the browser's. The browser is the system's (--chrome, PEIR_CHROME, the
 * usual places; puppeteer never downloads one) and always ends: on success,
 * error, --timeout or Ctrl-C (src/browser/chrome.ts).
 *
 * `bench`: the benchmark suite of `npm run bench` (bench/suite.ts), run by
 * dist/browser/bench.html in headless Chromium; the same Markdown table.
 */
import { emitReport } from './output.js';
import { Command } from 'commander';
import { DEFAULT_CHROME_FLAGS } from '../browser/chrome.js';
import { layerToJson, PROGRESS_EVENT, type LayerJson } from '../browser/page-protocol.js';
import { runInChrome } from '../browser/run-in-chrome.js';
import { InputError, PeirError } from '../errors.js';
import { resolveConfig, type RunOptions } from '../run/config.js';
import type { RunReport } from '../run/experiment.js';
import { loadLayerWeights } from '../run/weights-node.js';
import { formatReport, type ReportFormat } from '../report/format.js';
import { progressBar } from './progress.js';
import { addRunOptions, intArg, numberArg, runOptionsFromCli } from './run-options.js';
import type { BrowserBenchOptions } from '../../bench/browser-protocol.js';
import { markdownReport } from '../../bench/report.js';
import { CASE_IDS } from '../../bench/suite.js';

/** Default --timeout: the study's sizes on a software adapter take minutes. */
export const DEFAULT_BROWSER_TIMEOUT_S = 1800;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** What the page's evaluation returns: the report, or the error the page met (rethrown in Node with its type). */
type PageAnswer = { report: RunReport } | { error: { name: string; message: string } };

/** The Chrome options shared by the browser subcommands. */
function addChromeOptions(cmd: Command): Command {
  return cmd
    .option('--chrome <path>', 'the Chrome / Chromium executable (default: $PEIR_CHROME, then the usual install locations)')
    .option('--chrome-flag <flag>', 'add a Chrome flag (repeatable); one named like a default replaces it, e.g. --use-webgpu-adapter=default', collect)
    .option('--no-default-flags', `launch Chrome with only the --chrome-flag flags, not peir's defaults (${DEFAULT_CHROME_FLAGS.join(' ')})`)
    .option('--timeout <s>', 'kill the browser after this many seconds', numberArg, DEFAULT_BROWSER_TIMEOUT_S);
}

function chromeLaunchOptions(o: Record<string, unknown>) {
  const timeout = o.timeout as number;
  if (!(timeout > 0)) throw new InputError(`--timeout must be a positive number of seconds; got ${timeout}`);
  return {
    executablePath: o.chrome as string | undefined,
    flags: o.defaultFlags === false ? [] : undefined,
    extraFlags: (o.chromeFlag as string[] | undefined) ?? [],
    timeoutMs: timeout * 1000,
  };
}

/**
 * Run one experiment in the page and return its report. Options are checked
 * in Node first (the same resolveConfig), so a bad value fails before Chrome starts.
 */
export async function runInBrowser(
  options: RunOptions,
  launch: ReturnType<typeof chromeLaunchOptions>,
  onProgress?: (done: number, total: number) => void,
): Promise<RunReport> {
  const loaded = options.weightsDir ? await loadLayerWeights(options) : undefined;
  const opts = loaded?.options ?? options;
  resolveConfig(opts);
  const layer = loaded && layerToJson(loaded.layer);
  const answer = await runInChrome<PageAnswer, { options: RunOptions; layer?: LayerJson; event: string }>(
    'index',
    async ({ options, layer, event }) => {
      window.addEventListener(event, (e) => {
        const { done, total } = (e as CustomEvent<{ done: number; total: number }>).detail;
        void window.peirNodeProgress?.(done, total);
      });
      try {
        return { report: await window.peir!.run(options, layer) };
      } catch (e) {
        const err = e as Error;
        return { error: { name: err.name, message: err.message } };
      }
    },
    {
      ...launch,
      arg: { options: opts, layer, event: PROGRESS_EVENT },
      ready: 'peir',
      prepare: async (page) => {
        if (onProgress) await page.exposeFunction('peirNodeProgress', onProgress);
      },
    },
  );
  if ('error' in answer) {
    const { name, message } = answer.error;
    if (name === 'InputError') throw new InputError(message);
    throw new PeirError(`in the browser: ${name}: ${message}`);
  }
  return answer.report;
}

function runSubcommand(): Command {
  const cmd = new Command('run').description(
    'run `peir run` in headless Chromium on the browser\'s WebGPU (the page of `peir serve`): same options, same report formats',
  );
  addChromeOptions(addRunOptions(cmd))
    .addHelpText(
      'after',
      '\nExamples:\n  peir browser run --module conv2d --scheme q8 --size 64 --trials 20\n' +
        '  peir browser run --module lstm --scheme q16 --size 32 --hidden 16 --format json --out lstm.json\n' +
        '  peir browser run --module conv2d --scheme q8 --chrome-flag=--use-webgpu-adapter=default   # a hardware GPU',
    )
    .action(async (o: Record<string, unknown>) => {
      const options = runOptionsFromCli(o);
      const launch = chromeLaunchOptions(o);
      const bar = progressBar(Boolean(o.quiet), resolveConfig(options).trials);
      let report: RunReport;
      try {
        report = await runInBrowser(options, launch, (done) => bar.update(done));
      } finally {
        bar.stop();
      }
      const text = formatReport(report, o.format as ReportFormat);
      emitReport(text, o.out);
    });
  return cmd;
}

function benchSubcommand(): Command {
  const cmd = new Command('bench').description(
    'run the benchmark suite (`npm run bench`) in headless Chromium on the browser\'s WebGPU, tfjs-webgpu beside it; prints the same table',
  );
  return addChromeOptions(cmd)
    .option('--size <n>', 'input height and width (LSTM: steps and features)', intArg, 512)
    .option('--cases <list>', `comma-separated cases (${CASE_IDS.join(', ')})`)
    .option('--budget-ms <ms>', 'time budget per implementation and case, after one warm-up', intArg, 1500)
    .option('--quick', 'size 128 unless --size is given, 300 ms budgets, a 5-trial study')
    .option('--no-peers', 'skip tfjs-webgpu')
    .option('--study-trials <n>', 'trials of the study in the trial case (default 100; --quick 5)', intArg)
    .option('--json', 'print the report as JSON instead of Markdown')
    .option('--out <file>', 'write the report to FILE instead of stdout')
    .action(async (o: Record<string, unknown>, command: Command) => {
      const cases = o.cases === undefined ? undefined : String(o.cases).split(',').map((c) => c.trim());
      for (const c of cases ?? []) if (!(CASE_IDS as readonly string[]).includes(c)) throw new InputError(`--cases: unknown case '${c}'; the cases are ${CASE_IDS.join(', ')}`);
      const quick = Boolean(o.quick);
      const arg: BrowserBenchOptions = {
        size: quick && command.getOptionValueSource('size') !== 'cli' ? 128 : (o.size as number),
        cases,
        budgetMs: quick && command.getOptionValueSource('budgetMs') !== 'cli' ? 300 : (o.budgetMs as number),
        quick,
        peers: o.peers !== false,
        studyTrials: o.studyTrials as number | undefined,
      };
      const report = await runInChrome('bench', (a: BrowserBenchOptions) => window.peirBench!.run(a), {
        ...chromeLaunchOptions(o),
        arg,
        ready: 'peirBench',
      });
      emitReport(o.json ? `${JSON.stringify(report, null, 2)}\n` : markdownReport(report), o.out);
    });
}

export function browserCommand(): Command {
  return new Command('browser')
    .description('run peir in headless Chromium, on the browser\'s WebGPU')
    .addCommand(runSubcommand())
    .addCommand(benchSubcommand());
}
