/**
 * The experiment page's figures: a histogram of PEIR over trials and a bar
 * chart of PEIR per output channel (plain SVG), and a heatmap of |X - X'|
 * (canvas). No plotting library: three small figures do not justify a
 * dependency in a bundle that must stay self-contained, and hand-built SVG
 * carries its styling as attributes, so an exported .svg looks exactly like
 * the page (no stylesheet to ship along).
 */
import { formatNumber } from '../../report/format.js';
import type { ErrorMap } from './runner.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const AXIS = '#444';
const BAR = '#3b6ea8';
const WORST = '#c0392b';

type Attrs = Record<string, string | number>;

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function label(x: number, y: number, text: string, anchor: 'start' | 'middle' | 'end' = 'middle', size = 11): SVGTextElement {
  return el('text', { x, y, 'text-anchor': anchor, 'font-size': size, 'font-family': FONT, fill: AXIS }, text);
}

/** An <svg> with a white background, its size in the viewBox (it scales with its container). */
function figure(width: number, height: number, title: string): SVGSVGElement {
  const svg = el('svg', { xmlns: SVG_NS, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title });
  svg.append(el('title', {}, title), el('rect', { x: 0, y: 0, width, height, fill: '#fff' }));
  return svg;
}

interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

function axes(svg: SVGSVGElement, f: Frame, yMax: string, xLabel: string, yLabel: string): void {
  const bottom = f.top + f.height;
  svg.append(
    el('line', { x1: f.left, y1: bottom, x2: f.left + f.width, y2: bottom, stroke: AXIS, 'stroke-width': 1 }),
    el('line', { x1: f.left, y1: f.top, x2: f.left, y2: bottom, stroke: AXIS, 'stroke-width': 1 }),
    label(f.left - 4, f.top + 4, yMax, 'end'),
    label(f.left - 4, bottom, '0', 'end'),
    label(f.left + f.width / 2, bottom + 34, xLabel),
  );
  const y = el('text', { x: 0, y: 0, 'text-anchor': 'middle', 'font-size': 11, 'font-family': FONT, fill: AXIS, transform: `translate(14 ${f.top + f.height / 2}) rotate(-90)` }, yLabel);
  svg.append(y);
}

/** Number of histogram bins for n values: ceil(sqrt(n)) (the square-root rule), 1 to 30. */
export function histogramBins(n: number): number {
  return Math.min(30, Math.max(1, Math.ceil(Math.sqrt(n))));
}

/** Histogram of `values` (e.g. PEIR of every trial): one `rect.bar` per bin, equal-width bins over [min, max]. */
export function histogramSvg(values: readonly number[], xLabel: string): SVGSVGElement {
  const width = 520;
  const height = 240;
  const f: Frame = { left: 48, top: 12, width: width - 64, height: height - 60 };
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const bins = hi > lo ? histogramBins(values.length) : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[hi > lo ? Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins)) : 0]++;
  const maxCount = Math.max(...counts);
  const svg = figure(width, height, `Histogram of ${xLabel} over ${values.length} trials`);
  svg.dataset.bins = String(bins);
  const bw = f.width / bins;
  counts.forEach((c, i) => {
    const h = (c / maxCount) * f.height;
    const a = lo + ((hi - lo) * i) / bins;
    const b = lo + ((hi - lo) * (i + 1)) / bins;
    const rect = el('rect', { class: 'bar', x: f.left + i * bw + 1, y: f.top + f.height - h, width: Math.max(bw - 2, 1), height: h, fill: BAR });
    rect.append(el('title', {}, hi > lo ? `${formatNumber(a)} to ${formatNumber(b)}: ${c} trial(s)` : `${formatNumber(lo)}: ${c} trial(s)`));
    svg.append(rect);
  });
  axes(svg, f, String(maxCount), xLabel, 'trials');
  const bottom = f.top + f.height + 14;
  svg.append(label(f.left, bottom, formatNumber(lo), 'start'), label(f.left + f.width, bottom, formatNumber(hi), 'end'));
  return svg;
}

/** One bar per channel (`rect.bar`), the one at `worst` drawn in red and named. */
export function channelBarsSvg(values: readonly number[], worst: number, xLabel: string, title: string): SVGSVGElement {
  const width = 520;
  const height = 240;
  const f: Frame = { left: 56, top: 22, width: width - 72, height: height - 70 };
  const max = Math.max(...values, Number.MIN_VALUE);
  const svg = figure(width, height, title);
  svg.dataset.channels = String(values.length);
  svg.dataset.worst = String(worst);
  const bw = f.width / values.length;
  const gap = bw > 4 ? 1 : 0;
  values.forEach((v, c) => {
    const h = (v / max) * f.height;
    const rect = el('rect', {
      class: c === worst ? 'bar worst' : 'bar',
      x: f.left + c * bw + gap,
      y: f.top + f.height - h,
      width: Math.max(bw - 2 * gap, 0.5),
      height: h,
      fill: c === worst ? WORST : BAR,
    });
    rect.append(el('title', {}, `${xLabel} ${c}: PEIR ${formatNumber(v)}`));
    svg.append(rect);
  });
  axes(svg, f, formatNumber(max), xLabel, 'PEIR');
  const step = Math.ceil(values.length / 16);
  for (let c = 0; c < values.length; c += step) svg.append(label(f.left + (c + 0.5) * bw, f.top + f.height + 14, String(c)));
  const wx = f.left + (worst + 0.5) * bw;
  svg.append(label(Math.min(Math.max(wx, f.left + 40), f.left + f.width - 40), f.top - 8, `worst: ${xLabel} ${worst} (${formatNumber(values[worst])})`, 'middle', 11));
  return svg;
}

/** Sequential scales from light to dark: rounding errors in blues, clipping errors in oranges. */
const ROUND_STOPS = ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'];
const CLIP_STOPS = ['#fdd0a2', '#fdae6b', '#fd8d3c', '#d94801', '#7f2704'];

function hexToRgb(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** Colour of t in [0, 1] on a scale of stops (linear in RGB between stops). */
export function colourAt(stops: readonly string[], t: number): [number, number, number] {
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const a = hexToRgb(stops[i]);
  const b = hexToRgb(stops[i + 1]);
  const u = x - i;
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
}

/** Longest side of the drawn map in pixels; larger maps are max-pooled to fit. */
const MAP_MAX_PX = 512;
const LEGEND_PX = 64;

/**
 * Draw |X - X'| on `canvas`: rounding errors on a blue scale normalised to
 * the largest rounding error, clipped elements on an orange scale normalised
 * to the largest clipping error (two scales, so that a few large clipping
 * errors do not wash out the rounding pattern), the worst element outlined
 * in black (LSTM: the worst hidden unit's column dashed), and a legend for both
 * scales underneath (so an exported PNG explains itself).
 */
export function drawHeatmap(canvas: HTMLCanvasElement, map: ErrorMap): void {
  const pool = Math.max(1, Math.ceil(Math.max(map.rows, map.cols) / MAP_MAX_PX));
  const rows = Math.ceil(map.rows / pool);
  const cols = Math.ceil(map.cols / pool);
  const cell = Math.max(1, Math.floor(MAP_MAX_PX / Math.max(rows, cols)));
  const mapW = cols * cell;
  const mapH = rows * cell;
  const width = Math.max(mapW, 420);
  canvas.width = width;
  canvas.height = mapH + LEGEND_PX;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);

  // Max-pool: each drawn cell shows its block's largest error, and whether that element was clipped.
  const err = new Float32Array(rows * cols);
  const clip = new Uint8Array(rows * cols);
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const i = r * map.cols + c;
      const j = Math.floor(r / pool) * cols + Math.floor(c / pool);
      if (map.absError[i] >= err[j]) {
        err[j] = map.absError[i];
        clip[j] = map.clipped[i];
      }
    }
  }
  let maxRound = 0;
  let maxClip = 0;
  for (let j = 0; j < err.length; j++) {
    if (clip[j]) maxClip = Math.max(maxClip, err[j]);
    else maxRound = Math.max(maxRound, err[j]);
  }
  const img = ctx.createImageData(mapW, mapH);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const j = r * cols + c;
      const rgb = clip[j] ? colourAt(CLIP_STOPS, maxClip > 0 ? err[j] / maxClip : 0) : colourAt(ROUND_STOPS, maxRound > 0 ? err[j] / maxRound : 0);
      for (let dy = 0; dy < cell; dy++) {
        for (let dx = 0; dx < cell; dx++) {
          const p = ((r * cell + dy) * mapW + c * cell + dx) * 4;
          img.data[p] = rgb[0];
          img.data[p + 1] = rgb[1];
          img.data[p + 2] = rgb[2];
          img.data[p + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);

  ctx.lineWidth = 2;
  if (map.layout === 'sequence') {
    ctx.strokeStyle = '#111';
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(Math.floor(map.channel / pool) * cell + 1, 1, Math.max(cell - 2, 1), mapH - 2);
    ctx.setLineDash([]);
  }
  // The worst element: a black square with a white inner line, visible on either scale.
  const s = Math.max(cell, 6);
  const wx = Math.floor(map.worstCol / pool) * cell + cell / 2 - s / 2;
  const wy = Math.floor(map.worstRow / pool) * cell + cell / 2 - s / 2;
  ctx.strokeStyle = '#000';
  ctx.strokeRect(wx - 1, wy - 1, s + 2, s + 2);
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 1;
  ctx.strokeRect(wx + 1.5, wy + 1.5, s - 3, s - 3);

  // Legend: one gradient bar per scale.
  const y0 = mapH + 14;
  const barW = 150;
  const legend = (x: number, stops: readonly string[], title: string, max: number | null) => {
    ctx.fillStyle = '#222';
    ctx.font = `12px ${FONT}`;
    ctx.textAlign = 'left';
    ctx.fillText(title, x, y0);
    if (max === null) {
      ctx.fillStyle = '#666';
      ctx.fillText('none', x, y0 + 22);
      return;
    }
    for (let i = 0; i < barW; i++) {
      const [r, g, b] = colourAt(stops, i / (barW - 1));
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(x + i, y0 + 6, 1, 14);
    }
    ctx.fillStyle = '#222';
    ctx.font = `11px ${FONT}`;
    ctx.fillText('0', x, y0 + 34);
    ctx.textAlign = 'right';
    ctx.fillText(formatNumber(max), x + barW, y0 + 34);
  };
  legend(4, ROUND_STOPS, 'rounding |X − X′|', maxRound > 0 ? maxRound : 0);
  legend(4 + barW + 40, CLIP_STOPS, 'clipped |X − X′|', maxClip > 0 ? maxClip : null);
  canvas.dataset.pool = String(pool);
  canvas.dataset.clipped = String(map.clipped.reduce((a, b) => a + b, 0));
}

/** The SVG as a standalone document. */
export function svgToString(svg: SVGSVGElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}\n`;
}
