/**
 * peir's public API (the Node library, bundled to dist/index.js).
 *
 * @example
 * ```ts
 * import { createGpu, conv2dGpu, f32 } from 'peir';
 * const gpu = await createGpu();
 * try {
 *   const y = await conv2dGpu(gpu, f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 1, 1], [2]));
 * } finally {
 *   gpu.dispose();
 * }
 * ```
 */
export {
  createGpu,
  describeAdapter,
  GpuBatch,
  GpuContext,
  type AdapterReport,
  type BufferBinding,
  type CreateGpuOptions,
  type DispatchSpec,
  type Kernel,
  type ShaderSource,
} from './gpu/context.js';
export type { AdapterChoice } from './gpu/node-host.js';
export type { PoolStats } from './gpu/buffer-pool.js';
export { conv2dGpu } from './gpu/kernels/conv2d.js';
export { conv2dCpu } from './cpu/conv2d.js';
export {
  conv2dGeometry,
  convGeometry,
  depthwiseGeometry,
  type Conv2dOptions,
  type ConvGeometry,
  type Padding,
} from './layers/conv-geometry.js';
export { Prng } from './data/prng.js';
export {
  checkFinite,
  checkRank,
  f32,
  numElements,
  shapeToString,
  tensor,
  type DType,
  type Tensor,
  type TypedArrayOf,
} from './tensor.js';
export {
  GpuDeviceLostError,
  GpuLimitError,
  GpuOutOfMemoryError,
  GpuTimeoutError,
  GpuUnavailableError,
  GpuValidationError,
  InputError,
  PeirError,
  TensorFileError,
} from './errors.js';
