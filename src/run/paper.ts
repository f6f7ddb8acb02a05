/**
 * `peir paper`: the study's Tables 1-3 (conv2d, LSTM, depthwise; Q8 at
 * 224x224, Q16 at 512x512; 100 trials per row), our rows next to the
 * published ones. The study does not say what tells its two rows per data
 * type apart; we label ours explicitly and let the user choose the contrast
 * (`rows`): granularity (per channel vs per tensor, default), scale type
 * (the study's scale vs the other), or input distribution (normal vs
 * heavy-tailed Student-t).
 */
import { resolveConfig, type ModuleKind, type RunConfig, type RunOptions } from './config.js';
import type { Engine } from './engine.js';
import { runExperiment, type RunReport, type TrialStore } from './experiment.js';
import type { Stats } from '../report/summary.js';

export type RowContrast = 'granularity' | 'scale' | 'dist';
export const ROW_CONTRASTS: readonly RowContrast[] = ['granularity', 'scale', 'dist'];

export interface PublishedRow {
  min: number;
  median: number;
  max: number;
  mean: number;
}

/** The published tables (paper.md), in table order: two Q8 rows, then two Q16 rows. */
export const PUBLISHED: Record<ModuleKind, { table: number; title: string; rows: PublishedRow[] }> = {
  conv2d: {
    table: 1,
    title: '2-D convolution',
    rows: [
      { min: 0.0029, median: 0.0049, max: 0.1685, mean: 0.01344 },
      { min: 0.0047, median: 0.0053, max: 0.0817, mean: 0.086 },
      { min: 0.0, median: 0.0, max: 0.1187, mean: 0.0028 },
      { min: 0.0, median: 0.0, max: 0.019, mean: 0.0009 },
    ],
  },
  lstm: {
    table: 2,
    title: 'LSTM block',
    rows: [
      { min: 0.0065, median: 0.0162, max: 0.0444, mean: 0.00181 },
      { min: 0.0616, median: 0.0795, max: 0.1035, mean: 0.0797 },
      { min: 0.0, median: 0.0001, max: 0.055, mean: 0.0027 },
      { min: 0.0003, median: 0.0003, max: 0.0015, mean: 0.0003 },
    ],
  },
  depthwise: {
    table: 3,
    title: '2-D depthwise convolution',
    rows: [
      { min: 0.0002, median: 0.0031, max: 0.2236, mean: 0.0194 },
      { min: 0.0002, median: 0.0039, max: 0.004, mean: 0.003 },
      { min: 0.0, median: 0.0, max: 0.0957, mean: 0.0035 },
      { min: 0.0, median: 0.0, max: 0.0, mean: 0.0 },
    ],
  },
};

/** Published rows whose mean lies outside [min, max]: a typo in the study, flagged in our report. */
export function inconsistentPublished(r: PublishedRow): boolean {
  return r.mean < r.min || r.mean > r.max;
}

export interface PaperOptions {
  trials: number;
  seed: number;
  rows: RowContrast;
  /** Tables to run, in the study's order by default. */
  modules: ModuleKind[];
  backend: 'gpu' | 'cpu';
  /** Override the study's sizes (224 for q8, 512 for q16), e.g. for a quick check. */
  sizeQ8?: number;
  sizeQ16?: number;
  calib?: number;
  /** Extra options applied to every row (channels, hidden size, observer, ...). */
  base?: Partial<RunOptions>;
}

export interface PaperRow {
  module: ModuleKind;
  table: number;
  /** What produced this row, e.g. "Q8 linear, per channel, normal inputs". */
  label: string;
  config: RunConfig;
  published: PublishedRow;
  publishedInconsistent: boolean;
  peir: Stats;
  /** Fraction of trials whose worst element was clipped (outside the calibrated range): reads the max column. */
  worstFromClipping: number;
  sqnrMedianDb: number;
}

export interface PaperReport {
  tool: 'peir';
  command: 'paper';
  options: PaperOptions;
  adapter: RunReport['adapter'];
  rows: PaperRow[];
}

function rowVariants(rows: RowContrast, scheme: 'q8' | 'q16'): { label: string; opts: Partial<RunOptions> }[] {
  const study = scheme === 'q8' ? 'linear' : 'pow2';
  const other = scheme === 'q8' ? 'pow2' : 'linear';
  switch (rows) {
    case 'granularity':
      return [
        { label: `${study}, per channel`, opts: { granularity: 'channel', scaleType: study } },
        { label: `${study}, per tensor`, opts: { granularity: 'tensor', scaleType: study } },
      ];
    case 'scale':
      return [
        { label: `${study}, per channel`, opts: { granularity: 'channel', scaleType: study } },
        { label: `${other}, per channel`, opts: { granularity: 'channel', scaleType: other } },
      ];
    case 'dist':
      return [
        { label: `${study}, per channel, normal inputs`, opts: { dist: 'normal', calibDist: 'normal' } },
        { label: `${study}, per channel, Student-t inputs`, opts: { dist: 'student-t', calibDist: 'student-t' } },
      ];
  }
}

/** Every row's configuration, in report order. */
export function paperConfigs(o: PaperOptions): { module: ModuleKind; label: string; config: RunConfig; published: PublishedRow }[] {
  const out: { module: ModuleKind; label: string; config: RunConfig; published: PublishedRow }[] = [];
  for (const module of o.modules) {
    let i = 0;
    for (const scheme of ['q8', 'q16'] as const) {
      for (const v of rowVariants(o.rows, scheme)) {
        const size = scheme === 'q8' ? (o.sizeQ8 ?? 224) : (o.sizeQ16 ?? 512);
        const config = resolveConfig({
          ...o.base,
          ...v.opts,
          module,
          scheme,
          size,
          trials: o.trials,
          seed: o.seed,
          calib: o.calib ?? o.base?.calib,
          backend: o.backend,
        });
        const label = `${scheme.toUpperCase()} ${v.label}${o.rows === 'dist' ? '' : `, ${config.dist} inputs`}`;
        out.push({ module, label, config, published: PUBLISHED[module].rows[i++] });
      }
    }
  }
  return out;
}

export interface PaperHooks {
  /** A journal per row (resumable), keyed by the row's config. */
  storeFor?: (cfg: RunConfig) => TrialStore | undefined;
  onProgress?: (rowIndex: number, rows: number, done: number, total: number) => void;
}

/** Run every row on one engine. */
export async function runPaper(o: PaperOptions, engine: Engine, hooks: PaperHooks = {}): Promise<PaperReport> {
  const rows: PaperRow[] = [];
  const plan = paperConfigs(o);
  for (const [i, r] of plan.entries()) {
    const report = await runExperiment(r.config, engine, {
      store: hooks.storeFor?.(r.config),
      onProgress: (done, total) => hooks.onProgress?.(i, plan.length, done, total),
    });
    const clipped = report.trials.filter((t) => t.worst.cause === 'clip').length;
    rows.push({
      module: r.module,
      table: PUBLISHED[r.module].table,
      label: r.label,
      config: r.config,
      published: r.published,
      publishedInconsistent: inconsistentPublished(r.published),
      peir: report.summary.peir,
      worstFromClipping: clipped / report.trials.length,
      sqnrMedianDb: report.summary.sqnrDb.median,
    });
  }
  return { tool: 'peir', command: 'paper', options: o, adapter: engine.report, rows };
}
