/**
 * `peir serve`: serve the experiment page (dist/browser/index.html) on
 * 127.0.0.1, rebuilding the bundles first when the sources are newer (in a
 * checkout; an installed package serves what it ships), print the URL and
 * keep serving until Ctrl-C. `--open` opens the page in the system browser.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { defaultDistDir } from '../browser/run-in-chrome.js';
import { serveStatic } from '../browser/server.js';
import { PeirError } from '../errors.js';
import { intArg } from './run-options.js';

/** Run scripts/build.mjs --if-stale when this is a source checkout (the script and src/ beside dist/). */
export function buildIfStale(distDir: string): void {
  const root = dirname(dirname(distDir));
  const script = join(root, 'scripts', 'build.mjs');
  if (!existsSync(script) || !existsSync(join(root, 'src', 'browser', 'page'))) return;
  const r = spawnSync(process.execPath, [script, '--if-stale'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new PeirError(`building the page failed:\n${r.stderr}${r.stdout}`);
  if (r.stdout.trim() && !r.stdout.includes('up to date')) process.stderr.write(r.stdout);
}

/** Open `url` in the desktop's browser; failures are reported, not fatal. */
function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', (e) => process.stderr.write(`peir: could not open a browser (${cmd}: ${e.message}); open ${url} yourself\n`));
  child.unref();
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the experiment page on 127.0.0.1 (run experiments on your browser\'s WebGPU, see the figures, export them)')
    .option('--port <n>', 'port to listen on; 0 picks a free one', intArg, 0)
    .option('--open', 'open the page in the system browser')
    .action(async (o: { port: number; open?: boolean }) => {
      const distDir = defaultDistDir();
      buildIfStale(distDir);
      if (!existsSync(join(distDir, 'index.html'))) throw new PeirError(`${distDir}/index.html does not exist: run 'npm run build'`);
      const server = await serveStatic(distDir, { port: o.port });
      const url = `${server.url}/`;
      process.stdout.write(`peir: serving the experiment page at ${url} (Ctrl-C to stop)\n`);
      if (o.open) openInBrowser(url);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
