/** `peir paper`: reproduce the study's Tables 1-3 in one report. */
import { emitReport } from './output.js';
import { Command, Option } from 'commander';
import { MODULES, type ModuleKind } from '../run/config.js';
import { createEngine } from '../run/engine.js';
import { JsonlJournal } from '../run/journal.js';
import { ROW_CONTRASTS, runPaper, type RowContrast } from '../run/paper.js';
import { formatPaperJson, formatPaperMarkdown } from '../report/paper-format.js';
import { InputError } from '../errors.js';
import { intArg } from './run-options.js';
import { progressBar } from './progress.js';
import { defaultJournalPath } from './run.js';

export function paperCommand(): Command {
  return new Command('paper')
    .description("reproduce the study's Tables 1-3 (conv2d, LSTM, depthwise; Q8 at 224x224, Q16 at 512x512) next to the published numbers")
    .option('--trials <n>', 'trials per row', intArg, 100)
    .option('--seed <s>', 'seed of every random stream', intArg, 1)
    .addOption(new Option('--rows <contrast>', "what tells each table's two rows per data type apart (the study does not say)").choices(ROW_CONTRASTS).default('granularity'))
    .option('--tables <list>', 'comma-separated modules, in the order to report', 'conv2d,lstm,depthwise')
    .option('--calib <n>', 'calibration inputs per row (default 16)', intArg)
    .option('--size-q8 <n>', 'input size of the Q8 rows (the study: 224)', intArg)
    .option('--size-q16 <n>', 'input size of the Q16 rows (the study: 512)', intArg)
    .addOption(new Option('--backend <b>', 'gpu or cpu').choices(['gpu', 'cpu']).default('gpu'))
    .addOption(new Option('--format <f>', 'report format').choices(['md', 'json']).default('md'))
    .option('--out <file>', 'write the report to FILE instead of stdout')
    .option('--no-journal', 'do not keep finished trials on disk (no resume)')
    .option('-q, --quiet', 'no progress bar')
    .action(async (o: Record<string, unknown>) => {
      const modules = String(o.tables).split(',').map((s) => s.trim()) as ModuleKind[];
      for (const m of modules) if (!MODULES.includes(m)) throw new InputError(`--tables: '${m}' is not one of ${MODULES.join(', ')}`);
      const options = {
        trials: o.trials as number,
        seed: o.seed as number,
        rows: o.rows as RowContrast,
        modules,
        backend: o.backend as 'gpu' | 'cpu',
        sizeQ8: o.sizeQ8 as number | undefined,
        sizeQ16: o.sizeQ16 as number | undefined,
        calib: o.calib as number | undefined,
      };
      const engine = await createEngine(options.backend);
      const bar = progressBar(Boolean(o.quiet), modules.length * 4 * options.trials, 'paper');
      try {
        const report = await runPaper(options, engine, {
          storeFor: (cfg) => (o.journal === false ? undefined : new JsonlJournal(defaultJournalPath(cfg), cfg)),
          onProgress: (row, _rows, done) => bar.update(row * options.trials + done),
        });
        bar.stop();
        const text = o.format === 'json' ? formatPaperJson(report) : formatPaperMarkdown(report);
        emitReport(text, o.out);
      } finally {
        bar.stop();
        engine.dispose();
      }
    });
}
