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
export { depthwiseConv2dGpu } from './gpu/kernels/depthwise-conv2d.js';
export { depthwiseConv2dCpu } from './cpu/depthwise-conv2d.js';
export { lstmGpu } from './gpu/kernels/lstm.js';
export { lstmCpu } from './cpu/lstm.js';
export type { LstmInputs, LstmResult } from './layers/lstm-shape.js';
export { conv2dIntGpu } from './gpu/kernels/conv2d-int.js';
export { conv2dIntCpu, type IntConvResult } from './cpu/conv2d-int.js';
export { lstmIntGpu } from './gpu/kernels/lstm-int.js';
export { lstmIntCpu } from './cpu/lstm-int.js';
export { quantizeGpu, dequantizeGpu, minMaxGpu } from './gpu/kernels/quantize.js';
export { computeMetricsGpu } from './gpu/kernels/metrics.js';
export { computeMetrics, type Metrics, type MetricsOptions } from './metrics/metrics.js';
export * from './quant/index.js';
export { intConvSpec, planConvQuant, tensorRange, type ConvQuantPlan, type QuantConfig, type Range } from './quant/layer.js';
export { intLstmSpec, planLstmQuant, type IntLstmSpec, type LstmQuantPlan } from './quant/lstm-layer.js';
export type { IntConvSpec } from './layers/int-conv-spec.js';
export { createObserver, type ObserverKind, type RangeObserver } from './calibrate/observers.js';
export { generateInput, randomConvWeights, randomLstmWeights, sample, type Distribution } from './data/generate.js';
export { parseNpy, serializeNpy } from './data/npy.js';
export { readNpy, writeNpy } from './data/npy-node.js';
export { resolveConfig, type RunConfig, type RunOptions } from './run/config.js';
export { CpuEngine, GpuEngine, createEngine, type Engine } from './run/engine.js';
export { runExperiment, type RunReport, type TrialResult } from './run/experiment.js';
export { formatReport, type ReportFormat } from './report/format.js';
export { decodeOnnxModel } from './onnx/schema.js';
export { analyzeModel } from './model/graph.js';
export { runModel } from './model/run-model.js';
