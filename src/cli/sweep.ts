/** `peir sweep size|depth`: PEIR against input size, or against the depth of a stack of quantized layers. */
import { emitReport } from './output.js';
import { Command } from 'commander';
import { resolveConfig } from '../run/config.js';
import { createEngine } from '../run/engine.js';
import { JsonlJournal } from '../run/journal.js';
import { depthSweep, sizeSweep } from '../run/sweep.js';
import { formatDepthSweep, formatSizeSweep } from '../report/sweep-format.js';
import { InputError } from '../errors.js';
import { addRunOptions, intArg, runOptionsFromCli } from './run-options.js';
import { progressBar } from './progress.js';
import { defaultJournalPath } from './run.js';

const SWEEP_FORMATS = ['table', 'md', 'json'];

export function sweepCommand(): Command {
  const size = addRunOptions(new Command('size').description('PEIR against input size (one experiment per size)'), SWEEP_FORMATS)
    .requiredOption('--sizes <list>', 'comma-separated input sizes, e.g. 32,64,128,224,512')
    .option('--no-journal', 'do not keep finished trials on disk (no resume)')
    .action(async (o: Record<string, unknown>) => {
      const sizes = String(o.sizes).split(',').map((s) => intArg(s.trim()));
      if (sizes.length === 0) throw new InputError('--sizes needs at least one size');
      const base = runOptionsFromCli(o);
      const cfg = resolveConfig(base);
      const engine = await createEngine(cfg.backend);
      const bar = progressBar(Boolean(o.quiet), sizes.length * cfg.trials, 'sweep');
      try {
        const rows = await sizeSweep(base, sizes, engine, {
          storeFor: (c) => (o.journal === false ? undefined : new JsonlJournal(defaultJournalPath(c), c)),
          onProgress: (row, done) => bar.update(row * cfg.trials + done),
        });
        bar.stop();
        emitReport(formatSizeSweep(rows, o.format as 'table'), o.out);
      } finally {
        bar.stop();
        engine.dispose();
      }
    });
  const depth = addRunOptions(new Command('depth').description('PEIR after each layer of a stack of L quantized layers (tests the claim that PEIR grows linearly with depth)'), SWEEP_FORMATS)
    .option('--depth <n>', 'layers in the stack', intArg, 8)
    .option('--no-relu', 'no ReLU between convolutions')
    .action(async (o: Record<string, unknown>) => {
      const depthN = o.depth as number;
      if (!(depthN >= 1 && depthN <= 256)) throw new InputError(`--depth must be from 1 to 256; got ${depthN}`);
      const base = runOptionsFromCli(o);
      const cfg = resolveConfig(base);
      const engine = await createEngine(cfg.backend);
      const bar = progressBar(Boolean(o.quiet), cfg.trials, 'depth');
      try {
        const r = await depthSweep(base, depthN, o.relu !== false, engine, (d) => bar.update(d));
        bar.stop();
        emitReport(formatDepthSweep(r, o.format as 'table'), o.out);
      } finally {
        bar.stop();
        engine.dispose();
      }
    });
  return new Command('sweep').description('PEIR against input size or network depth').addCommand(size).addCommand(depth);
}
