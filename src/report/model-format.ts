/**
 * Reports of `peir model` in four formats: an aligned terminal table and
 * Markdown (one row per layer, worst first, then the verdict, the skipped
 * nodes and the notes), CSV (one row per layer, every summary statistic) and
 * JSON (the canonical document: model, settings, adapter, layers[] with
 * their run summaries, skipped[] with reasons, verdict).
 */
import type { LayerResult, ModelReport } from '../model/run-model.js';
import { adapterLine, formatNumber, markdownTable, type ReportFormat } from './format.js';

function shape(s: readonly number[]): string {
  return s.join('x');
}

/** Kernel, strides, pads, dilations (conv) or steps, sizes, direction (LSTM), compactly. */
export function geometryText(l: LayerResult): string {
  const g = l.geometry;
  if ('hidden' in g) return `T=${g.steps} I=${g.inputSize} H=${g.hidden}${g.direction === 'reverse' ? ' reverse' : ''}`;
  const parts = [`k${g.kernel.join('x')}`, `s${g.strides.join('x')}`, `p${g.pads.join(',')}`, `d${g.dilations.join('x')}`];
  if (g.group > 1) parts.push(`g${g.group}`);
  return parts.join(' ');
}

function median(l: LayerResult, key: string): string {
  const s = l.summary[key];
  return s ? formatNumber(s.median) : '-';
}

/** Median share of the absolute error carried by clipped elements, and the rest (rounding). */
function clipText(l: LayerResult): string {
  const s = l.summary.clipShare;
  if (!s) return '-';
  const clip = Math.round(100 * s.median);
  return `${clip}% / ${100 - clip}%`;
}

const HEADER = ['#', 'layer', 'op', 'kind', 'input', 'weight', 'geometry', 'PEIR min', 'median', 'max', 'mean', 'SQNR dB', 'cosine', 'worst ch (PEIR)', 'error clip / round'];
/** Columns before this index are text (left-aligned in the terminal table). */
const TEXT_COLUMNS = 7;

function rows(r: ModelReport): string[][] {
  return r.layers.map((l, i) => {
    const p = l.summary.peir;
    return [
      String(i + 1),
      l.name,
      l.op,
      l.kind,
      shape(l.inputShape),
      shape(l.weightShape),
      geometryText(l),
      formatNumber(p.min),
      formatNumber(p.median),
      formatNumber(p.max),
      formatNumber(p.mean),
      median(l, 'sqnrDb'),
      median(l, 'cosine'),
      `${l.worstChannel.channel} (${formatNumber(l.worstChannel.medianPeir)})`,
      clipText(l),
    ];
  });
}

function settingsLine(r: ModelReport): string {
  const s = r.settings;
  return (
    `${s.scheme} ${s.scaleType} per-${s.granularity} ${s.rounding} ${s.mode}; ${s.trials} trials, ${s.calib} calibration inputs (${s.observer}); ` +
    `inputs: ${s.inputs === 'synthetic' ? `synthetic ${s.dist}` : s.inputs}; seed ${s.seed}`
  );
}

function modelLine(r: ModelReport): string {
  const m = r.model;
  const inputs = m.inputs.map((i) => `${i.name} [${i.shape === null ? '?' : i.shape.map((d) => d ?? '?').join(', ')}]${i.source === 'given' ? ' (given)' : ''}`).join(', ');
  return `${m.file} (IR ${m.irVersion}${m.producer ? `, ${m.producer}` : ''}): ${m.found.Conv} Conv and ${m.found.LSTM} LSTM nodes; inputs ${inputs || 'none'}`;
}

function align(table: string[][]): string {
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  return table.map((row) => row.map((c, j) => (j < TEXT_COLUMNS ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ').trimEnd()).join('\n');
}

function tail(r: ModelReport, bullet: string): string[] {
  const out: string[] = [];
  if (r.skipped.length) {
    out.push('', `skipped (${r.skipped.length}):`);
    for (const s of r.skipped) out.push(`${bullet}${s.op} ${s.id}: ${s.reason}`);
  }
  // A note shared by many layers (every 1-D conv, say) is printed once, with the layers it applies to.
  const byNote = new Map<string, string[]>();
  for (const l of r.layers) for (const n of l.notes) byNote.set(n, [...(byNote.get(n) ?? []), l.name]);
  const notes = [
    ...r.model.notes,
    ...[...byNote].map(([n, names]) => (names.length === r.layers.length && names.length > 1 ? `every layer: ${n}` : names.length > 3 ? `${names.length} layers: ${n}` : `${names.join(', ')}: ${n}`)),
  ];
  if (notes.length) {
    out.push('', 'notes:');
    for (const n of notes) out.push(`${bullet}${n}`);
  }
  return out;
}

export function formatModelTable(r: ModelReport): string {
  const lines = [
    `peir model: ${modelLine(r)}`,
    `scheme: ${settingsLine(r)}`,
    `adapter: ${adapterLine(r.adapter)}`,
    '',
    r.layers.length ? align([HEADER, ...rows(r)]) : '(no layer measured)',
    '',
    `verdict: ${r.verdict.text}`,
    ...tail(r, '  '),
    '',
    `time: ${r.timing.seconds.toFixed(2)} s`,
  ];
  return `${lines.join('\n')}\n`;
}

export function formatModelMarkdown(r: ModelReport): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '## peir model',
    '',
    `- model: ${esc(modelLine(r))}`,
    `- scheme: ${settingsLine(r)}`,
    `- adapter: ${adapterLine(r.adapter)}`,
    '',
    r.layers.length ? markdownTable(HEADER, rows(r).map((row) => row.map(esc))) : '(no layer measured)',
    '',
    `**Verdict:** ${esc(r.verdict.text)}.`,
    ...tail(r, '- ').map(esc),
    '',
  ].join('\n');
}

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per layer: identity, shapes, geometry and every statistic of every summarised metric. */
export function formatModelCsv(r: ModelReport): string {
  const metrics = [...new Set(r.layers.flatMap((l) => Object.keys(l.summary)))].filter((k) => k !== 'trial');
  const stats = ['min', 'median', 'max', 'mean', 'std'] as const;
  const header = [
    'rank', 'id', 'name', 'op', 'kind', 'variant', 'graph', 'input_name', 'input_shape', 'weight_shape', 'geometry', 'inputs',
    'worst_channel', 'worst_channel_median_peir', 'worst_trial', 'worst_cause',
    ...metrics.flatMap((m) => stats.map((s) => `${m}_${s}`)),
  ];
  const body = r.layers.map((l, i) => [
    i + 1, l.id, l.name, l.op, l.kind, l.variant ?? '', l.graph, l.inputName, shape(l.inputShape), shape(l.weightShape), geometryText(l), l.inputs,
    l.worstChannel.channel, l.worstChannel.medianPeir, l.worst.trial, l.worst.cause ?? '',
    ...metrics.flatMap((m) => stats.map((s) => (l.summary[m] ? l.summary[m][s] : ''))),
  ]);
  return `${[header, ...body].map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

export function formatModelJson(r: ModelReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function formatModelReport(r: ModelReport, format: ReportFormat): string {
  switch (format) {
    case 'table':
      return formatModelTable(r);
    case 'md':
      return formatModelMarkdown(r);
    case 'csv':
      return formatModelCsv(r);
    case 'json':
      return formatModelJson(r);
  }
}
