/** GPU quantize / dequantize / min-max passes against the CPU reference: bit-exact. */
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/data/prng.js';
import { dequantizeGpu, minMaxGpu, quantizeGpu } from '../src/gpu/kernels/quantize.js';
import { tensorRange } from '../src/quant/layer.js';
import { dequantizeTensor, quantParamsFromRanges, quantizeTensor, type SchemeOptions } from '../src/quant/scheme.js';
import { f32 } from '../src/tensor.js';
import { useGpu } from './helpers.js';

function firstDiffs(a: ArrayLike<number>, b: ArrayLike<number>, bits = false): string[] {
  const out: string[] = [];
  const ua = bits ? new Uint32Array(Float32Array.from(a as ArrayLike<number>).buffer) : a;
  const ub = bits ? new Uint32Array(Float32Array.from(b as ArrayLike<number>).buffer) : b;
  for (let i = 0; i < a.length && out.length < 10; i++) if (ua[i] !== ub[i]) out.push(`[${i}] gpu ${a[i]} cpu ${b[i]}`);
  return out;
}

const OPTIONS: SchemeOptions[] = [
  { scheme: 'q8' },
  { scheme: 'q8', rounding: 'half_away' },
  { scheme: 'q8', scaleType: 'pow2' },
  { scheme: 'q16' },
  { scheme: 'q16', rounding: 'half_away' },
  { scheme: 'q16', scaleType: 'linear' },
];

describe('quantize passes on WebGPU: bit-exact with src/quant/scheme.ts', () => {
  const gpu = useGpu();
  let seed = 400;
  for (const opts of OPTIONS) {
    for (const axis of [1, null] as const) {
      const s = seed++;
      it(`seed ${s}: ${JSON.stringify(opts)} axis ${axis}: random values, exact ties, far outliers, odd length`, async () => {
        const p = new Prng(s);
        const shape = [1, 3, 7, 13]; // 273 elements: not a multiple of 2 or 4
        const ranges = { lo: [-1, -0.001, 0.5], hi: [1, 4, 0.75] };
        const params = quantParamsFromRanges(axis === null ? { lo: [-1], hi: [4] } : ranges, axis, opts, 'x');
        const data = new Float32Array(273);
        for (let i = 0; i < data.length; i++) {
          const c = axis === null ? 0 : Math.floor(i / 91);
          const sc = params.scale[c];
          const kind = i % 5;
          // Exact ties (k + 1/2) steps from the zero point; outliers far beyond the range; plain values.
          if (kind === 0) data[i] = Math.fround((p.int(-300, 300) + 0.5) * sc);
          else if (kind === 1) data[i] = p.uniform(-1e6, 1e6);
          else if (kind === 2) data[i] = p.int(0, 1) ? 3.4e38 : -3.4e38;
          else data[i] = p.uniform(-2, 5);
        }
        const t = f32(shape, data);
        const want = quantizeTensor(t, params);
        const got = await quantizeGpu(gpu(), t, params);
        expect(got.dtype).toBe(want.dtype);
        expect(firstDiffs(got.data, want.data)).toEqual([]);
        const deWant = dequantizeTensor(want, params);
        const deGot = await dequantizeGpu(gpu(), want, params);
        expect(firstDiffs(deGot.data, deWant.data, true)).toEqual([]);
      });
    }
  }

  it('seed 420: per-channel min/max of a 512x512 activation and of OIHW weights', async () => {
    const p = new Prng(420);
    const x = f32([1, 5, 512, 512], p.fill(5 * 512 * 512, (r) => r.normal() * 3));
    expect(await minMaxGpu(gpu(), x, 1)).toEqual(tensorRange(x, 1));
    expect(await minMaxGpu(gpu(), x, null)).toEqual(tensorRange(x, null));
    const w = f32([7, 3, 3, 3], p.fill(189, (r) => r.uniform(-1, 1)));
    expect(await minMaxGpu(gpu(), w, 0)).toEqual(tensorRange(w, 0));
  });
});
