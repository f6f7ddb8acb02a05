/**
 * What Node (bench/main.ts --browser) and the bench page
 * (src/browser/page/bench.ts) exchange: plain JSON options in, the suite's
 * report out. No GPU or Node imports.
 */
import type { SuiteReport } from './suite.js';

export interface BrowserBenchOptions {
  size: number;
  cases?: string[];
  budgetMs: number;
  quick: boolean;
  /** Run tfjs-webgpu beside peir. */
  peers: boolean;
  studyTrials?: number;
}

declare global {
  interface Window {
    peirBench?: { run(o: BrowserBenchOptions): Promise<SuiteReport> };
  }
}
