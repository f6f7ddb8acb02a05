/**
 * GPU integer LSTM (shaders/lstm-int.wgsl). Takes the same IntLstmSpec as the
 * CPU reference (src/cpu/lstm-int.ts) and returns bit-identical results. One
 * dispatch computes the input-side gate values of every step at once; the
 * recurrence runs in a single workgroup looping over the steps with
 * workgroup barriers (split over a few dispatches for long sequences so that
 * no single dispatch runs for long). Operands are uploaded packed (uint8 x 4 /
 * int16 x 2 per word), the weights gate-interleaved so that adjacent
 * invocations (adjacent units) read adjacent words.
 */
import source from '../../../shaders/lstm-int.wgsl';
import { GpuLimitError, InputError } from '../../errors.js';
import { checkIntLstmSpec, LUT_SIZE, type IntLstmResult, type IntLstmSpec, type LstmLuts } from '../../quant/lstm-layer.js';
import type { GpuBatch, GpuContext } from '../context.js';
import { grid2d } from '../grid.js';
import { withIntegerLibrary } from '../shader-lib.js';
import { decodeAcc, packInts } from './conv2d-int.js';

export const LSTM_INT_SHADER = withIntegerLibrary('lstm-int', source);
const PROJ_WG = 64;
const MAX_WORKGROUP = 256;
/** Multiply-adds of the recurrence per dispatch (2^26: tens of ms on a discrete GPU). */
const RECUR_MACS_PER_DISPATCH = 2 ** 26;
const RULE_CODE = { gemmlowp: 0, pow2: 1, linear64: 2 } as const;

export interface LstmIntGpuOptions {
  /** Upper bound on the steps one recurrence dispatch runs (default: about 2^26 multiply-adds' worth). */
  maxStepsPerDispatch?: number;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Weights [4H, cols] gate-interleaved: element (k, j) holds rows j, H + j,
 * 2H + j, 3H + j at column k; one u32 word (4 x uint8) or two (2 x int16).
 */
export function packGateWeights(w: Int32Array, H: number, cols: number, bits: 8 | 16): Uint32Array {
  const out = new Uint32Array(H * cols * (bits === 8 ? 1 : 2));
  const gateRows = H * cols;
  for (let k = 0; k < cols; k++) {
    for (let j = 0; j < H; j++) {
      const at = j * cols + k;
      const [i, f, g, o] = [w[at], w[at + gateRows], w[at + 2 * gateRows], w[at + 3 * gateRows]];
      const e = k * H + j;
      if (bits === 8) out[e] = (i & 0xff) | ((f & 0xff) << 8) | ((g & 0xff) << 16) | ((o & 0xff) << 24);
      else {
        out[2 * e] = (i & 0xffff) | ((f & 0xffff) << 16);
        out[2 * e + 1] = (g & 0xffff) | ((o & 0xffff) << 16);
      }
    }
  }
  return out;
}

/** Per unit j: (zero points, multipliers, shifts), each a vec4 over the gates i, f, g, o. */
function gateRows(H: number, zero: Int32Array, multiplier: Int32Array, shift: Int32Array): Int32Array {
  const out = new Int32Array(12 * H);
  for (let j = 0; j < H; j++) {
    for (let g = 0; g < 4; g++) {
      out[12 * j + g] = zero[g * H + j];
      out[12 * j + 4 + g] = multiplier[g * H + j];
      out[12 * j + 8 + g] = shift[g * H + j];
    }
  }
  return out;
}

function i64Words(values: BigInt64Array): Int32Array {
  const out = new Int32Array(values.length * 2);
  values.forEach((b, i) => {
    out[2 * i] = Number(BigInt.asIntN(32, b));
    out[2 * i + 1] = Number(BigInt.asIntN(32, b >> 32n));
  });
  return out;
}

/** SIGMOID in the low 16 bits, TANH (two's complement) in the high 16 bits. */
export function packLuts(luts: LstmLuts): Uint32Array {
  const out = new Uint32Array(LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) out[i] = (luts.sigmoid[i] & 0xffff) | ((luts.tanh[i] & 0xffff) << 16);
  return out;
}

export type LstmIntBuffers = {
  input: GPUBuffer;
  weightIh: GPUBuffer;
  weightHh: GPUBuffer;
  ihRows: GPUBuffer;
  hhRows: GPUBuffer;
  bias: GPUBuffer;
  lut: GPUBuffer;
  h0: GPUBuffer;
  /** c_0 on entry, the final cell state on exit. */
  cState: GPUBuffer;
  hOut: GPUBuffer;
  accX: GPUBuffer;
  accH: GPUBuffer;
};

/** Upload every operand of `s` and allocate the outputs. Release with `ctx.release(...Object.values(bufs))`. */
export function uploadLstmInt(ctx: GpuContext, s: IntLstmSpec): LstmIntBuffers {
  const H = s.hiddenSize;
  return {
    input: ctx.upload(packInts(s.input, s.bits), 'lstm-int/input'),
    weightIh: ctx.upload(packGateWeights(s.weightIh, H, s.inputSize, s.bits), 'lstm-int/weight-ih'),
    weightHh: ctx.upload(packGateWeights(s.weightHh, H, H, s.bits), 'lstm-int/weight-hh'),
    ihRows: ctx.upload(gateRows(H, s.weightIhZero, s.gateMultiplierX, s.gateShiftX), 'lstm-int/ih-rows'),
    hhRows: ctx.upload(gateRows(H, s.weightHhZero, s.gateMultiplierH, s.gateShiftH), 'lstm-int/hh-rows'),
    bias: ctx.upload(i64Words(s.bias), 'lstm-int/bias'),
    lut: ctx.upload(packLuts(s.luts), 'lstm-int/lut'),
    h0: ctx.upload(s.h0, 'lstm-int/h0'),
    cState: ctx.upload(s.c0, 'lstm-int/c'),
    hOut: ctx.alloc(s.steps * H * 4, 'lstm-int/h-out'),
    accX: ctx.alloc(4 * H * 8, 'lstm-int/acc-x'),
    accH: ctx.alloc(4 * H * 8, 'lstm-int/acc-h'),
  };
}

/** Record the integer LSTM into `batch`. */
export function encodeLstmInt(ctx: GpuContext, batch: GpuBatch, s: IntLstmSpec, bufs: LstmIntBuffers, opts: LstmIntGpuOptions = {}): void {
  checkIntLstmSpec(s);
  const T = s.steps;
  const H = s.hiddenSize;
  const limits = ctx.limits;
  const hCap = roundUp(H, 64);
  if (hCap * 4 > limits.maxComputeWorkgroupStorageSize) {
    throw new GpuLimitError(
      `lstm-int: hidden size ${H} needs ${hCap * 4} bytes of workgroup memory for the hidden state, above the device limit ` +
        `maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  for (const [what, bytes] of [['gate projection', T * H * 16], ['hidden states', T * H * 4]] as const) {
    if (bytes > ctx.maxBindingBytes) {
      throw new GpuLimitError(`lstm-int: the ${what} of ${T} steps x ${H} units take ${bytes} bytes, above the storage binding limit of ${ctx.maxBindingBytes} bytes`);
    }
  }
  let perDispatch = Math.max(1, Math.floor(RECUR_MACS_PER_DISPATCH / (4 * H * H)));
  if (opts.maxStepsPerDispatch !== undefined) {
    if (!Number.isInteger(opts.maxStepsPerDispatch) || opts.maxStepsPerDispatch < 1) {
      throw new InputError(`lstm-int: maxStepsPerDispatch must be a positive integer, got ${opts.maxStepsPerDispatch}`);
    }
    perDispatch = Math.min(perDispatch, opts.maxStepsPerDispatch);
  }
  const wg = Math.min(MAX_WORKGROUP, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX, roundUp(H, 32));
  const px = batch.scratch(T * H * 16, 'lstm-int/px');
  const { workgroups, rowPitch } = grid2d(T * H, PROJ_WG, limits.maxComputeWorkgroupsPerDimension);
  const params = (t0: number, tCount: number) => ({
    steps: T, inputSize: s.inputSize, hiddenSize: H, inputZero: s.inputZero, hiddenZero: s.hiddenZero,
    hiddenMin: s.hiddenMin, hiddenMax: s.hiddenMax, rule: RULE_CODE[s.rule], rounding: s.rounding === 'half_even' ? 0 : 1,
    outMultiplier: s.outMultiplier, outShift: s.outShift, t0, tCount, rowPitch,
  });
  batch.dispatch(ctx.kernel(LSTM_INT_SHADER, 'project', { BITS: s.bits, PROJ_WG }), {
    buffers: { input: bufs.input, weightIh: bufs.weightIh, ihRows: bufs.ihRows, bias: bufs.bias, pxOut: px, accXOut: bufs.accX },
    params: params(0, 0),
    workgroups,
  });
  const recur = ctx.kernel(LSTM_INT_SHADER, 'recur', { BITS: s.bits, WG: wg, H_CAP: hCap });
  for (let t0 = 0; t0 < T; t0 += perDispatch) {
    batch.dispatch(recur, {
      buffers: { weightHh: bufs.weightHh, hhRows: bufs.hhRows, lut: bufs.lut, h0: bufs.h0, px, cState: bufs.cState, hOut: bufs.hOut, accHOut: bufs.accH },
      params: params(t0, Math.min(perDispatch, T - t0)),
      workgroups: [1],
    });
  }
}

/**
 * Run an integer LSTM on the GPU; same contract as `lstmIntCpu`.
 *
 * @example
 * const { hq, c, accX, accH } = await lstmIntGpu(gpu, intLstmSpec(plan, quantizeLstmInput(plan, x)));
 */
export async function lstmIntGpu(ctx: GpuContext, s: IntLstmSpec, opts: LstmIntGpuOptions = {}): Promise<IntLstmResult> {
  checkIntLstmSpec(s);
  const H = s.hiddenSize;
  const bufs = uploadLstmInt(ctx, s);
  try {
    await ctx.run('lstm-int', (b) => encodeLstmInt(ctx, b, s, bufs, opts));
    const hq = new Int32Array(await ctx.read(bufs.hOut, s.steps * H * 4));
    const c = new Int32Array(await ctx.read(bufs.cState, H * 4));
    const accX = decodeAcc(new Int32Array(await ctx.read(bufs.accX, 4 * H * 8)), 16);
    const accH = decodeAcc(new Int32Array(await ctx.read(bufs.accH, 4 * H * 8)), 16);
    return { hq, c, accX, accH };
  } finally {
    ctx.release(...Object.values(bufs));
  }
}
