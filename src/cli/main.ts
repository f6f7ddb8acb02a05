/**
 * The `peir` command: builds the commander program from one file per command
 * (src/cli/<command>.ts) and runs it. Thin by design: commands parse their
 * options, call the library and print; errors become one line on stderr and
 * exit status 1 (unexpected ones keep their stack).
 */
import { Command } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { PeirError } from '../errors.js';
import { adapterCommand } from './adapter.js';
import { browserCommand } from './browser.js';
import { modelCommand } from './model.js';
import { paperCommand } from './paper.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { sweepCommand } from './sweep.js';

function buildProgram(): Command {
  return new Command('peir')
    .description(pkg.description)
    .version(pkg.version, '-V, --version', 'print the peir version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError()
    .addCommand(runCommand())
    .addCommand(modelCommand())
    .addCommand(paperCommand())
    .addCommand(sweepCommand())
    .addCommand(adapterCommand())
    .addCommand(serveCommand())
    .addCommand(browserCommand());
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof PeirError) process.stderr.write(`peir: ${e.name}: ${e.message}\n`);
    else process.stderr.write(`peir: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    // exitCode rather than exit(): stdout may still be draining into a pipe.
    process.exitCode = 1;
  }
}

await main(process.argv);
