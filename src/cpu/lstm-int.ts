/**
 * CPU reference of the integer LSTM (shaders/lstm-int.wgsl), written from the
 * rules in src/quant/lstm-layer.ts: plain loops, exact integer arithmetic.
 * Products are summed in a double, exact because checkIntLstmSpec keeps every
 * partial sum below 2^31 (Q8) or 2^53 (Q16); the bias is added and every
 * requantization and rounding shift done in BigInt / int32 by
 * src/quant/requant.ts, in the same order as the shader.
 */
import { checkIntLstmSpec, type IntLstmResult, type IntLstmSpec } from '../quant/lstm-layer.js';
import { INT32_MAX, INT32_MIN, mbqm, requantLinear64, roundShiftClamp } from '../quant/requant.js';

const I16_MIN = -32768;
const I16_MAX = 32767;
const LUT_OFFSET = 32768;

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Bound of each side of a gate pre-activation, Q3.12 (module doc of lstm-layer.ts). */
const GATE_SIDE_LIMIT = 2 ** 24;

/** An exact accumulator to Q3.12, clamped to +-2^24 (module doc of lstm-layer.ts). */
function gateRequant(s: IntLstmSpec, acc: bigint, m0: number, shift: number): number {
  if (s.rule === 'gemmlowp') return clamp(mbqm(Number(acc), m0, shift), -GATE_SIDE_LIMIT, GATE_SIDE_LIMIT);
  if (s.rule === 'pow2') return roundShiftClamp(acc, shift, s.rounding, -GATE_SIDE_LIMIT, GATE_SIDE_LIMIT);
  return requantLinear64(acc, m0, shift, s.rounding, -GATE_SIDE_LIMIT, GATE_SIDE_LIMIT);
}

/** v = o * tanh(c) in Q0.30 -> h's quantization. */
function outRequant(s: IntLstmSpec, v: number): number {
  if (s.rule === 'gemmlowp') return clamp(clamp(mbqm(v, s.outMultiplier, s.outShift), -131072, 131072) + s.hiddenZero, s.hiddenMin, s.hiddenMax);
  if (s.rule === 'pow2') return roundShiftClamp(BigInt(v), s.outShift, s.rounding, s.hiddenMin, s.hiddenMax);
  return requantLinear64(BigInt(v), s.outMultiplier, s.outShift, s.rounding, s.hiddenMin, s.hiddenMax);
}

/**
 * Run the integer LSTM of `s` over all its steps.
 *
 * @example
 * const { hq, c } = lstmIntCpu(intLstmSpec(plan, quantizeLstmInput(plan, x)));
 */
export function lstmIntCpu(s: IntLstmSpec): IntLstmResult {
  checkIntLstmSpec(s);
  const { steps: T, inputSize: I, hiddenSize: H, rounding } = s;
  const rows = 4 * H;
  const sig = s.luts.sigmoid;
  const tnh = s.luts.tanh;
  const hq = new Int32Array(T * H);
  const c = Int32Array.from(s.c0);
  const accX = new BigInt64Array(rows);
  const accH = new BigInt64Array(rows);
  let h = Int32Array.from(s.h0);
  const pre = new Int32Array(rows);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < rows; r++) {
      const wzx = s.weightIhZero[r];
      let sx = 0;
      for (let k = 0; k < I; k++) sx += (s.input[t * I + k] - s.inputZero) * (s.weightIh[r * I + k] - wzx);
      const ax = BigInt(sx) + s.bias[r];
      const wzh = s.weightHhZero[r];
      let sh = 0;
      for (let k = 0; k < H; k++) sh += (h[k] - s.hiddenZero) * (s.weightHh[r * H + k] - wzh);
      const ah = BigInt(sh);
      if (t === T - 1) {
        accX[r] = ax;
        accH[r] = ah;
      }
      const px = gateRequant(s, ax, s.gateMultiplierX[r], s.gateShiftX[r]);
      const ph = gateRequant(s, ah, s.gateMultiplierH[r], s.gateShiftH[r]);
      pre[r] = clamp(px + ph, I16_MIN, I16_MAX);
    }
    const next = new Int32Array(H);
    for (let j = 0; j < H; j++) {
      const ig = sig[pre[j] + LUT_OFFSET];
      const fg = sig[pre[H + j] + LUT_OFFSET];
      const gg = tnh[pre[2 * H + j] + LUT_OFFSET];
      const og = sig[pre[3 * H + j] + LUT_OFFSET];
      const fc = roundShiftClamp(BigInt(fg) * BigInt(c[j]), 15, rounding, INT32_MIN, INT32_MAX);
      const igq = roundShiftClamp(BigInt(ig * gg), 10, rounding, INT32_MIN, INT32_MAX);
      c[j] = clamp(fc + igq, INT32_MIN, INT32_MAX);
      const tc = tnh[roundShiftClamp(BigInt(c[j]), 8, rounding, I16_MIN, I16_MAX) + LUT_OFFSET];
      next[j] = outRequant(s, og * tc);
      hq[t * H + j] = next[j];
    }
    h = next;
  }
  return { hq, c, accX, accH };
}
