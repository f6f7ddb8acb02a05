/**
 * The GPU engine against the CPU engine on the same experiment: integer
 * outputs are bit-exact and fp32 references agree within the dot-product
 * bound, so max-based metrics agree to within that bound relative to the
 * output interval; the metrics pass and the CPU loops give identical
 * max-based metrics on the same tensors.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/run/config.js';
import { CpuEngine, GpuEngine } from '../src/run/engine.js';
import { runExperiment } from '../src/run/experiment.js';
import { useGpu } from './helpers.js';

describe('GpuEngine vs CpuEngine', () => {
  const gpu = useGpu();
  for (const module of ['conv2d', 'depthwise', 'lstm'] as const) {
    it(`seed 1: ${module} q8 and q16 on both engines`, async () => {
      for (const scheme of ['q8', 'q16'] as const) {
        const cfg = resolveConfig({ module, scheme, size: 16, hidden: 8, trials: 3, calib: 4 });
        const onGpu = await runExperiment(cfg, new GpuEngine(gpu(), 'gpu'));
        const gpuCpuMetrics = await runExperiment(cfg, new GpuEngine(gpu(), 'cpu'));
        const onCpu = await runExperiment(cfg, new CpuEngine());
        for (let k = 0; k < 3; k++) {
          // Same tensors, two reductions: max-based metrics identical.
          expect(onGpu.trials[k].peir, `${scheme} trial ${k}`).toBe(gpuCpuMetrics.trials[k].peir);
          expect(onGpu.trials[k].worst).toEqual(gpuCpuMetrics.trials[k].worst);
          // fp32 references within ~1e-6 relative: PEIR agrees far below its own size.
          expect(Math.abs(onGpu.trials[k].peir - onCpu.trials[k].peir)).toBeLessThan(1e-3 * onCpu.trials[k].peir + 1e-6);
        }
      }
    });
  }
});
