/** Reports of `peir sweep size` and `peir sweep depth`: Markdown / aligned tables, or JSON. */
import type { DepthSweepResult, SizeSweepRow } from '../run/sweep.js';
import { describeConfig } from '../run/config.js';
import { formatNumber, markdownTable } from './format.js';

function table(header: string[], rows: string[][], md: boolean): string {
  if (md) return markdownTable(header, rows);
  const all = [header, ...rows];
  const widths = header.map((_, j) => Math.max(...all.map((r) => r[j].length)));
  return all.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')).join('\n');
}

export function formatSizeSweep(rows: SizeSweepRow[], format: 'table' | 'md' | 'json'): string {
  if (format === 'json') return `${JSON.stringify({ tool: 'peir', command: 'sweep size', rows }, null, 2)}\n`;
  const head = `PEIR against input size: ${describeConfig(rows[0].config).replace(/ \d+x\d+/, '')}`;
  const body = table(
    ['size', 'PEIR min', 'median', 'max', 'mean', 'SQNR dB median'],
    rows.map((r) => [String(r.size), formatNumber(r.peir.min), formatNumber(r.peir.median), formatNumber(r.peir.max), formatNumber(r.peir.mean), formatNumber(r.sqnrDb.median)]),
    format === 'md',
  );
  return `${head}\n\n${body}\n`;
}

export function formatDepthSweep(r: DepthSweepResult, format: 'table' | 'md' | 'json'): string {
  if (format === 'json') return `${JSON.stringify({ tool: 'peir', command: 'sweep depth', ...r }, null, 2)}\n`;
  const verdict =
    r.fit.r2 >= 0.9 && r.fit.slope > 0
      ? `median PEIR grows roughly linearly with depth (R^2 = ${r.fit.r2.toFixed(3)}), as the study claims`
      : `median PEIR does not grow linearly with depth here (slope ${formatNumber(r.fit.slope)} per layer, R^2 = ${r.fit.r2.toFixed(3)})`;
  const body = table(
    ['after layer', 'PEIR min', 'median', 'max', 'mean'],
    r.layers.map((l) => [String(l.layer), formatNumber(l.peir.min), formatNumber(l.peir.median), formatNumber(l.peir.max), formatNumber(l.peir.mean)]),
    format === 'md',
  );
  return (
    `PEIR against depth: ${r.depth} stacked layers${r.relu ? ' with ReLU between them' : ''}; ${describeConfig(r.config)}\n\n${body}\n\n` +
    `linear fit of the median: ${formatNumber(r.fit.slope)} per layer + ${formatNumber(r.fit.intercept)}; ` +
    `layer ${r.depth} / layer 1 = ${r.growth.toFixed(2)}x; ${verdict}.\n`
  );
}
