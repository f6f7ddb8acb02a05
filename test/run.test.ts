/**
 * The experiment protocol on the CPU reference engine: determinism, sanity
 * floors of PEIR (numerics.md), resume from a journal without redoing or
 * losing trials, option validation, and the paper / sweep drivers.
 */
import { mkdtempSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { resolveConfig, type RunOptions } from '../src/run/config.js';
import { CpuEngine } from '../src/run/engine.js';
import { runExperiment, type TrialResult } from '../src/run/experiment.js';
import { JsonlJournal } from '../src/run/journal.js';
import { paperConfigs, runPaper, inconsistentPublished, PUBLISHED } from '../src/run/paper.js';
import { depthSweep, linearFit, sizeSweep } from '../src/run/sweep.js';
import { formatReport } from '../src/report/format.js';
import { stats } from '../src/report/summary.js';

const engine = new CpuEngine();
const small = (o: Partial<RunOptions> & Pick<RunOptions, 'module' | 'scheme'>): RunOptions => ({ size: 16, trials: 4, calib: 4, backend: 'cpu', ...o });

function peirs(trials: TrialResult[]): number[] {
  return trials.map((t) => t.peir);
}

describe('options', () => {
  it('fills the study defaults: 224 for q8, 512 for q16, 100 trials, per channel, int', () => {
    const a = resolveConfig({ module: 'conv2d', scheme: 'q8' });
    expect([a.height, a.width, a.trials, a.granularity, a.mode, a.scaleType, a.rounding]).toEqual([224, 224, 100, 'channel', 'int', 'linear', 'half_even']);
    const b = resolveConfig({ module: 'lstm', scheme: 'q16' });
    expect([b.height, b.width, b.hidden, b.scaleType]).toEqual([512, 512, 128, 'pow2']);
    expect(resolveConfig({ module: 'depthwise', scheme: 'q8', inChannels: 8 }).outChannels).toBe(8);
  });

  it('names the option and its valid choices on bad values', () => {
    expect(() => resolveConfig({ module: 'conv3d' as never, scheme: 'q8' })).toThrow(/--module must be one of conv2d, depthwise, lstm; got "conv3d"/);
    expect(() => resolveConfig({ module: 'conv2d', scheme: 'q4' as never })).toThrow(/--scheme must be one of q8, q16/);
    expect(() => resolveConfig({ module: 'conv2d', scheme: 'q8', trials: 0 })).toThrow(/--trials must be an integer from 1/);
    expect(() => resolveConfig({ module: 'conv2d', scheme: 'q8', dist: 'cauchy' as never })).toThrow(/--dist must be one of uniform, normal, laplace, student-t/);
    expect(() => resolveConfig({ module: 'conv2d', scheme: 'q8', kernel: [3, 0] })).toThrow(InputError);
  });
});

describe('the protocol (CPU reference engine)', () => {
  it('is deterministic for a seed, and another seed gives other numbers', async () => {
    const cfg = resolveConfig(small({ module: 'conv2d', scheme: 'q8' }));
    const a = await runExperiment(cfg, engine);
    const b = await runExperiment(cfg, engine);
    expect(peirs(a.trials)).toEqual(peirs(b.trials));
    const c = await runExperiment({ ...cfg, seed: 2 }, engine);
    expect(peirs(c.trials)).not.toEqual(peirs(a.trials));
    expect(a.trials.map((t) => t.trial)).toEqual([0, 1, 2, 3]);
    expect(a.summary.peir).toEqual(stats(peirs(a.trials)));
  });

  it('seed 1: PEIR sits above the rounding floors and SQNR is what 8 / 16 bits give', async () => {
    // Bounded (uniform) inputs and 16 calibration inputs: clipping is rare and rounding dominates.
    for (const module of ['conv2d', 'depthwise', 'lstm'] as const) {
      const opts = { module, size: 24, calib: 16, dist: 'uniform' as const };
      const q8 = await runExperiment(resolveConfig(small({ ...opts, scheme: 'q8' })), engine);
      const q16 = await runExperiment(resolveConfig(small({ ...opts, scheme: 'q16' })), engine);
      // Half a step of 255 levels is 0.00196: a "quantized" median below it means nothing was quantized.
      expect(q8.summary.peir.median, module).toBeGreaterThan(0.5 / 255);
      expect(q8.summary.peir.median, module).toBeLessThan(0.2);
      // Q16 dynamic fixed point: half a step is 2^-16..2^-15 of the range; above it, far below Q8.
      expect(q16.summary.peir.median, module).toBeGreaterThan(2 ** -17);
      // The LSTM's Q16 error is bounded by its internal Q3.12 gates and Q0.15 activations (README), hence / 8 and + 15 dB.
      expect(q16.summary.peir.median, module).toBeLessThan(q8.summary.peir.median / 8);
      expect(q16.summary.sqnrDb.median, module).toBeGreaterThan(q8.summary.sqnrDb.median + 15);
      for (const t of [...q8.trials, ...q16.trials]) {
        for (const v of [t.peir, t.mse, t.sqnrDb, t.cosine, t.maxAbsError, t.p999AbsError]) expect(Number.isFinite(v)).toBe(true);
      }
    }
  });

  it('fake-quant mode runs, and lands near the integer result', async () => {
    const cfg = resolveConfig(small({ module: 'conv2d', scheme: 'q8', calib: 8 }));
    const int = await runExperiment(cfg, engine);
    const fake = await runExperiment({ ...cfg, mode: 'fake' }, engine);
    expect(fake.summary.peir.median).toBeGreaterThan(0.5 / 255);
    expect(Math.abs(fake.summary.peir.median - int.summary.peir.median)).toBeLessThan(int.summary.peir.median);
  });

  it('attributes worst elements to clipping when calibration saw a much narrower distribution', async () => {
    const cfg = resolveConfig(small({ module: 'conv2d', scheme: 'q8', dist: 'student-t', calibDist: 'uniform', trials: 3 }));
    const r = await runExperiment(cfg, engine);
    expect(r.trials.every((t) => t.worst.cause === 'clip')).toBe(true);
    expect(r.summary.peir.median).toBeGreaterThan(0.05);
  });

  it('stops between trials when aborted, naming how many finished', async () => {
    const ac = new AbortController();
    const cfg = resolveConfig(small({ module: 'depthwise', scheme: 'q8', trials: 5 }));
    await expect(runExperiment(cfg, engine, { signal: ac.signal, onProgress: (d) => d === 2 && ac.abort() })).rejects.toThrow(/cancelled after 2 of 5 trials/);
  });
});

describe('the journal: an interrupted run resumes without redoing or losing trials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peir-journal-'));

  it('resumes where it stopped and gives the uninterrupted result', async () => {
    const cfg = resolveConfig(small({ module: 'conv2d', scheme: 'q16', trials: 5 }));
    const path = join(dir, 'a.jsonl');
    const ac = new AbortController();
    await expect(runExperiment(cfg, engine, { store: new JsonlJournal(path, cfg), signal: ac.signal, onProgress: (d) => d === 3 && ac.abort() })).rejects.toThrow(/cancelled/);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1 + 3);
    // A crash mid-write leaves a torn line: it is dropped on resume.
    appendFileSync(path, '{"trial": 3, "pe');
    let computed = 0;
    const resumed = await runExperiment(cfg, engine, {
      store: new JsonlJournal(path, cfg),
      onTrial: () => void computed++,
    });
    expect(computed).toBe(2); // trials 3 and 4 only
    expect(resumed.timing.resumedTrials).toBe(3);
    const fresh = await runExperiment(cfg, engine);
    expect(peirs(resumed.trials)).toEqual(peirs(fresh.trials));
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1 + 5);
    // More trials extend the same journal.
    const more = await runExperiment({ ...cfg, trials: 6 }, engine, { store: new JsonlJournal(path, { ...cfg, trials: 6 }) });
    expect(more.timing.resumedTrials).toBe(5);
  });

  it('refuses a journal of another configuration or a damaged one, naming the file', () => {
    const cfg = resolveConfig(small({ module: 'conv2d', scheme: 'q8' }));
    const path = join(dir, 'b.jsonl');
    new JsonlJournal(path, cfg);
    expect(() => new JsonlJournal(path, { ...cfg, seed: 9 })).toThrow(/belongs to another configuration/);
    expect(() => new JsonlJournal(path, { ...cfg, seed: 9 }, true)).not.toThrow(); // --fresh
    writeFileSync(path, `${readFileSync(path, 'utf8')}not json\n{"trial":1,"peir":0.1}\n`);
    expect(() => new JsonlJournal(path, { ...cfg, seed: 9 })).toThrow(/b\.jsonl: line 2 is not valid JSON/);
    writeFileSync(join(dir, 'c.jsonl'), 'hello\n');
    expect(() => new JsonlJournal(join(dir, 'c.jsonl'), cfg)).toThrow(/not a peir journal header/);
  });
});

describe('reports', () => {
  it('every format carries the numbers; JSON has config, adapter, trials[].peir and summary.peir', async () => {
    const r = await runExperiment(resolveConfig(small({ module: 'lstm', scheme: 'q8', hidden: 6, trials: 3 })), engine);
    const json = JSON.parse(formatReport(r, 'json'));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['config', 'adapter', 'trials', 'summary']));
    expect(json.trials).toHaveLength(3);
    expect(json.summary.peir.median).toBe(r.summary.peir.median);
    for (const k of ['min', 'median', 'max', 'mean', 'std']) expect(typeof json.summary.sqnrDb[k]).toBe('number');
    const csv = formatReport(r, 'csv').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0].split(',')).toContain('peir');
    expect(formatReport(r, 'table')).toMatch(/PEIR\s+\S+\s+\S+/);
    expect(formatReport(r, 'md')).toMatch(/\| PEIR \|/);
    expect(formatReport(r, 'table')).not.toMatch(/NaN|Infinity/);
  });
});

describe('paper and sweeps', () => {
  it('the paper plan: three tables, two rows per data type, labelled; the published typos are flagged', () => {
    const rows = paperConfigs({ trials: 100, seed: 1, rows: 'granularity', modules: ['conv2d', 'lstm', 'depthwise'], backend: 'cpu' });
    expect(rows).toHaveLength(12);
    expect(rows.filter((r) => r.config.scheme === 'q8').every((r) => r.config.height === 224)).toBe(true);
    expect(rows.filter((r) => r.config.scheme === 'q16').every((r) => r.config.height === 512 && r.config.scaleType === 'pow2')).toBe(true);
    expect(new Set(rows.map((r) => r.label)).size).toBe(4); // the same four labels in every table
    expect(inconsistentPublished(PUBLISHED.conv2d.rows[1])).toBe(true);
    expect(inconsistentPublished(PUBLISHED.lstm.rows[0])).toBe(true);
    expect(inconsistentPublished(PUBLISHED.depthwise.rows[0])).toBe(false);
  });

  it('runs a small paper on the CPU', async () => {
    const r = await runPaper({ trials: 2, seed: 1, rows: 'scale', modules: ['depthwise'], backend: 'cpu', sizeQ8: 12, sizeQ16: 12, calib: 2 }, engine);
    expect(r.rows.map((x) => x.label)).toEqual([
      'Q8 linear, per channel, normal inputs', 'Q8 pow2, per channel, normal inputs',
      'Q16 pow2, per channel, normal inputs', 'Q16 linear, per channel, normal inputs',
    ]);
    for (const row of r.rows) expect(row.peir.median).toBeGreaterThan(0);
  });

  it('sweeps size and depth', async () => {
    const rows = await sizeSweep(small({ module: 'conv2d', scheme: 'q8', trials: 2 }), [8, 16], engine);
    expect(rows.map((r) => r.config.height)).toEqual([8, 16]);
    const d = await depthSweep(small({ module: 'conv2d', scheme: 'q8', trials: 2, outChannels: 4 }), 3, true, engine);
    expect(d.layers.map((l) => l.layer)).toEqual([1, 2, 3]);
    const l = await depthSweep(small({ module: 'lstm', scheme: 'q16', trials: 2, hidden: 5 }), 2, true, engine);
    expect(l.relu).toBe(false);
    expect(linearFit([1, 2, 3, 4])).toEqual({ slope: 1, intercept: 0, r2: 1 });
  });
});
