/**
 * Where the experiment page runs experiments: in its dedicated worker
 * (worker.ts) when that works, so that the page stays responsive whatever the
 * engine does; else on the page's own thread, yielding to the event loop
 * before every engine step. `chooseHost` prefers a worker with WebGPU, then
 * the main thread with WebGPU (a browser whose workers lack
 * `navigator.gpu`), then the worker on the CPU reference.
 */
import type { RunOptions } from '../../run/config.js';
import type { LayerJson, PageStatus } from '../page-protocol.js';
import type { FromWorker, ToWorker } from './messages.js';
import { probeGpu, runHere, type RunOutcome } from './runner.js';

/** A run that failed in the engine, or was cancelled (`cancelled`). */
export class PageRunError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly cancelled: boolean,
  ) {
    super(message);
  }
}

export interface RunHandle {
  result: Promise<RunOutcome>;
  cancel(): void;
}

export interface EngineHost {
  readonly status: PageStatus;
  run(options: RunOptions, layer: LayerJson | undefined, onProgress: (done: number, total: number) => void): RunHandle;
}

/** How long a cancelled worker may take to stop at the next trial boundary before it is terminated. */
const CANCEL_GRACE_MS = 3_000;
const PROBE_TIMEOUT_MS = 30_000;

class WorkerHost implements EngineHost {
  status: PageStatus = { thread: 'worker', adapter: null, gpuProblem: 'not probed yet' };
  private worker: Worker;
  private nextId = 1;

  constructor() {
    this.worker = WorkerHost.start();
  }

  private static start(): Worker {
    return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'peir engine' });
  }

  /** Ask the worker for its adapter; rejects if the worker cannot start or does not answer. */
  probe(): Promise<Extract<FromWorker, { type: 'probe' }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`the worker did not answer within ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS);
      const onMessage = (e: MessageEvent<FromWorker>) => {
        if (e.data.type === 'probe') done(undefined, e.data);
      };
      const onError = (e: ErrorEvent) => done(new Error(`the worker failed to start: ${e.message || 'unknown error'}`));
      const done = (err?: Error, reply?: Extract<FromWorker, { type: 'probe' }>) => {
        clearTimeout(timer);
        this.worker.removeEventListener('message', onMessage);
        this.worker.removeEventListener('error', onError);
        if (err) reject(err);
        else resolve(reply!);
      };
      this.worker.addEventListener('message', onMessage);
      this.worker.addEventListener('error', onError);
      this.post({ type: 'probe' });
    });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  run(options: RunOptions, layer: LayerJson | undefined, onProgress: (done: number, total: number) => void): RunHandle {
    const id = this.nextId++;
    const worker = this.worker;
    let settle!: { resolve: (o: RunOutcome) => void; reject: (e: Error) => void };
    let settled = false;
    let lastDone = 0;
    let total = 0;
    const result = new Promise<RunOutcome>((resolve, reject) => (settle = { resolve, reject }));
    const finish = (err?: Error, outcome?: RunOutcome) => {
      if (settled) return;
      settled = true;
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      if (err) settle.reject(err);
      else settle.resolve(outcome!);
    };
    const onMessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (!('id' in m) || m.id !== id) return;
      if (m.type === 'progress') {
        lastDone = m.done;
        total = m.total;
        onProgress(m.done, m.total);
      } else if (m.type === 'done') finish(undefined, { report: m.report, errorMap: m.errorMap });
      else if (m.type === 'error') finish(new PageRunError(m.name, m.message, m.cancelled));
    };
    const onError = (e: ErrorEvent) => finish(new PageRunError('Error', `the engine worker crashed: ${e.message || 'unknown error'}`, false));
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    this.post({ type: 'run', id, options, layer });
    return {
      result,
      cancel: () => {
        if (settled) return;
        this.post({ type: 'cancel', id });
        // A trial (or the calibration, which is not interruptible) may take long: stop the worker outright.
        setTimeout(() => {
          if (settled || this.worker !== worker) return;
          worker.terminate();
          this.worker = WorkerHost.start();
          const where = total ? `after ${lastDone} of ${total} trials` : 'during calibration';
          finish(new PageRunError('PeirError', `run cancelled ${where} (the engine worker was stopped)`, true));
        }, CANCEL_GRACE_MS);
      },
    };
  }
}

class MainThreadHost implements EngineHost {
  constructor(readonly status: PageStatus) {}

  run(options: RunOptions, layer: LayerJson | undefined, onProgress: (done: number, total: number) => void): RunHandle {
    const controller = new AbortController();
    const result = runHere(options, layer, { signal: controller.signal, onProgress, yieldBetweenSteps: true }).catch((e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new PageRunError(err.name, err.message, controller.signal.aborted);
    });
    return { result, cancel: () => controller.abort() };
  }
}

/** Pick the host (see the module comment) and say what it has. */
export async function chooseHost(): Promise<EngineHost> {
  try {
    const worker = new WorkerHost();
    const probe = await worker.probe();
    worker.status = { thread: 'worker', adapter: probe.adapter, gpuProblem: probe.problem };
    if (probe.adapter) return worker;
    if (!probe.hasNavigatorGpu && typeof navigator !== 'undefined' && navigator.gpu) {
      const main = await probeGpu();
      if (main.adapter) return new MainThreadHost({ thread: 'main', adapter: main.adapter, gpuProblem: null });
    }
    return worker;
  } catch {
    // No module workers here: run on the page's thread.
    const main = await probeGpu();
    return new MainThreadHost({ thread: 'main', adapter: main.adapter, gpuProblem: main.problem });
  }
}
