/** Shared test helpers: one GPU context per test file, random tensors, abs-magnitude tensors. */
import { afterAll, beforeAll } from 'vitest';
import { createGpu, type GpuContext } from '../src/gpu/context.js';
import { Prng } from '../src/data/prng.js';
import { f32, type Tensor } from '../src/tensor.js';

/** Create one GPU context for the file and dispose it afterwards; returns a getter. */
export function useGpu(): () => GpuContext {
  let ctx: GpuContext | undefined;
  beforeAll(async () => {
    ctx = await createGpu();
  });
  afterAll(() => ctx?.dispose());
  return () => {
    if (!ctx) throw new Error('GPU context not created');
    return ctx;
  };
}

export function randomTensor(p: Prng, shape: number[], lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return f32(shape, p.fill(n, (r) => r.uniform(lo, hi)));
}

export function absTensor(t: Tensor): Tensor {
  return f32(t.shape, t.data.map(Math.abs));
}
