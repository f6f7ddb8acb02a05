/**
 * What Node and the test-harness page (src/browser/page/harness.ts) exchange:
 * plain JSON. Tensors travel as `{shape, data: number[]}`; every f32 is exactly
 * a double, so the round trip through JSON loses nothing. No GPU or Node
 * imports here: both sides load this module.
 */
import type { AdapterReport } from '../gpu/context.js';
import { f32, type Tensor } from '../tensor.js';

export interface TensorJson {
  shape: number[];
  data: number[];
}

/** One kernel invocation. `kernel` names an entry of the page's kernel table. */
export interface KernelCase {
  kernel: string;
  input: TensorJson;
  weight: TensorJson;
  bias?: TensorJson;
  /** Further operands for kernels that take more than input / weight / bias (e.g. recurrent weights, initial state). */
  extra?: Record<string, TensorJson>;
  /** The kernel's options object (e.g. `Conv2dOptions`), as JSON. */
  opts?: Record<string, unknown>;
}

/** A kernel's main output; kernels with more (LSTM's final h and c) add them by name in `extra`. */
export interface KernelResult extends TensorJson {
  extra?: Record<string, TensorJson>;
}

export interface HarnessRun {
  adapter: AdapterReport;
  results: KernelResult[];
}

/** What the harness page puts on `window`. */
export interface PeirHarness {
  /** Names of the kernels the page can run. */
  kernels: string[];
  run(cases: KernelCase[]): Promise<HarnessRun>;
}

declare global {
  interface Window {
    peirHarness?: PeirHarness;
  }
}

export function toJson(t: Tensor): TensorJson {
  return { shape: [...t.shape], data: Array.from(t.data) };
}

export function fromJson(j: TensorJson, what: string): Tensor {
  if (!j || !Array.isArray(j.shape) || !Array.isArray(j.data)) {
    throw new TypeError(`${what} must be {shape: number[], data: number[]}, got ${JSON.stringify(j)?.slice(0, 80)}`);
  }
  return f32(j.shape, j.data);
}
