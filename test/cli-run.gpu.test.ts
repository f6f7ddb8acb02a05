/**
 * The built `peir` command end to end: run / paper / sweep on WebGPU with
 * small sizes, the JSON schema, bad options, and a --dump recomputed by numpy
 * (scripts/recompute_dump.py; skipped when python3 has no numpy).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HAS_NUMPY = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

function peir(...args: string[]) {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('peir run / paper / sweep (dist/cli.js)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peir-cli-'));
  it('builds', () => expect(inject('distBuildError')).toBe(''));

  it('run --format json: config, adapter, trials[].peir, summary.peir.{min,median,max,mean}', () => {
    const r = peir('run', '--module', 'depthwise', '--scheme', 'q8', '--size', '24', '--trials', '3', '--calib', '2', '--format', 'json', '--no-journal');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.config.module).toBe('depthwise');
    expect(doc.adapter.host).toBe('node-dawn');
    expect(doc.trials.map((t: { peir: number }) => typeof t.peir)).toEqual(['number', 'number', 'number']);
    for (const k of ['min', 'median', 'max', 'mean']) expect(doc.summary.peir[k]).toBeGreaterThan(0);
    expect(doc.summary.sqnrDb.median).toBeGreaterThan(20);
  });

  it('bad options: exit 1 and the valid choices named', () => {
    const a = peir('run', '--module', 'conv3d', '--scheme', 'q8');
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/conv3d.*Allowed choices are conv2d, depthwise, lstm/s);
    const b = peir('run', '--module', 'conv2d', '--scheme', 'q8', '--trials', 'many');
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/'many' is not an integer/);
    const c = peir('run', '--module', 'conv2d', '--scheme', 'q8', '--size', '0', '--no-journal');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/--size must be an integer from 1/);
    const d = peir('run', '--module', 'conv2d', '--scheme', 'q8', '--weights', join(dir, 'nowhere'));
    expect(d.stderr).toMatch(/no such directory/);
  });

  it('resumes from its journal: a second run computes nothing new', () => {
    const jsonl = join(dir, 'run.jsonl');
    const args = ['run', '--module', 'conv2d', '--scheme', 'q16', '--size', '16', '--trials', '3', '--calib', '2', '--jsonl', jsonl];
    const first = peir(...args, '--format', 'json');
    const second = peir(...args, '--format', 'json');
    expect(JSON.parse(second.stdout).timing.resumedTrials).toBe(3);
    expect(JSON.parse(second.stdout).trials).toEqual(JSON.parse(first.stdout).trials);
    expect(readFileSync(jsonl, 'utf8').trim().split('\n')).toHaveLength(4);
  });

  for (const [module, extra] of [
    ['conv2d', ['--scheme', 'q16', '--size', '20', '--stride', '2', '--padding', '1,2,0,1']],
    ['conv2d', ['--scheme', 'q8', '--size', '17', '--kernel', '3,5', '--dilation', '2', '--granularity', 'tensor']],
    ['depthwise', ['--scheme', 'q16', '--scale', 'linear', '--rounding', 'half_away', '--size', '19']],
    ['lstm', ['--scheme', 'q8', '--size', '9', '--hidden', '7']],
    ['lstm', ['--scheme', 'q16', '--size', '9', '--hidden', '5', '--rounding', 'half_away']],
  ] as const) {
    it.skipIf(!HAS_NUMPY)(`--dump of ${module} ${extra.join(' ')} is recomputed by numpy, element by element`, () => {
      const out = mkdtempSync(join(dir, 'dump-'));
      const r = peir('run', '--module', module, ...extra, '--trials', '1', '--calib', '2', '--no-journal', '-q', '--dump', out);
      expect(r.code, r.stderr).toBe(0);
      const params = JSON.parse(readFileSync(join(out, 'params.json'), 'utf8'));
      expect(Object.keys(params)).toEqual(['scheme', 'rounding', 'mode', 'layer', 'tensors', 'requant']);
      const py = spawnSync('python3', ['scripts/recompute_dump.py', out], { cwd: ROOT, encoding: 'utf8' });
      expect(py.stdout + py.stderr).toMatch(/all recomputed values match/);
      expect(py.status).toBe(0);
    });
  }

  it('paper: a quick md report with our rows beside the published ones', () => {
    const r = peir('paper', '--trials', '2', '--size-q8', '12', '--size-q16', '12', '--calib', '2', '--tables', 'lstm', '--no-journal', '-q');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/## Table 2: LSTM block/);
    expect(r.stdout).toMatch(/\| Q8 linear, per channel, normal inputs \|/);
    expect(r.stdout).toMatch(/0\.0162/); // a published median
  });

  it('sweep depth: PEIR after each layer and a linear fit', () => {
    const r = peir('sweep', 'depth', '--module', 'depthwise', '--scheme', 'q8', '--size', '12', '--in-channels', '4', '--depth', '3', '--trials', '2', '--calib', '2', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.layers).toHaveLength(3);
    expect(typeof doc.fit.slope).toBe('number');
  });
});
