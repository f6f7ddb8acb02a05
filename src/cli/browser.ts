/**
 * `peir browser run`: the same experiment as `peir run`, run by the page
 * `peir serve` serves (dist/browser/index.html) in headless Chromium, on the
 * browser's WebGPU. Same options, same report formats; the report's adapter
 * is the browser's. The browser is the system's (--chrome, PEIR_CHROME, the
 * usual places; puppeteer never downloads one) and always ends: on success,
 * error, --timeout or Ctrl-C (src/browser/chrome.ts).
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
import { addRunOptions, numberArg, runOptionsFromCli } from './run-options.js';

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

export function browserCommand(): Command {
  return new Command('browser')
    .description('run peir in headless Chromium, on the browser\'s WebGPU')
    .addCommand(runSubcommand());
}
