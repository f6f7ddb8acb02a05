/**
 * The experiment page's dedicated worker (dist/browser/worker.js): runs
 * experiments off the page's thread, on the worker's own WebGPU
 * (`navigator.gpu` exists in workers in Chromium) or on the CPU reference.
 * One run at a time; `cancel` aborts between trials.
 */
import type { FromWorker, ToWorker } from './messages.js';
import { probeGpu, runHere } from './runner.js';

/** The part of DedicatedWorkerGlobalScope used here (tsconfig's lib is DOM, not WebWorker). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  navigator: { gpu?: GPU };
}

const scope = self as unknown as WorkerScope;
let running: { id: number; controller: AbortController } | undefined;

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'probe': {
      const hasNavigatorGpu = scope.navigator.gpu !== undefined;
      scope.postMessage({ type: 'probe', hasNavigatorGpu, ...(await probeGpu()) });
      return;
    }
    case 'cancel':
      if (running?.id === m.id) running.controller.abort();
      return;
    case 'run': {
      const controller = new AbortController();
      running = { id: m.id, controller };
      try {
        const { report, errorMap } = await runHere(m.options, m.layer, {
          signal: controller.signal,
          onProgress: (done, total) => scope.postMessage({ type: 'progress', id: m.id, done, total }),
        });
        scope.postMessage({ type: 'done', id: m.id, report, errorMap }, [errorMap.absError.buffer, errorMap.clipped.buffer]);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        scope.postMessage({ type: 'error', id: m.id, name: err.name, message: err.message, cancelled: controller.signal.aborted });
      } finally {
        if (running?.id === m.id) running = undefined;
      }
    }
  }
}

scope.onmessage = (e) => void handle(e.data);
