/**
 * Engines: the same operations on the GPU (WebGPU kernels) or on the CPU
 * (the reference loops), so that one experiment reads the same either way.
 */
import { conv2dCpu } from '../cpu/conv2d.js';
import { conv2dIntCpu, type IntConvResult } from '../cpu/conv2d-int.js';
import { depthwiseConv2dCpu } from '../cpu/depthwise-conv2d.js';
import { lstmCpu } from '../cpu/lstm.js';
import { lstmIntCpu } from '../cpu/lstm-int.js';
import { createGpu, type AdapterReport, type CreateGpuOptions, type GpuContext } from '../gpu/context.js';
import { conv2dGpu } from '../gpu/kernels/conv2d.js';
import { conv2dIntGpu, conv2dIntGpuOutputs } from '../gpu/kernels/conv2d-int.js';
import { depthwiseConv2dGpu } from '../gpu/kernels/depthwise-conv2d.js';
import { lstmGpu } from '../gpu/kernels/lstm.js';
import { lstmIntGpu } from '../gpu/kernels/lstm-int.js';
import { computeMetricsGpu } from '../gpu/kernels/metrics.js';
import { dequantizeGpu, minMaxGpu, quantizeGpu } from '../gpu/kernels/quantize.js';
import { computeMetrics, type Metrics, type MetricsOptions } from '../metrics/metrics.js';
import type { Conv2dOptions } from '../layers/conv-geometry.js';
import type { IntConvSpec } from '../layers/int-conv-spec.js';
import type { LstmInputs, LstmResult } from '../layers/lstm-shape.js';
import { tensorRange, type Range } from '../quant/layer.js';
import type { IntLstmResult, IntLstmSpec } from '../quant/lstm-layer.js';
import { dequantizeTensor, quantizeTensor, type QuantDType, type QuantParams } from '../quant/scheme.js';
import type { Tensor } from '../tensor.js';

/** A float layer as the experiment holds it. */
export type Layer =
  | { kind: 'conv2d' | 'depthwise'; weight: Tensor; bias?: Tensor; opts: Conv2dOptions }
  | { kind: 'lstm'; weightIh: Tensor; weightHh: Tensor; biasIh?: Tensor; biasHh?: Tensor };

/** Which hardware ran: the GPU adapter, or the CPU reference. */
export type EngineReport = AdapterReport | { host: 'cpu-reference'; description: string };

export interface Engine {
  readonly backend: 'gpu' | 'cpu';
  readonly report: EngineReport;
  conv(layer: Extract<Layer, { kind: 'conv2d' | 'depthwise' }>, x: Tensor): Promise<Tensor>;
  /** The integer conv; `withAcc` also returns the exact accumulators (for dumps). */
  convInt(spec: IntConvSpec, withAcc: boolean): Promise<{ q: Int32Array; acc?: BigInt64Array }>;
  lstm(args: LstmInputs): Promise<LstmResult>;
  lstmInt(spec: IntLstmSpec): Promise<IntLstmResult>;
  quantize(t: Tensor, p: QuantParams): Promise<Tensor<QuantDType>>;
  dequantize(t: Tensor<QuantDType>, p: QuantParams): Promise<Tensor>;
  /** Per-slice min / max (the min-max observer's reduction). */
  minMax(t: Tensor, axis: number | null): Promise<Range>;
  /** PEIR and friends of an approximation against a reference (src/metrics). */
  metrics(ref: Tensor, approx: Tensor, opts: MetricsOptions): Promise<Metrics>;
  dispose(): void;
}

export class CpuEngine implements Engine {
  readonly backend = 'cpu';
  readonly report: EngineReport = { host: 'cpu-reference', description: 'CPU reference (plain TypeScript loops)' };
  async conv(layer: Extract<Layer, { kind: 'conv2d' | 'depthwise' }>, x: Tensor): Promise<Tensor> {
    return layer.kind === 'conv2d' ? conv2dCpu(x, layer.weight, layer.bias, layer.opts) : depthwiseConv2dCpu(x, layer.weight, layer.bias, layer.opts);
  }
  async convInt(spec: IntConvSpec): Promise<IntConvResult> {
    return conv2dIntCpu(spec);
  }
  async lstm(args: LstmInputs): Promise<LstmResult> {
    return lstmCpu(args);
  }
  async lstmInt(spec: IntLstmSpec): Promise<IntLstmResult> {
    return lstmIntCpu(spec);
  }
  async quantize(t: Tensor, p: QuantParams): Promise<Tensor<QuantDType>> {
    return quantizeTensor(t, p);
  }
  async dequantize(t: Tensor<QuantDType>, p: QuantParams): Promise<Tensor> {
    return dequantizeTensor(t, p);
  }
  async minMax(t: Tensor, axis: number | null): Promise<Range> {
    return tensorRange(t, axis);
  }
  async metrics(ref: Tensor, approx: Tensor, opts: MetricsOptions): Promise<Metrics> {
    return computeMetrics(ref, approx, opts);
  }
  dispose(): void {}
}

/**
 * Where the GPU engine reduces metrics: 'gpu' (the metrics pass), 'cpu' (the
 * reference loops on the tensors already read back), or 'auto': the CPU on a
 * software (fallback) adapter, where the "GPU" is the same CPU running an
 * emulation (SwiftShader on 2 cores, 16x512x512 elements: 0.9-2.1 s on the
 * pass against 0.18-0.24 s in the loops), else the GPU. Both give identical
 * max-based metrics, and sums within the documented tolerance.
 */
export type MetricsPlacement = 'auto' | 'gpu' | 'cpu';

export class GpuEngine implements Engine {
  readonly backend = 'gpu';
  readonly report: EngineReport;
  private readonly metricsOnGpu: boolean;
  constructor(readonly ctx: GpuContext, metrics: MetricsPlacement = 'auto') {
    this.report = ctx.adapter;
    this.metricsOnGpu = metrics === 'gpu' || (metrics === 'auto' && !ctx.adapter.isFallbackAdapter);
  }
  static async create(opts?: CreateGpuOptions, metrics: MetricsPlacement = 'auto'): Promise<GpuEngine> {
    return new GpuEngine(await createGpu(opts), metrics);
  }
  conv(layer: Extract<Layer, { kind: 'conv2d' | 'depthwise' }>, x: Tensor): Promise<Tensor> {
    return layer.kind === 'conv2d'
      ? conv2dGpu(this.ctx, x, layer.weight, layer.bias, layer.opts)
      : depthwiseConv2dGpu(this.ctx, x, layer.weight, layer.bias, layer.opts);
  }
  async convInt(spec: IntConvSpec, withAcc: boolean): Promise<{ q: Int32Array; acc?: BigInt64Array }> {
    return withAcc ? conv2dIntGpu(this.ctx, spec) : { q: await conv2dIntGpuOutputs(this.ctx, spec) };
  }
  lstm(args: LstmInputs): Promise<LstmResult> {
    return lstmGpu(this.ctx, args);
  }
  lstmInt(spec: IntLstmSpec): Promise<IntLstmResult> {
    return lstmIntGpu(this.ctx, spec);
  }
  quantize(t: Tensor, p: QuantParams): Promise<Tensor<QuantDType>> {
    return quantizeGpu(this.ctx, t, p);
  }
  dequantize(t: Tensor<QuantDType>, p: QuantParams): Promise<Tensor> {
    return dequantizeGpu(this.ctx, t, p);
  }
  minMax(t: Tensor, axis: number | null): Promise<Range> {
    return minMaxGpu(this.ctx, t, axis);
  }
  async metrics(ref: Tensor, approx: Tensor, opts: MetricsOptions): Promise<Metrics> {
    return this.metricsOnGpu ? computeMetricsGpu(this.ctx, ref, approx, opts) : computeMetrics(ref, approx, opts);
  }
  dispose(): void {
    this.ctx.dispose();
  }
}

/** Create the engine a run asked for. */
export async function createEngine(backend: 'gpu' | 'cpu', gpuOptions?: CreateGpuOptions): Promise<Engine> {
  return backend === 'gpu' ? GpuEngine.create(gpuOptions) : new CpuEngine();
}
