/**
 * The suite's report as Markdown (host-agnostic): one table of every case and
 * implementation with ratio columns, then the targets with met / not met.
 */
import { timeRatio, type CaseResult, type ImplResult, type SuiteReport } from './suite.js';

function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function ratioCell(a: ImplResult, b: ImplResult | undefined): string {
  if (!b || a === b) return '';
  const { ratio, clock } = timeRatio(a, b);
  return `${ratio.toFixed(3)}${clock === 'wall' && (a.clock !== 'wall' || b.clock !== 'wall') ? ' (wall)' : ''}`;
}

function caseRows(c: CaseResult, peerName: string): string[] {
  const peer = c.results.find((r) => r.impl === peerName);
  const fp32 = c.results.find((r) => r.impl === 'peir fp32');
  return c.results.map((r) => {
    const scale = r.scale ? `measured at ${r.scale.measuredAt}, scaled x${r.scale.factor}` : '';
    const note = [scale, r.note ?? ''].filter(Boolean).join('; ');
    const isOurs = r.impl.startsWith('peir');
    return [
      c.id,
      r.impl,
      r.clock === 'gpu-timestamp' ? 'gpu' : 'wall',
      ms(r.minMs),
      ms(r.medianMs),
      String(r.stats.reps),
      r.gops !== undefined ? r.gops.toFixed(2) : '',
      r.gbps !== undefined ? r.gbps.toFixed(2) : '',
      r.stats.cpuMs ? ms(r.stats.cpuMs.min * (r.scale?.factor ?? 1)) : '',
      isOurs ? ratioCell(r, peer) : '',
      isOurs && r !== fp32 ? ratioCell(r, fp32) : '',
      note,
    ].join(' | ');
  });
}

export function markdownReport(r: SuiteReport, extra: { commit?: string } = {}): string {
  const peerName = 'tfjs-webgpu';
  const lines: string[] = [];
  lines.push(`# peir benchmark`);
  lines.push('');
  lines.push(`- date: ${r.date}${extra.commit ? `, commit ${extra.commit}` : ''}`);
  lines.push(`- adapter: ${r.adapterLine}${r.adapter.driver ? ` (${r.adapter.driver})` : ''}; timestamp-query ${r.adapter.timestampQuery ? 'yes' : 'no'}, packed 4x8 dot product ${r.adapter.packed4x8IntegerDotProduct ? 'yes' : 'no'}`);
  lines.push(`- clocks: ${r.clocks}`);
  lines.push(`- options: size ${r.options.size}, budget ${r.options.budgetMs} ms per implementation and case${r.options.quick ? ', quick' : ''}; min and median over the repetitions after one warm-up; implementations of a case run interleaved`);
  if (r.machine) lines.push(`- machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push('');
  lines.push('GOP/s counts 2 operations per multiply-add; GB/s counts every operand read and the output written once. ' +
    `"ours/tfjs" and "ours/fp32" are time ratios (below 1: ours is faster; 0.08 = 12.5x faster), on the GPU clock when both sides have it.`);
  lines.push('');
  lines.push('| case | implementation | clock | min ms | median ms | reps | GOP/s | GB/s | CPU ms | ours/tfjs | ours/fp32 | note |');
  lines.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const c of r.cases) for (const row of caseRows(c, peerName)) lines.push(`| ${row} |`);
  lines.push('');
  const notes = r.cases.flatMap((c) => [`- **${c.id}**: ${c.title}`, ...c.notes.map((n) => `  - ${n}`)]);
  lines.push('Cases:');
  lines.push('');
  lines.push(...notes);
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push('| target | measured | met | how |');
  lines.push('|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET'} | ${t.detail} |`);
  lines.push('');
  return lines.join('\n');
}
