/**
 * The `peir paper` report: per table, our rows beside the published ones,
 * each row labelled with what produced it, and notes that relate the two sets
 * of numbers, computed from the numbers themselves.
 */
import type { PaperReport, PaperRow } from '../run/paper.js';
import { PUBLISHED } from '../run/paper.js';
import { adapterLine, formatNumber, markdownTable } from './format.js';

/** Half a step of a 255-level range: the Q8 rounding floor of PEIR (numerics.md). */
export const Q8_HALF_STEP_FLOOR = 0.5 / 255;
/** The published tables round to 4 decimals: "0.0" means below this. */
export const PUBLISHED_RESOLUTION = 0.00005;

function size(r: PaperRow): string {
  const c = r.config;
  return c.module === 'lstm' ? `${c.height}x${c.width} (T x I), H ${c.hidden}` : `${c.height}x${c.width}, ${c.inChannels}->${c.outChannels}`;
}

function rowNotes(r: PaperRow): string[] {
  const notes: string[] = [];
  const p = r.published;
  const ours = r.peir;
  if (r.publishedInconsistent) notes.push(`the published mean (${p.mean}) lies outside its own [min, max]; a typo in the study`);
  if (r.config.scheme === 'q8') {
    notes.push(
      `median ${formatNumber(ours.median)} vs published ${p.median}: ${(ours.median / Q8_HALF_STEP_FLOOR).toFixed(1)}x the half-step rounding floor 0.5/255`,
    );
  } else if (p.median === 0) {
    notes.push(`published median "0.0" means below ${PUBLISHED_RESOLUTION}; ours is ${formatNumber(ours.median)}${ours.median < PUBLISHED_RESOLUTION ? ', which would also print as 0.0' : ''}`);
  } else {
    notes.push(`median ${formatNumber(ours.median)} vs published ${p.median}`);
  }
  if (p.max > 10 * p.median && p.max > 0.01) {
    notes.push(
      `the published max (${p.max}) is far above its median: clipping of test inputs outside the calibrated range; ` +
        `in ${formatNumber(r.worstFromClipping * 100)} % of our trials the worst element was clipped (${r.config.calib} ${r.config.calibDist} calibration inputs)`,
    );
  }
  return notes;
}

export function formatPaperMarkdown(rep: PaperReport): string {
  const out: string[] = [
    '# PEIR: the study\'s Tables 1-3, reproduced',
    '',
    `Adapter: ${adapterLine(rep.adapter)}. ${rep.options.trials} trials per row, seed ${rep.options.seed}; ` +
      `rows contrasted by ${rep.options.rows}. Our numbers first, the published ones (pub.) after them.`,
    '',
    'How to read them: PEIR = max|X - X\'| / (max X - min X). For Q8, rounding alone puts PEIR near half a step ' +
      `(0.5/255 = ${Q8_HALF_STEP_FLOOR.toFixed(5)}) and error carried through the quantized input and weights adds about as much again, ` +
      'so medians of 0.003-0.01 are what a correct uint8 kernel gives. For Q16 (dynamic fixed point) the same floor is ' +
      '2^-16 to 2^-15 of the range, which the study\'s 4-decimal tables print as 0.0. Maxima far above the median come from ' +
      'clipping: test values outside the range seen in calibration; the study does not give its calibration set or input ' +
      'distribution, so its max column cannot be matched exactly; ours says how much of the worst error is clipping.',
    '',
  ];
  for (const module of rep.options.modules) {
    const rows = rep.rows.filter((r) => r.module === module);
    if (rows.length === 0) continue;
    const t = PUBLISHED[module];
    out.push(`## Table ${t.table}: ${t.title}`, '');
    out.push(
      markdownTable(
        ['row (what produced it)', 'input', 'min', 'median', 'max', 'mean', 'pub. min', 'pub. median', 'pub. max', 'pub. mean'],
        rows.map((r) => [
          r.label, size(r),
          formatNumber(r.peir.min), formatNumber(r.peir.median), formatNumber(r.peir.max), formatNumber(r.peir.mean),
          String(r.published.min), String(r.published.median), String(r.published.max), String(r.published.mean) + (r.publishedInconsistent ? ' (!)' : ''),
        ]),
      ),
      '',
    );
    for (const r of rows) out.push(`- ${r.label}: ${rowNotes(r).join('; ')}.`);
    for (const scheme of ['q8', 'q16']) {
      const pair = rows.filter((r) => r.config.scheme === scheme);
      if (pair.length === 2 && JSON.stringify(pair[0].peir) === JSON.stringify(pair[1].peir)) {
        out.push(
          `- The two ${scheme.toUpperCase()} rows are identical, trial for trial: ` +
            (pair[0].config.scaleType === 'pow2' && pair[1].config.scaleType === 'pow2'
              ? 'with power-of-two scales every channel\'s range falls in the same power of two as the whole tensor\'s, so per-channel and per-tensor parameters coincide.'
              : 'the two configurations give the same quantization parameters.'),
        );
      }
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

export function formatPaperJson(rep: PaperReport): string {
  return `${JSON.stringify(rep, null, 2)}\n`;
}
