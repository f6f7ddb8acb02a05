/**
 * A static file server for the browser bundles, bound to 127.0.0.1 only.
 * It serves regular files under `rootDir` and nothing else: no directory
 * listings, no `..` (raw or percent-encoded), no backslashes, no NUL, no
 * absolute-form request targets, and no file whose real path (symlinks
 * resolved) leaves the root. Responses are never cached.
 *
 * @example
 * ```ts
 * const server = await serveStatic('dist/browser');
 * try {
 *   await page.goto(`${server.url}/harness.html`);
 * } finally {
 *   await server.close();
 * }
 * ```
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { PeirError } from '../errors.js';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  port: number;
  /** Stop listening and drop open connections. Idempotent. */
  close(): Promise<void>;
}

export interface ServeStaticOptions {
  /** 0 (default) picks a free port. */
  port?: number;
}

class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {}
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/**
 * Map a request target to a file path under `root` (its real path), or a refusal.
 * Checks run on the raw target and again on the decoded one, so that no
 * encoding of `..`, `\` or NUL gets through.
 */
async function resolveTarget(root: string, target: string): Promise<string | Refusal> {
  if (!target.startsWith('/')) return new Refusal(400, 'request target must be an absolute path');
  const rawPath = target.split(/[?#]/, 1)[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return new Refusal(400, 'malformed percent-encoding');
  }
  if (rawPath.includes('\\') || decoded.includes('\\')) return new Refusal(403, 'backslash in path');
  if (decoded.includes('\0')) return new Refusal(403, 'NUL in path');
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return new Refusal(403, 'dot segment in path');
  if (/^\/\/|^\/[A-Za-z]:/.test(decoded)) return new Refusal(403, 'absolute path in request');
  const lexical = resolve(root, `.${decoded}`);
  if (!isInside(root, lexical)) return new Refusal(403, 'path leaves the root');
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return new Refusal(404, 'not found');
  }
  if (!isInside(root, real)) return new Refusal(403, 'path resolves outside the root');
  const st = await stat(real);
  if (st.isDirectory()) {
    // Directories serve their index.html, never a listing.
    const index = join(lexical, 'index.html');
    let realIndex: string;
    try {
      realIndex = await realpath(index);
    } catch {
      return new Refusal(404, 'not found');
    }
    if (!isInside(root, realIndex)) return new Refusal(403, 'path resolves outside the root');
    if (!(await stat(realIndex)).isFile()) return new Refusal(404, 'not found');
    return realIndex;
  }
  if (!st.isFile()) return new Refusal(404, 'not found');
  return real;
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${status} ${reason}\n`);
}

/** Serve `rootDir` on 127.0.0.1. Resolves once listening. */
export async function serveStatic(rootDir: string, opts: ServeStaticOptions = {}): Promise<StaticServer> {
  let root: string;
  try {
    root = await realpath(resolve(rootDir));
  } catch {
    throw new PeirError(`cannot serve ${rootDir}: it does not exist`);
  }
  if (!(await stat(root)).isDirectory()) throw new PeirError(`cannot serve ${rootDir}: it is not a directory`);
  let hostPort = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return refuse(res, 405, 'method not allowed');
    }
    // Only our own origin: a page elsewhere that rebinds a DNS name to 127.0.0.1 gets nothing.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${hostPort}` && host !== `localhost:${hostPort}`) return refuse(res, 403, 'unexpected Host header');
    const target = await resolveTarget(root, req.url ?? '');
    if (target instanceof Refusal) return refuse(res, target.status, target.reason);
    const st = await stat(target);
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': st.size,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(target);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e) => reject(new PeirError(`cannot listen on 127.0.0.1:${opts.port ?? 0}: ${e.message}`)));
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  hostPort = String(port);
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
