import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type StaticServer } from '../src/browser/server.js';

/**
 * Layout (the root is a child of a directory holding a secret, as dist/browser
 * is a child of the repository holding package.json):
 *
 *   <tmp>/package.json            "SECRET"
 *   <tmp>/outside/file.txt        "SECRET"
 *   <tmp>/root/index.html, a.js, b.css, c.json, d.wasm, e.map, f.png, g.svg, h.bin
 *   <tmp>/root/empty/             (no index.html)
 *   <tmp>/root/sub/index.html
 *   <tmp>/root/link-file.txt   -> <tmp>/package.json
 *   <tmp>/root/link-dir        -> <tmp>/outside
 *   <tmp>/root/link-inside.js  -> <tmp>/root/a.js
 */
const SECRET = 'SECRET-do-not-serve';
let tmp: string;
let server: StaticServer;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the target sent byte for byte (no URL normalisation). */
function get(path: string, opts: { method?: string; host?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'peir-server-test-'));
  const root = join(tmp, 'root');
  mkdirSync(join(root, 'empty'), { recursive: true });
  mkdirSync(join(root, 'sub'));
  mkdirSync(join(tmp, 'outside'));
  writeFileSync(join(tmp, 'package.json'), SECRET);
  writeFileSync(join(tmp, 'outside', 'file.txt'), SECRET);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>root</title>');
  writeFileSync(join(root, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
  for (const f of ['a.js', 'b.css', 'c.json', 'd.wasm', 'e.map', 'f.png', 'g.svg', 'h.bin']) writeFileSync(join(root, f), `content of ${f}`);
  symlinkSync(join(tmp, 'package.json'), join(root, 'link-file.txt'));
  symlinkSync(join(tmp, 'outside'), join(root, 'link-dir'));
  symlinkSync(join(root, 'a.js'), join(root, 'link-inside.js'));
  server = await serveStatic(root);
});

afterAll(async () => {
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('serveStatic', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it.each([
    ['/index.html', 'text/html; charset=utf-8'],
    ['/a.js', 'text/javascript; charset=utf-8'],
    ['/b.css', 'text/css; charset=utf-8'],
    ['/c.json', 'application/json; charset=utf-8'],
    ['/d.wasm', 'application/wasm'],
    ['/e.map', 'application/json; charset=utf-8'],
    ['/f.png', 'image/png'],
    ['/g.svg', 'image/svg+xml'],
    ['/h.bin', 'application/octet-stream'],
  ])('serves %s as %s, uncached', async (path, type) => {
    const r = await get(path);
    expect(r.status, r.body).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    expect(r.headers['cache-control']).toBe('no-store');
    if (path !== '/index.html') expect(r.body).toBe(`content of ${path.slice(1)}`);
  });

  it('serves a directory as its index.html, and a directory without one as 404 (no listing)', async () => {
    expect((await get('/')).body).toContain('<title>root</title>');
    expect((await get('/sub/')).body).toContain('<title>sub</title>');
    const empty = await get('/empty/');
    expect(empty.status).toBe(404);
    expect(empty.body).not.toContain('index');
  });

  it('ignores the query string and answers HEAD without a body', async () => {
    expect((await get('/a.js?v=3#x')).body).toBe('content of a.js');
    const head = await get('/a.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String('content of a.js'.length));
    expect(head.body).toBe('');
  });

  it('serves a symlink whose target stays inside the root', async () => {
    const r = await get('/link-inside.js');
    expect(r.status).toBe(200);
    expect(r.body).toBe('content of a.js');
  });

  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E/package.json',
    '/..%2fpackage.json',
    '/..%2Fpackage.json',
    '/.%2e/package.json',
    '/sub/../../package.json',
    '/sub/%2e%2e/%2e%2e/package.json',
    '/..\\package.json',
    '/..%5cpackage.json',
    '/sub%5c..%5c..%5cpackage.json',
    '//etc/passwd',
    '/%2fetc/passwd',
    '/C:/Windows/win.ini',
    '/index.html%00.js',
    '/%00',
    '/link-file.txt',
    '/link-dir/file.txt',
    '/link-dir/',
  ])('refuses %s with 403 or 404 and never sends the secret', async (path) => {
    const r = await get(path);
    expect([403, 404], `${path} -> ${r.status} ${r.body}`).toContain(r.status);
    expect(r.body).not.toContain(SECRET);
    expect(r.body).not.toContain('root:');
  });

  it('refuses absolute-form targets, malformed escapes, other methods and foreign Host headers', async () => {
    expect((await get(`http://127.0.0.1:${server.port}/../package.json`)).status).toBe(400);
    expect((await get('/%E0%A4%A')).status).toBe(400);
    const post = await get('/index.html', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const rebound = await get('/index.html', { host: 'evil.example:80' });
    expect(rebound.status).toBe(403);
  });

  it('answers 404 for missing files', async () => {
    expect((await get('/nope.js')).status).toBe(404);
  });

  it('stops listening on close, and close is idempotent', async () => {
    const other = await serveStatic(join(tmp, 'root'));
    const port = other.port;
    await other.close();
    await other.close();
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, () => resolve(new Error('answered') as NodeJS.ErrnoException));
      req.on('error', resolve);
      req.end();
    });
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('refuses to serve a root that does not exist', async () => {
    await expect(serveStatic(join(tmp, 'missing'))).rejects.toThrow(/does not exist/);
  });
});
