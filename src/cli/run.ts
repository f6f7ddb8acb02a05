/**
 * `peir run`: one experiment (calibrate, N trials, summary) on the GPU or the
 * CPU reference; streams trials to a resumable JSON Lines journal; prints the
 * report in the chosen format; optionally dumps trial 0 for numpy.
 */
import { join } from 'node:path';
import { emitReport } from './output.js';
import { Command } from 'commander';
import { resolveConfig, type RunConfig } from '../run/config.js';
import { createEngine } from '../run/engine.js';
import { runExperiment, type RunReport } from '../run/experiment.js';
import { JsonlJournal, journalKey } from '../run/journal.js';
import { loadLayerWeights } from '../run/weights-node.js';
import { writeTrialZero } from '../run/dump.js';
import { formatReport, type ReportFormat } from '../report/format.js';
import { addRunOptions, runOptionsFromCli } from './run-options.js';
import { progressBar } from './progress.js';

export const DEFAULT_JOURNAL_DIR = '.peir/runs';

export function defaultJournalPath(cfg: RunConfig): string {
  return join(DEFAULT_JOURNAL_DIR, `${cfg.module}-${cfg.scheme}-${journalKey(cfg)}.jsonl`);
}

export function runCommand(): Command {
  const cmd = new Command('run').description(
    'measure PEIR (and MSE, SQNR, cosine, tail error, ...) of one layer quantized to q8 or q16, over N random test inputs',
  );
  addRunOptions(cmd)
    .option('--dump <dir>', 'write trial 0 (inputs, weights, integer tensors, outputs as .npy, params.json) to DIR')
    .option('--jsonl <file>', 'journal of finished trials, resumed if it exists (default .peir/runs/<module>-<scheme>-<key>.jsonl)')
    .option('--no-journal', 'keep finished trials in memory only (no resume)')
    .option('--fresh', 'discard an existing journal instead of resuming it')
    .addHelpText(
      'after',
      '\nExamples:\n  peir run --module conv2d --scheme q8 --trials 20\n  peir run --module lstm --scheme q16 --size 64 --hidden 32 --format json --out lstm.json\n  peir run --module depthwise --scheme q8 --granularity tensor --spread-fraction 0.1 --spread-factor 30',
    )
    .action(async (o: Record<string, unknown>) => {
      const opts = runOptionsFromCli(o);
      const loaded = opts.weightsDir ? await loadLayerWeights(opts) : undefined;
      const cfg = resolveConfig(loaded?.options ?? opts);
      const store = o.journal === false ? undefined : new JsonlJournal((o.jsonl as string | undefined) ?? defaultJournalPath(cfg), cfg, Boolean(o.fresh));
      const engine = await createEngine(cfg.backend);
      const bar = progressBar(Boolean(o.quiet), cfg.trials);
      let report: RunReport;
      try {
        report = await runExperiment(cfg, engine, {
          store,
          layer: loaded?.layer,
          onProgress: (done) => bar.update(done),
          onTrialZero: o.dump ? (d) => writeTrialZero(o.dump as string, d) : undefined,
        });
      } finally {
        bar.stop();
        engine.dispose();
      }
      const text = formatReport(report, o.format as ReportFormat);
      emitReport(text, o.out);
    });
  return cmd;
}
