/**
 * Reports of a run in four formats: an aligned terminal table, Markdown, CSV
 * (one row per trial) and JSON (the canonical document: config, adapter,
 * calibration, trials[], summary). Numbers are printed with four significant
 * digits, in exponent form below 1e-3, so that "0.0" never hides a small value.
 */
import { describeAdapter } from '../gpu/context.js';
import type { RunReport, TrialResult } from '../run/experiment.js';
import type { Stats } from './summary.js';

export type ReportFormat = 'table' | 'md' | 'json' | 'csv';
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'md', 'json', 'csv'];

/** Metric names in report order, with the label shown to people. */
export const METRIC_LABELS: Record<string, string> = {
  peir: 'PEIR',
  maxAbsError: 'max |err|',
  meanAbsError: 'mean |err|',
  mse: 'MSE',
  sqnrDb: 'SQNR dB',
  cosine: 'cosine',
  pesr: 'PESR (steps)',
  p999AbsError: 'p99.9 |err|',
  clipShare: 'clip share',
  clippedFraction: 'clipped fraction',
  interval: 'interval (max X - min X)',
};

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return Number(v.toPrecision(4)).toString();
  return v.toExponential(3);
}

export function adapterLine(a: RunReport['adapter']): string {
  return a.host === 'cpu-reference' ? a.description : describeAdapter(a);
}

/** The summary table's rows: [label, min, median, max, mean, std], formatted. */
export function metricRows(summary: Record<string, Stats>): string[][] {
  const keys = [...Object.keys(METRIC_LABELS).filter((k) => k in summary), ...Object.keys(summary).filter((k) => !(k in METRIC_LABELS) && k !== 'trial')];
  return keys.map((k) => {
    const s = summary[k];
    return [METRIC_LABELS[k] ?? k, formatNumber(s.min), formatNumber(s.median), formatNumber(s.max), formatNumber(s.mean), formatNumber(s.std)];
  });
}

export const SUMMARY_HEADER = ['metric', 'min', 'median', 'max', 'mean', 'std'];

export function worstTrial(trials: readonly TrialResult[]): TrialResult {
  return trials.reduce((a, b) => (b.peir > a.peir ? b : a));
}

/** One sentence on the worst trial's worst element and its cause. */
export function worstLine(r: RunReport): string {
  const t = worstTrial(r.trials);
  const w = t.worst;
  return (
    `worst trial ${t.trial}: PEIR ${formatNumber(t.peir)} at channel ${w.channel}, position [${w.position.join(', ')}], ` +
    `fp32 ${formatNumber(w.reference)} vs quantized ${formatNumber(w.approx)}: ${w.cause === 'clip' ? 'clipping (outside the calibrated range)' : 'rounding'}`
  );
}

function alignTable(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')).join('\n');
}

export function formatTable(r: RunReport): string {
  const lines = [
    `peir run: ${r.description}`,
    `adapter: ${adapterLine(r.adapter)}`,
    '',
    alignTable([SUMMARY_HEADER, ...metricRows(r.summary)]),
    '',
    worstLine(r),
    `time: calibration ${r.timing.calibrationSeconds.toFixed(2)} s, trials ${r.timing.trialSeconds.toFixed(2)} s` +
      (r.timing.resumedTrials ? ` (${r.timing.resumedTrials} trials resumed from the journal)` : ''),
  ];
  return `${lines.join('\n')}\n`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, j) => (j === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function formatMarkdown(r: RunReport): string {
  return [
    `## peir run`,
    '',
    `- layer and scheme: ${r.description}`,
    `- adapter: ${adapterLine(r.adapter)}`,
    '',
    markdownTable(SUMMARY_HEADER, metricRows(r.summary)),
    '',
    `${worstLine(r)}.`,
    '',
  ].join('\n');
}

function csvField(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(r: RunReport): string {
  const numeric = Object.keys(r.trials[0]).filter((k) => typeof (r.trials[0] as unknown as Record<string, unknown>)[k] === 'number');
  const header = [...numeric, 'worst_channel', 'worst_flat_index', 'worst_cause'];
  const rows = r.trials.map((t) => [
    ...numeric.map((k) => (t as unknown as Record<string, unknown>)[k]),
    t.worst.channel,
    t.worst.index,
    t.worst.cause,
  ]);
  return `${[header, ...rows].map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

export function formatJson(r: RunReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function formatReport(r: RunReport, format: ReportFormat): string {
  switch (format) {
    case 'table':
      return formatTable(r);
    case 'md':
      return formatMarkdown(r);
    case 'csv':
      return formatCsv(r);
    case 'json':
      return formatJson(r);
  }
}
