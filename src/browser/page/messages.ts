/**
 * Messages between the experiment page (index.ts) and its dedicated worker
 * (worker.ts). Structured-cloned; the error map's arrays are transferred.
 */
import type { AdapterReport } from '../../gpu/context.js';
import type { RunOptions } from '../../run/config.js';
import type { RunReport } from '../../run/experiment.js';
import type { LayerJson } from '../page-protocol.js';
import type { ErrorMap } from './runner.js';

export type ToWorker =
  | { type: 'probe' }
  | { type: 'run'; id: number; options: RunOptions; layer?: LayerJson }
  | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'probe'; hasNavigatorGpu: boolean; adapter: AdapterReport | null; problem: string | null }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'done'; id: number; report: RunReport; errorMap: ErrorMap }
  | { type: 'error'; id: number; name: string; message: string; cancelled: boolean };
