/**
 * An Engine that times every call of another (wall clock, as the experiment
 * sees it: upload, kernels, readback), so that one `runExperiment` yields the
 * breakdown of a trial. Host-agnostic.
 */
import type { IntConvSpec } from '../src/layers/int-conv-spec.js';
import type { LstmInputs, LstmResult } from '../src/layers/lstm-shape.js';
import type { Metrics, MetricsOptions } from '../src/metrics/metrics.js';
import type { Range } from '../src/quant/layer.js';
import type { IntLstmResult, IntLstmSpec } from '../src/quant/lstm-layer.js';
import type { QuantDType, QuantParams } from '../src/quant/scheme.js';
import type { Engine, EngineReport, Layer } from '../src/run/engine.js';
import type { Tensor } from '../src/tensor.js';

export type EngineMethod = 'conv' | 'convInt' | 'lstm' | 'lstmInt' | 'quantize' | 'dequantize' | 'minMax' | 'metrics';

export class TimedEngine implements Engine {
  readonly backend: 'gpu' | 'cpu';
  readonly report: EngineReport;
  /** Milliseconds of each call, per method, in call order. */
  readonly calls: Record<EngineMethod, number[]> = {
    conv: [], convInt: [], lstm: [], lstmInt: [], quantize: [], dequantize: [], minMax: [], metrics: [],
  };

  constructor(private readonly inner: Engine) {
    this.backend = inner.backend;
    this.report = inner.report;
  }

  private async timed<T>(m: EngineMethod, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.calls[m].push(performance.now() - t0);
    }
  }

  /** Sum of the calls of `m` from call `from` on. */
  total(m: EngineMethod, from = 0): number {
    return this.calls[m].slice(from).reduce((a, b) => a + b, 0);
  }

  conv(layer: Extract<Layer, { kind: 'conv2d' | 'depthwise' }>, x: Tensor): Promise<Tensor> {
    return this.timed('conv', () => this.inner.conv(layer, x));
  }
  convInt(spec: IntConvSpec, withAcc: boolean): Promise<{ q: Int32Array; acc?: BigInt64Array }> {
    return this.timed('convInt', () => this.inner.convInt(spec, withAcc));
  }
  lstm(args: LstmInputs): Promise<LstmResult> {
    return this.timed('lstm', () => this.inner.lstm(args));
  }
  lstmInt(spec: IntLstmSpec): Promise<IntLstmResult> {
    return this.timed('lstmInt', () => this.inner.lstmInt(spec));
  }
  quantize(t: Tensor, p: QuantParams): Promise<Tensor<QuantDType>> {
    return this.timed('quantize', () => this.inner.quantize(t, p));
  }
  dequantize(t: Tensor<QuantDType>, p: QuantParams): Promise<Tensor> {
    return this.timed('dequantize', () => this.inner.dequantize(t, p));
  }
  minMax(t: Tensor, axis: number | null): Promise<Range> {
    return this.timed('minMax', () => this.inner.minMax(t, axis));
  }
  metrics(ref: Tensor, approx: Tensor, opts: MetricsOptions): Promise<Metrics> {
    return this.timed('metrics', () => this.inner.metrics(ref, approx, opts));
  }
  /** The inner engine is the caller's: not disposed here. */
  dispose(): void {}
}
