/**
 * GPU fp32 LSTM, one layer, batch 1 (shaders/lstm.wgsl). Two dispatches
 * repack the weights gate-interleaved, one computes the input projection of
 * every step at once (a matmul), and the recurrence runs in a single workgroup that loops
 * over the steps with workgroup barriers, instead of one dispatch per step.
 * Long sequences are split over several recurrence dispatches so that no
 * single dispatch runs for long (GPU watchdogs).
 */
import source from '../../../shaders/lstm.wgsl';
import { GpuLimitError, InputError } from '../../errors.js';
import { lstmShape, type LstmInputs, type LstmResult, type LstmShape } from '../../layers/lstm-shape.js';
import { f32 } from '../../tensor.js';
import type { GpuBatch, GpuContext } from '../context.js';

export const LSTM_SHADER = { label: 'lstm', code: source };
/** Must match PTILE and T_PER_THREAD in the shader. */
const PTILE = 16;
const T_PER_THREAD = 4;
const PROJ_WG = 64;
const MAX_WORKGROUP = 256;
/** Multiply-adds of the recurrence per dispatch (2^26: tens of ms on a discrete GPU). */
const RECUR_MACS_PER_DISPATCH = 2 ** 26;

/** GPU-resident operands of an LSTM. Packed weights and the projection are batch scratch. */
export type LstmBuffers = {
  input: GPUBuffer;
  weightIh: GPUBuffer;
  weightHh: GPUBuffer;
  /** Zeros when the layer has no bias. */
  biasIh: GPUBuffer;
  biasHh: GPUBuffer;
  /** Zeros when no initial state is given. */
  h0: GPUBuffer;
  /** c0 on entry, the final cell state on exit. */
  cState: GPUBuffer;
  output: GPUBuffer;
};

export interface LstmGpuOptions {
  /** Upper bound on the steps one recurrence dispatch runs (default: about 2^26 multiply-adds' worth). */
  maxStepsPerDispatch?: number;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Record an LSTM into `batch`. */
export function encodeLstm(ctx: GpuContext, batch: GpuBatch, s: LstmShape, bufs: LstmBuffers, opts: LstmGpuOptions = {}): void {
  const H = s.hiddenSize;
  const limits = ctx.limits;
  const wg = Math.min(MAX_WORKGROUP, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX, roundUp(H, 32));
  const hCap = roundUp(H, 64);
  if (hCap * 4 > limits.maxComputeWorkgroupStorageSize) {
    throw new GpuLimitError(
      `lstm: hidden size ${H} needs ${hCap * 4} bytes of workgroup memory for the hidden state, above the device limit ` +
        `maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  const maxBinding = limits.maxStorageBufferBindingSize;
  const bindings: [string, number][] = [
    ['input', s.steps * s.inputSize * 4],
    ['weight_ih', 4 * H * s.inputSize * 4],
    ['weight_hh', 4 * H * H * 4],
    ['the projection (T x 4H)', s.steps * H * 16],
    ['output', s.steps * H * 4],
  ];
  for (const [what, byteSize] of bindings) {
    if (byteSize > maxBinding) {
      throw new GpuLimitError(
        `lstm: ${what} needs ${byteSize} bytes in one binding, above the device limit maxStorageBufferBindingSize = ${maxBinding}; ` +
          'split the sequence or the layer',
      );
    }
  }
  let perDispatch = Math.max(1, Math.floor(RECUR_MACS_PER_DISPATCH / (4 * H * H)));
  if (opts.maxStepsPerDispatch !== undefined) {
    if (!Number.isInteger(opts.maxStepsPerDispatch) || opts.maxStepsPerDispatch < 1) {
      throw new InputError(`lstm: maxStepsPerDispatch must be a positive integer, got ${opts.maxStepsPerDispatch}`);
    }
    perDispatch = Math.min(perDispatch, opts.maxStepsPerDispatch);
  }
  const packedIh = batch.scratch(s.inputSize * H * 16, 'lstm/weight-ih-packed');
  const packedHh = batch.scratch(H * H * 16, 'lstm/weight-hh-packed');
  const proj = batch.scratch(s.steps * H * 16, 'lstm/projection');
  const params = (packCols: number, t0: number, tCount: number) => ({
    steps: s.steps, inputSize: s.inputSize, hiddenSize: H, packCols, t0, tCount,
  });
  const pack = ctx.kernel(LSTM_SHADER, 'pack');
  for (const [src, dst, cols] of [[bufs.weightIh, packedIh, s.inputSize], [bufs.weightHh, packedHh, H]] as const) {
    batch.dispatch(pack, {
      buffers: { packSrc: src, packedOut: dst },
      params: params(cols, 0, 0),
      workgroups: [Math.ceil(H / PTILE), Math.ceil(cols / PTILE)],
    });
  }
  batch.dispatch(ctx.kernel(LSTM_SHADER, 'project', { PROJ_WG }), {
    buffers: { input: bufs.input, packedIh, biasIh: bufs.biasIh, biasHh: bufs.biasHh, projOut: proj },
    params: params(0, 0, 0),
    workgroups: [Math.ceil(H / PROJ_WG), Math.ceil(s.steps / T_PER_THREAD)],
  });
  const recur = ctx.kernel(LSTM_SHADER, 'recur', { WG: wg, H_CAP: hCap });
  for (let t0 = 0; t0 < s.steps; t0 += perDispatch) {
    batch.dispatch(recur, {
      buffers: { h0: bufs.h0, packedHh, proj, cState: bufs.cState, output: bufs.output },
      params: params(0, t0, Math.min(perDispatch, s.steps - t0)),
      workgroups: [1],
    });
  }
}

/**
 * Run a one-layer fp32 LSTM (batch 1, PyTorch layout, gates i, f, g, o) on
 * the GPU. Same contract as `lstmCpu`.
 *
 * @example
 * const { output, h, c } = await lstmGpu(gpu, { input, weightIh, weightHh, biasIh, biasHh });
 */
export async function lstmGpu(ctx: GpuContext, args: LstmInputs, opts: LstmGpuOptions = {}): Promise<LstmResult> {
  const s = lstmShape(args);
  const H = s.hiddenSize;
  const zeros4H = new Float32Array(4 * H);
  const bufs: LstmBuffers = {
    input: ctx.upload(args.input.data, 'lstm/input'),
    weightIh: ctx.upload(args.weightIh.data, 'lstm/weight-ih'),
    weightHh: ctx.upload(args.weightHh.data, 'lstm/weight-hh'),
    biasIh: ctx.upload(args.biasIh?.data ?? zeros4H, 'lstm/bias-ih'),
    biasHh: ctx.upload(args.biasHh?.data ?? zeros4H, 'lstm/bias-hh'),
    h0: ctx.upload(args.h0?.data ?? new Float32Array(H), 'lstm/h0'),
    cState: ctx.upload(args.c0?.data ?? new Float32Array(H), 'lstm/c'),
    output: ctx.alloc(s.steps * H * 4, 'lstm/output'),
  };
  try {
    await ctx.run('lstm', (b) => encodeLstm(ctx, b, s, bufs, opts));
    const output = await ctx.readF32(bufs.output, s.steps * H, 'lstm/output');
    const c = await ctx.readF32(bufs.cState, H, 'lstm/c');
    return { output: f32([s.steps, H], output), h: f32([H], output.slice((s.steps - 1) * H)), c: f32([H], c) };
  } finally {
    ctx.release(...Object.values(bufs));
  }
}
