/**
 * What Node (`peir browser run`, tests) and the experiment page
 * (src/browser/page/index.ts, dist/browser/index.html) exchange: the page puts
 * `window.peir` up once it knows which engine it has, and `run(options)`
 * resolves with the same RunReport `peir run --format json` writes. Plain
 * JSON only; no GPU, DOM or Node imports, so both sides load this module.
 */
import type { AdapterReport } from '../gpu/context.js';
import type { Conv2dOptions } from '../layers/conv-geometry.js';
import type { RunOptions } from '../run/config.js';
import type { Layer } from '../run/engine.js';
import type { RunReport } from '../run/experiment.js';
import { fromJson, toJson, type TensorJson } from './harness-protocol.js';

/** Where the page runs experiments, and on what. */
export interface PageStatus {
  /** 'worker': a dedicated worker (the page stays responsive); 'main': the page's own thread, yielding between steps. */
  thread: 'worker' | 'main';
  /** The WebGPU adapter of that thread, or null when there is none. */
  adapter: AdapterReport | null;
  /** Why there is no WebGPU (null when there is). */
  gpuProblem: string | null;
}

/** A layer as JSON (weights loaded by Node with `--weights` travel this way). */
export type LayerJson =
  | { kind: 'conv2d' | 'depthwise'; weight: TensorJson; bias?: TensorJson; opts: Conv2dOptions }
  | { kind: 'lstm'; weightIh: TensorJson; weightHh: TensorJson; biasIh?: TensorJson; biasHh?: TensorJson };

/** What the experiment page puts on `window`. */
export interface PeirPage {
  status: PageStatus;
  /** Run one experiment (options as `peir run` takes them) and resolve with its report. The page shows it too. */
  run(options: RunOptions, layer?: LayerJson): Promise<RunReport>;
  /** Cancel the run in progress (it rejects, saying after how many trials). */
  cancel(): void;
}

/** Fired on `window` after each trial of a run: `detail` is {done, total}. */
export const PROGRESS_EVENT = 'peir:progress';

declare global {
  interface Window {
    peir?: PeirPage;
    /** Set by `peir browser run` (puppeteer's exposeFunction) to receive progress in Node. */
    peirNodeProgress?: (done: number, total: number) => void;
  }
}

export function layerToJson(l: Layer): LayerJson {
  if (l.kind === 'lstm') {
    return {
      kind: 'lstm',
      weightIh: toJson(l.weightIh),
      weightHh: toJson(l.weightHh),
      ...(l.biasIh ? { biasIh: toJson(l.biasIh) } : {}),
      ...(l.biasHh ? { biasHh: toJson(l.biasHh) } : {}),
    };
  }
  return { kind: l.kind, weight: toJson(l.weight), ...(l.bias ? { bias: toJson(l.bias) } : {}), opts: l.opts };
}

export function layerFromJson(j: LayerJson): Layer {
  if (j.kind === 'lstm') {
    return {
      kind: 'lstm',
      weightIh: fromJson(j.weightIh, 'layer.weightIh'),
      weightHh: fromJson(j.weightHh, 'layer.weightHh'),
      biasIh: j.biasIh && fromJson(j.biasIh, 'layer.biasIh'),
      biasHh: j.biasHh && fromJson(j.biasHh, 'layer.biasHh'),
    };
  }
  return { kind: j.kind, weight: fromJson(j.weight, 'layer.weight'), bias: j.bias && fromJson(j.bias, 'layer.bias'), opts: j.opts };
}
