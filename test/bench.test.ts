/**
 * The benchmark suite's host-agnostic parts (bench/): repetition and
 * statistics, target evaluation and the Markdown report, on synthetic runners
 * and results (the suite itself is `npm run bench`).
 */
import { describe, expect, it } from 'vitest';
import { measureInterleaved, summarize } from '../bench/measure.js';
import { markdownReport } from '../bench/report.js';
import { evaluateTargets, type CaseResult, type ImplResult, type SuiteReport } from '../bench/suite.js';

function impl(name: string, ms: number, clock: 'gpu-timestamp' | 'wall' = 'gpu-timestamp'): ImplResult {
  const stats = { reps: 3, wallMs: { min: ms + 5, median: ms + 6 }, gpuMs: clock === 'gpu-timestamp' ? { min: ms, median: ms + 1 } : undefined };
  return { impl: name, clock, stats, minMs: clock === 'gpu-timestamp' ? ms : ms + 5, medianMs: ms + 1 };
}

describe('bench/measure', () => {
  it('summarizes min and median (even and odd counts) and keeps GPU time only when every sample has it', () => {
    const s = summarize([{ wallMs: 4, gpuMs: 3 }, { wallMs: 2, gpuMs: 1 }, { wallMs: 9, gpuMs: 8 }, { wallMs: 3, gpuMs: 2 }]);
    expect(s).toEqual({ reps: 4, wallMs: { min: 2, median: 3.5 }, gpuMs: { min: 1, median: 2.5 }, cpuMs: undefined });
    expect(summarize([{ wallMs: 1, gpuMs: 1 }, { wallMs: 2 }]).gpuMs).toBeUndefined();
  });

  it('warms each runner up, then interleaves them within the budget and the repetition bounds', async () => {
    const order: string[] = [];
    const runner = (name: string) => ({ name, rep: async () => (order.push(name), { wallMs: 1 }) });
    const stats = await measureInterleaved([runner('a'), runner('b')], { budgetMs: 0, minReps: 3, maxReps: 3 });
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(stats.get('a')!.reps).toBe(3);
    expect(stats.get('b')!.reps).toBe(3);
  });
});

describe('bench/suite targets and report', () => {
  const cases: CaseResult[] = [
    { id: 'conv2d', title: 'conv2d', ops: 0, bytes: 0, notes: [], results: [impl('peir fp32', 10), impl('peir q8', 9), impl('peir q16', 25), impl('tfjs-webgpu', 130)] },
    { id: 'depthwise', title: 'depthwise', ops: 0, bytes: 0, notes: [], results: [impl('peir fp32', 10), impl('tfjs-webgpu', 20)] },
    { id: 'lstm', title: 'lstm', ops: 0, bytes: 0, notes: [], results: [impl('peir fp32', 10), impl('per-step dispatch baseline', 30)] },
  ];

  it('evaluates each target from the ratios of the right rows, on the GPU clock', () => {
    const t = evaluateTargets(cases);
    const by = (s: string) => t.find((x) => x.name.includes(s))!;
    expect(by('conv2d fp32').met).toBe(true); // 13x
    expect(by('conv2d fp32').measured).toBe('13.00x');
    expect(by('depthwise').met).toBe(false); // 2x < 3x
    expect(by('LSTM').met).toBe(true); // 3x
    expect(by('Q8').met).toBe(true); // q8 9 ms <= fp32 10 ms
    expect(by('Q16').met).toBe(false); // 2.5x fp32's time
    expect(by('quantization').met).toBeNull(); // no trial case
  });

  it('falls back to wall time when one side has no GPU clock', () => {
    const mixed: CaseResult[] = [{ ...cases[0], results: [impl('peir fp32', 10), impl('tfjs-webgpu', 100, 'wall')] }];
    const t = evaluateTargets(mixed).find((x) => x.name.startsWith('conv2d fp32'))!;
    expect(t.detail).toContain('(wall, minimum)');
    expect(t.measured).toBe('7.00x'); // (100 + 5) / (10 + 5)
  });

  it('prints every row with its ratio columns and the targets as met / NOT MET', () => {
    const report = {
      tool: 'peir-bench', date: '2026-01-01T00:00:00.000Z', adapterLine: 'test adapter', host: 'node-dawn', clocks: 'test clocks',
      adapter: { driver: 'test driver', timestampQuery: true, packed4x8IntegerDotProduct: false },
      options: { size: 8, budgetMs: 1, quick: true, cases: ['conv2d'] }, cases, targets: evaluateTargets(cases),
    } as unknown as SuiteReport;
    const md = markdownReport(report, { commit: 'abc123' });
    expect(md).toContain('commit abc123');
    expect(md).toMatch(/\| conv2d \| peir fp32 \| gpu \| 10.0 \| 11.0 \| 3 \|.*\| 0.077 \|/);
    expect(md).toMatch(/\| conv2d \| peir q8 \|.*\| 0.900 \|/);
    expect(md).toMatch(/\| depthwise fp32 >= 3x faster than tfjs-webgpu \| 2.00x \| NOT MET \|/);
  });
});
