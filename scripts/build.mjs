#!/usr/bin/env node
/**
 * Build peir with esbuild (run by `npm run build` and by `prepare` on `npm ci`):
 *
 *   dist/index.js     the Node library (src/index.ts), dependencies left as imports
 *   dist/cli.js       the `peir` command (src/cli/main.ts), executable
 *   dist/bench.js     the benchmark suite's Node CLI (bench/main.ts; `npm run bench`)
 *   dist/browser/     one bundle per page: every src/browser/page/<name>.html is
 *                     copied and src/browser/page/<name>.ts bundled beside it;
 *                     and one per dedicated worker: src/browser/page/worker.ts
 *                     and <name>-worker.ts become dist/browser/<same name>.js
 *
 * WGSL and the vendored ONNX schema (src/onnx/onnx.proto) are imported as text
 * (the same `text` loader vitest's plugin imitates).
 * Files are written atomically (temporary file + rename) and only when their
 * content changed, so concurrent builds never leave a half-written bundle and a
 * rebuild with no change is a no-op. `--if-stale` builds only when an input
 * recorded by the last build is newer than it. On success it prints one line.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const BROWSER_OUT = join(DIST, 'browser');
const PAGES_DIR = join(ROOT, 'src/browser/page');
/** Written last by every successful build: what it read and wrote. */
const STAMP = join(DIST, '.build-meta.json');

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  format: 'esm',
  loader: { '.wgsl': 'text', '.proto': 'text' },
  sourcemap: 'linked',
  write: false,
  metafile: true,
  logLevel: 'silent',
  legalComments: 'none',
};

/**
 * In the browser `createGpu` never loads the Dawn host (src/gpu/node-host.ts,
 * which needs node:fs and the `webgpu` addon); it is replaced by a module that
 * throws if it is ever called, so that no Node import reaches the page bundle.
 */
const browserNodeHostStub = {
  name: 'peir-browser-node-host-stub',
  setup(build) {
    build.onResolve({ filter: /(^|\/)node-host(\.js|\.ts)?$/ }, (args) => ({ path: args.path, namespace: 'peir-browser-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'peir-browser-stub' }, () => ({
      loader: 'js',
      contents:
        "export async function acquireNodeGpu() { throw new Error('peir: the Node (Dawn) GPU host cannot run in a browser'); }\n" +
        'export function releaseNodeGpu() {}\n',
    }));
  },
};

function listPages() {
  if (!existsSync(PAGES_DIR)) return [];
  return readdirSync(PAGES_DIR)
    .filter((f) => f.endsWith('.html'))
    .map((f) => f.slice(0, -'.html'.length))
    .sort();
}

/** Worker scripts have no page of their own: a page starts them with `new Worker('./<name>.js')`. */
function listWorkers() {
  if (!existsSync(PAGES_DIR)) return [];
  return readdirSync(PAGES_DIR)
    .filter((f) => /^(?:[a-z0-9-]+-)?worker\.ts$/.test(f))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

/** Replace `path` with `contents` unless it already holds exactly that; returns whether it wrote. */
function writeAtomic(path, contents, { always = false } = {}) {
  if (!always && existsSync(path) && Buffer.compare(readFileSync(path), Buffer.from(contents)) === 0) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
  return true;
}

/** Fail if a browser bundle would import anything at load time (a `node:` module, `webgpu`, a bare package). */
function checkBrowserImports(metafile) {
  const bad = [];
  for (const [out, info] of Object.entries(metafile.outputs)) {
    for (const imp of info.imports) if (imp.external) bad.push(`${out} imports '${imp.path}' (${imp.kind})`);
  }
  if (bad.length) throw new Error(`browser bundle must be self-contained, but:\n  ${bad.join('\n  ')}`);
}

async function build() {
  const t0 = performance.now();
  const startedAt = new Date();
  const pages = listPages();
  const workers = listWorkers();
  for (const p of pages) {
    if (!existsSync(join(PAGES_DIR, `${p}.ts`))) throw new Error(`src/browser/page/${p}.html has no script src/browser/page/${p}.ts`);
  }
  const node = { ...common, platform: 'node', target: 'node20', packages: 'external', outdir: DIST };
  const [lib, cli, bench, browser] = await Promise.all([
    esbuild.build({ ...node, entryPoints: { index: 'src/index.ts' } }),
    esbuild.build({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, banner: { js: '#!/usr/bin/env node' } }),
    esbuild.build({ ...node, entryPoints: { bench: 'bench/main.ts' } }),
    esbuild.build({
      ...common,
      platform: 'browser',
      target: 'es2022',
      outdir: BROWSER_OUT,
      entryPoints: Object.fromEntries([...pages, ...workers].map((p) => [p, `src/browser/page/${p}.ts`])),
      plugins: [browserNodeHostStub],
    }),
  ]);
  checkBrowserImports(browser.metafile);

  const written = new Set();
  for (const f of [...lib.outputFiles, ...cli.outputFiles, ...bench.outputFiles, ...browser.outputFiles]) {
    writeAtomic(f.path, f.contents);
    written.add(f.path);
  }
  for (const p of pages) {
    const out = join(BROWSER_OUT, `${p}.html`);
    writeAtomic(out, readFileSync(join(PAGES_DIR, `${p}.html`)));
    written.add(out);
  }
  chmodSync(join(DIST, 'cli.js'), 0o755);
  // Pages removed from the source leave nothing behind.
  for (const f of existsSync(BROWSER_OUT) ? readdirSync(BROWSER_OUT) : []) {
    const path = join(BROWSER_OUT, f);
    if (!written.has(path) && !f.endsWith('.tmp')) rmSync(path, { recursive: true, force: true });
  }

  const inputs = new Set(['scripts/build.mjs', 'package.json', ...pages.map((p) => `src/browser/page/${p}.html`)]);
  for (const r of [lib, cli, bench, browser]) {
    for (const i of Object.keys(r.metafile.inputs)) if (!i.includes(':')) inputs.add(i);
  }
  const outputs = [...written].map((p) => relative(ROOT, p)).sort();
  // Always rewritten, dated to when this build started reading its inputs:
  // an input edited while esbuild ran still counts as newer than the build.
  writeAtomic(STAMP, `${JSON.stringify({ pages, workers, inputs: [...inputs].sort(), outputs }, null, 2)}\n`, { always: true });
  utimesSync(STAMP, startedAt, startedAt);
  return { pages: [...pages, ...workers], ms: performance.now() - t0 };
}

/** Why the last build is out of date, or undefined when it is current. */
function staleReason() {
  if (!existsSync(STAMP)) return 'never built';
  const builtAt = statSync(STAMP).mtimeMs;
  let meta;
  try {
    meta = JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return 'unreadable build record';
  }
  if (JSON.stringify(listPages()) !== JSON.stringify(meta.pages)) return 'pages added or removed';
  if (JSON.stringify(listWorkers()) !== JSON.stringify(meta.workers ?? [])) return 'workers added or removed';
  for (const o of meta.outputs) if (!existsSync(join(ROOT, o))) return `${o} is missing`;
  for (const i of meta.inputs) {
    const path = join(ROOT, i);
    if (!existsSync(path)) return `${i} was removed`;
    if (statSync(path).mtimeMs > builtAt) return `${i} changed`;
  }
  return undefined;
}

try {
  const reason = process.argv.includes('--if-stale') ? staleReason() : 'asked to';
  if (reason === undefined) {
    console.log('peir build: up to date');
  } else {
    const { pages, ms } = await build();
    const why = reason === 'asked to' ? '' : ` (${reason})`;
    console.log(`peir build${why}: dist/index.js, dist/cli.js, dist/bench.js, dist/browser/{${pages.join(',')}} in ${ms.toFixed(0)} ms`);
  }
} catch (e) {
  // esbuild's own errors carry file:line:column; print them the way esbuild would.
  if (e && Array.isArray(e.errors) && e.errors.length) {
    const text = await esbuild.formatMessages(e.errors, { kind: 'error', color: process.stderr.isTTY });
    process.stderr.write(text.join(''));
  } else {
    process.stderr.write(`peir build failed: ${e && e.message ? e.message : e}\n`);
  }
  process.exitCode = 1;
}
