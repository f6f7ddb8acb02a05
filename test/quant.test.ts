/** Quantization math: rounding, gemmlowp / TFLite integer helpers, scheme parameters, quantize / dequantize. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';
import {
  F32_MAX,
  RANGE_MAX,
  FRAC_BITS_MAX,
  INT32_MAX,
  INT32_MIN,
  SCALE_MIN,
  dequantizeTensor,
  dequantizeValue,
  effectiveRange,
  f32Constants,
  fakeQuantize,
  fromJson,
  multiplyByQuantizedMultiplier,
  quantizeMultiplier,
  quantizeTensor,
  quantizeValue,
  quantParamsFromRanges,
  roundHalfAway,
  roundHalfEven,
  roundingDivideByPOT,
  roundingShiftRightI64,
  roundWith,
  saturatingRoundingDoublingHighMul,
  sliceQuantParams,
  toJson,
  type QuantParams,
  type RoundingMode,
  type ScaleType,
  type Scheme,
} from '../src/quant/index.js';
import { f32, tensor } from '../src/tensor.js';
import { quantRoundTripTolerance } from './tolerance.js';

const MODES: RoundingMode[] = ['half_even', 'half_away'];
const COMBOS: { scheme: Scheme; scaleType: ScaleType }[] = [
  { scheme: 'q8', scaleType: 'linear' },
  { scheme: 'q8', scaleType: 'pow2' },
  { scheme: 'q16', scaleType: 'pow2' },
  { scheme: 'q16', scaleType: 'linear' },
];

/** Same value including the sign of zero. */
function same(a: number, b: number): boolean {
  return Object.is(a, b);
}

describe('rounding', () => {
  // [x, half_even, half_away]
  const TABLE: [number, number, number][] = [
    [0.5, 0, 1],
    [1.5, 2, 2],
    [2.5, 2, 3],
    [3.5, 4, 4],
    [-0.5, -0, -1],
    [-1.5, -2, -2],
    [-2.5, -2, -3],
    [-3.5, -4, -4],
    [0.49999999999999994, 0, 0],
    [-0.49999999999999994, -0, -0],
    [0.5000000000000001, 1, 1],
    [1.4999999999999998, 1, 1],
    [-1.4999999999999998, -1, -1],
    [2.5000000000000004, 3, 3],
    [0, 0, 0],
    [-0, -0, -0],
    [-0.3, -0, -0],
    [1e-300, 0, 0],
    [-5e-324, -0, -0],
    [2 ** 52 - 0.5, 2 ** 52, 2 ** 52],
    [2 ** 52 - 1.5, 2 ** 52 - 2, 2 ** 52 - 1],
    [-(2 ** 52 - 1.5), -(2 ** 52 - 2), -(2 ** 52 - 1)],
    [2 ** 52 + 1, 2 ** 52 + 1, 2 ** 52 + 1],
    [-(2 ** 53) - 2, -(2 ** 53) - 2, -(2 ** 53) - 2],
    [1e300, 1e300, 1e300],
    [-1.7976931348623157e308, -1.7976931348623157e308, -1.7976931348623157e308],
    [Infinity, Infinity, Infinity],
    [-Infinity, -Infinity, -Infinity],
  ];
  for (const [x, even, away] of TABLE) {
    it(`round(${Object.is(x, -0) ? '-0' : x}) = ${even} (half_even), ${away} (half_away)`, () => {
      expect(same(roundHalfEven(x), even), `half_even got ${roundHalfEven(x)}`).toBe(true);
      expect(same(roundHalfAway(x), away), `half_away got ${roundHalfAway(x)}`).toBe(true);
      expect(same(roundWith('half_even', x), even)).toBe(true);
      expect(same(roundWith('half_away', x), away)).toBe(true);
    });
  }

  it('NaN stays NaN', () => {
    expect(roundHalfEven(NaN)).toBeNaN();
    expect(roundHalfAway(NaN)).toBeNaN();
  });

  it('seed 11: matches the definition on 20000 random doubles of every magnitude, and on every k + 0.5', () => {
    const p = new Prng(11);
    const xs: number[] = [];
    for (let i = 0; i < 10000; i++) xs.push((p.next() - 0.5) * 2 ** p.int(-30, 60));
    for (let i = 0; i < 5000; i++) xs.push(p.int(-1e6, 1e6) + 0.5); // exact ties
    for (let i = 0; i < 5000; i++) xs.push(Math.fround((p.next() - 0.5) * 2 ** p.int(-10, 30))); // f32 values
    for (const x of xs) {
      for (const mode of MODES) {
        const r = roundWith(mode, x);
        const where = `${mode}(${x}) = ${r}`;
        expect(Number.isInteger(r), where).toBe(true);
        const d = Math.abs(r - x); // exact: r and x are within 1 of each other, same binade or integers
        expect(d <= 0.5, where).toBe(true);
        if (d === 0.5) {
          if (mode === 'half_even') expect(r % 2 === 0, `${where}: tie not to even`).toBe(true);
          else expect(Math.abs(r) > Math.abs(x), `${where}: tie not away from zero`).toBe(true);
        }
      }
    }
  });

  it('the quantization code never uses Math.round', () => {
    for (const dir of ['src/quant', 'src/calibrate']) {
      for (const f of readdirSync(dir)) {
        const code = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        expect(code.includes('Math.round'), `${dir}/${f} calls Math.round`).toBe(false);
      }
    }
  });
});

// ---- gemmlowp / TFLite integer helpers against BigInt references --------------------------------

function srdhmRef(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates towards zero, like C
}

/** x / 2^e rounded to nearest, ties away from zero, from the exact rational. */
function rdbpotRef(x: number, e: number): number {
  if (e === 0) return x;
  const m = BigInt(Math.abs(x));
  const q = (m + (1n << BigInt(e - 1))) >> BigInt(e);
  return Number(x < 0 ? -q : q);
}

const EXTREMES = [INT32_MIN, INT32_MIN + 1, -(2 ** 30), -65536, -65535, -3, -2, -1, 0, 1, 2, 3, 65535, 65536, 2 ** 30, INT32_MAX - 1, INT32_MAX];

function randomInt32(p: Prng): number {
  // mix of full-range and small values
  const r = p.nextU32() | 0;
  return p.next() < 0.7 ? r : r >> p.int(0, 31);
}

describe('saturatingRoundingDoublingHighMul', () => {
  it('extreme pairs match the BigInt reference, INT32_MIN * INT32_MIN saturates', () => {
    expect(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN)).toBe(INT32_MAX);
    expect(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MAX)).toBe(-INT32_MAX);
    expect(saturatingRoundingDoublingHighMul(INT32_MAX, INT32_MAX)).toBe(INT32_MAX - 1);
    expect(saturatingRoundingDoublingHighMul(1 << 30, 1 << 30)).toBe(1 << 29);
    // ties: a*b = k * 2^30 -> k / 2 rounds towards +inf (gemmlowp's asymmetric nudge)
    expect(saturatingRoundingDoublingHighMul(1 << 15, 1 << 15)).toBe(1);
    expect(saturatingRoundingDoublingHighMul(-(1 << 15), 1 << 15)).toBe(0);
    expect(saturatingRoundingDoublingHighMul(3 << 15, 1 << 15)).toBe(2);
    expect(saturatingRoundingDoublingHighMul(-3 << 15, 1 << 15)).toBe(-1);
    expect(saturatingRoundingDoublingHighMul(-(1 << 15) - 1, 1 << 15)).toBe(-1);
    expect(saturatingRoundingDoublingHighMul(1, (1 << 30) - 1)).toBe(0);
    for (const a of EXTREMES) {
      for (const b of EXTREMES) {
        expect(saturatingRoundingDoublingHighMul(a, b), `a=${a} b=${b}`).toBe(srdhmRef(a, b));
      }
    }
  });

  it('seed 21: 200000 random pairs match the BigInt reference', () => {
    const p = new Prng(21);
    for (let i = 0; i < 200000; i++) {
      const a = randomInt32(p);
      const b = randomInt32(p);
      const got = saturatingRoundingDoublingHighMul(a, b);
      const want = srdhmRef(a, b);
      if (got !== want) expect(got, `a=${a} b=${b}`).toBe(want);
    }
  });

  it('rejects non-int32 operands', () => {
    expect(() => saturatingRoundingDoublingHighMul(2 ** 31, 1)).toThrow(InputError);
    expect(() => saturatingRoundingDoublingHighMul(1, 0.5)).toThrow(InputError);
  });
});

describe('roundingDivideByPOT', () => {
  it('hand-checked ties round away from zero', () => {
    expect(roundingDivideByPOT(3, 1)).toBe(2);
    expect(roundingDivideByPOT(-3, 1)).toBe(-2);
    expect(roundingDivideByPOT(5, 1)).toBe(3);
    expect(roundingDivideByPOT(-5, 1)).toBe(-3);
    expect(roundingDivideByPOT(-4, 1)).toBe(-2);
    expect(roundingDivideByPOT(6, 2)).toBe(2); // 1.5
    expect(roundingDivideByPOT(-6, 2)).toBe(-2);
    expect(roundingDivideByPOT(-5, 2)).toBe(-1); // -1.25
    expect(roundingDivideByPOT(INT32_MIN, 31)).toBe(-1);
    expect(roundingDivideByPOT(INT32_MAX, 31)).toBe(1);
    expect(roundingDivideByPOT(2 ** 30, 31)).toBe(1); // 0.5
    expect(roundingDivideByPOT(-(2 ** 30), 31)).toBe(-1);
    expect(roundingDivideByPOT(2 ** 30 - 1, 31)).toBe(0);
  });

  it('extremes with every exponent 0..31 match the exact rational reference', () => {
    for (const x of EXTREMES) {
      for (let e = 0; e <= 31; e++) expect(roundingDivideByPOT(x, e), `x=${x} e=${e}`).toBe(rdbpotRef(x, e));
    }
  });

  it('seed 22: 100000 random (x, exponent) match the reference', () => {
    const p = new Prng(22);
    for (let i = 0; i < 100000; i++) {
      const x = randomInt32(p);
      const e = p.int(0, 31);
      const got = roundingDivideByPOT(x, e);
      if (got !== rdbpotRef(x, e)) expect(got, `x=${x} e=${e}`).toBe(rdbpotRef(x, e));
    }
  });

  it('rejects exponents outside [0, 31]', () => {
    expect(() => roundingDivideByPOT(1, 32)).toThrow(InputError);
    expect(() => roundingDivideByPOT(1, -1)).toThrow(InputError);
    expect(() => roundingDivideByPOT(1, 1.5)).toThrow(InputError);
  });
});

describe('quantizeMultiplier', () => {
  it('known values', () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.75)).toEqual({ multiplier: 3 * 2 ** 29, shift: 0 });
    expect(quantizeMultiplier(0.25)).toEqual({ multiplier: 2 ** 30, shift: -1 });
    expect(quantizeMultiplier(3)).toEqual({ multiplier: 3 * 2 ** 29, shift: 2 });
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(2 ** 31 - 1)).toEqual({ multiplier: 2 ** 31 - 1, shift: 31 });
    // q * 2^31 = 2^31 - 0.5 rounds (away) to 2^31: the fix-up halves it and bumps the shift
    expect(quantizeMultiplier(1 - 2 ** -32)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(1 - 2 ** -31)).toEqual({ multiplier: 2 ** 31 - 1, shift: 0 });
  });

  it('flushes multipliers below 2^-32 - 2^-64 to zero (TFLite rule: shift < -31)', () => {
    expect(quantizeMultiplier(2 ** -32)).toEqual({ multiplier: 2 ** 30, shift: -31 });
    expect(quantizeMultiplier(2 ** -32 - 2 ** -64)).toEqual({ multiplier: 2 ** 30, shift: -31 });
    expect(quantizeMultiplier(2 ** -32 - 2 ** -63)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(1e-12)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(5e-324)).toEqual({ multiplier: 0, shift: 0 });
  });

  it('rejects negative, non-finite and too-large multipliers', () => {
    expect(() => quantizeMultiplier(-0.5)).toThrow(InputError);
    expect(() => quantizeMultiplier(NaN)).toThrow(InputError);
    expect(() => quantizeMultiplier(Infinity)).toThrow(InputError);
    expect(() => quantizeMultiplier(2 ** 31 - 0.5)).toThrow(InputError);
  });

  it('seed 23: m0 * 2^(shift-31) is within 2^-31 relative of 20000 random multipliers in [2^-31, 2^31)', () => {
    const p = new Prng(23);
    for (let i = 0; i < 20000; i++) {
      const real = (1 + p.next()) * 2 ** p.int(-31, 30);
      const { multiplier: m0, shift } = quantizeMultiplier(real);
      const where = `real=${real} -> (${m0}, ${shift})`;
      expect(m0 >= 2 ** 30 && m0 < 2 ** 31, where).toBe(true);
      expect(shift >= -30 && shift <= 31, where).toBe(true);
      const back = m0 * 2 ** (shift - 31);
      expect(Math.abs(back - real) <= real * 2 ** -31, `${where}: back ${back}`).toBe(true);
    }
  });
});

describe('multiplyByQuantizedMultiplier', () => {
  function mbqmRef(x: number, m0: number, shift: number): number {
    const left = Math.max(shift, 0);
    const right = Math.max(-shift, 0);
    let xs = BigInt(x) << BigInt(left);
    if (xs > BigInt(INT32_MAX)) xs = BigInt(INT32_MAX);
    if (xs < BigInt(INT32_MIN)) xs = BigInt(INT32_MIN);
    return rdbpotRef(srdhmRef(Number(xs), m0), right);
  }

  it('hand-checked', () => {
    const half = quantizeMultiplier(0.5);
    expect(multiplyByQuantizedMultiplier(100, half.multiplier, half.shift)).toBe(50);
    expect(multiplyByQuantizedMultiplier(101, half.multiplier, half.shift)).toBe(51); // 50.5 away
    expect(multiplyByQuantizedMultiplier(-101, half.multiplier, half.shift)).toBe(-50); // -50.5: the high multiply rounds ties up
    const two = quantizeMultiplier(2);
    expect(multiplyByQuantizedMultiplier(1000, two.multiplier, two.shift)).toBe(2000);
    // x * 2^left overflows int32: saturates instead of wrapping
    expect(multiplyByQuantizedMultiplier(2 ** 30, two.multiplier, two.shift)).toBe(2 ** 30); // (2^31 - 1) / 2 rounded up
    expect(multiplyByQuantizedMultiplier(-(2 ** 30), 2 ** 30, 31)).toBe(-(2 ** 30));
    expect(multiplyByQuantizedMultiplier(12345, 0, 0)).toBe(0);
  });

  it('seed 24: 50000 random (x, M) match the composition reference and the exact product within 1', () => {
    const p = new Prng(24);
    for (let i = 0; i < 50000; i++) {
      const x = randomInt32(p) >> p.int(0, 16);
      const real = (1 + p.next()) * 2 ** p.int(-31, 4);
      const { multiplier: m0, shift } = quantizeMultiplier(real);
      const got = multiplyByQuantizedMultiplier(x, m0, shift);
      const want = mbqmRef(x, m0, shift);
      if (got !== want) expect(got, `x=${x} m0=${m0} shift=${shift}`).toBe(want);
      const exact = x * m0 * 2 ** (shift - 31); // within 2^-53 relative; fine against a bound of 1
      if (Math.abs(exact) < 2 ** 30) {
        expect(Math.abs(got - exact) <= 1, `x=${x} M=${real}: got ${got} exact ${exact}`).toBe(true);
      }
    }
  });

  it('extremes with shifts -31..31', () => {
    for (const x of EXTREMES) {
      for (const m0 of [0, 2 ** 30, 2 ** 30 + 1, INT32_MAX]) {
        for (let shift = -31; shift <= 31; shift += 1) {
          expect(multiplyByQuantizedMultiplier(x, m0, shift), `x=${x} m0=${m0} shift=${shift}`).toBe(mbqmRef(x, m0, shift));
        }
      }
    }
    expect(() => multiplyByQuantizedMultiplier(1, 2 ** 30, 32)).toThrow(InputError);
    expect(() => multiplyByQuantizedMultiplier(1, 2 ** 30, -32)).toThrow(InputError);
  });
});

describe('roundingShiftRightI64', () => {
  it('hand-checked ties in both modes, left shifts, shift 0', () => {
    const cases: [bigint, number, bigint, bigint][] = [
      // x, shift, half_even, half_away
      [3n, 1, 2n, 2n],
      [5n, 1, 2n, 3n],
      [-3n, 1, -2n, -2n],
      [-5n, 1, -2n, -3n],
      [1n, 1, 0n, 1n],
      [-1n, 1, 0n, -1n],
      [6n, 2, 2n, 2n],
      [-6n, 2, -2n, -2n],
      [10n, 2, 2n, 3n],
      [-10n, 2, -2n, -3n],
      [7n, 2, 2n, 2n],
      [-7n, 2, -2n, -2n],
      [12345n, 0, 12345n, 12345n],
      [-3n, -4, -48n, -48n],
      [-(1n << 63n), 63, -1n, -1n],
      [(1n << 63n) - 1n, 63, 1n, 1n],
      [1n << 62n, 63, 0n, 1n],
      [-(1n << 62n), 63, 0n, -1n],
    ];
    for (const [x, s, even, away] of cases) {
      expect(roundingShiftRightI64(x, s, 'half_even'), `half_even ${x} >> ${s}`).toBe(even);
      expect(roundingShiftRightI64(x, s, 'half_away'), `half_away ${x} >> ${s}`).toBe(away);
    }
  });

  it('seed 25: agrees with roundWith(x / 2^shift) where that is exact (|x| < 2^53)', () => {
    const p = new Prng(25);
    for (let i = 0; i < 50000; i++) {
      const x = p.int(-(2 ** 40), 2 ** 40) * (p.next() < 0.5 ? 1 : 2 ** p.int(0, 12));
      const s = p.int(0, 40);
      for (const mode of MODES) {
        const got = roundingShiftRightI64(BigInt(x), s, mode);
        const want = roundWith(mode, x / 2 ** s);
        if (Number(got) !== want) expect(Number(got), `${mode} ${x} >> ${s}`).toBe(want);
      }
    }
  });

  it('seed 26: 64-bit accumulators: |result * 2^s - x| <= 2^(s-1), ties by mode', () => {
    const p = new Prng(26);
    for (let i = 0; i < 20000; i++) {
      const x = (BigInt(p.nextU32() | 0) << 32n) | BigInt(p.nextU32());
      const s = p.int(1, 62);
      const half = 1n << BigInt(s - 1);
      for (const mode of MODES) {
        const r = roundingShiftRightI64(x, s, mode);
        const d = (r << BigInt(s)) - x;
        const where = `${mode} ${x} >> ${s} = ${r}`;
        expect(d <= half && d >= -half, where).toBe(true);
        if (d === half || d === -half) {
          if (mode === 'half_even') expect(r % 2n === 0n, where).toBe(true);
          else {
            const absR = r < 0n ? -r : r;
            const absX = x < 0n ? -x : x;
            expect((r >= 0n) === (x >= 0n) && absR * (1n << BigInt(s)) > absX, `${where}: tie not away from zero`).toBe(true);
          }
        }
      }
    }
  });
});

// ---- scheme parameters ------------------------------------------------------------------------

function params(lo: number, hi: number, scheme: Scheme, scaleType?: ScaleType, rounding: RoundingMode = 'half_even'): QuantParams {
  return quantParamsFromRanges({ lo: [lo], hi: [hi] }, null, { scheme, scaleType, rounding });
}

/** Check quantize/dequantize error of x (inside the widened range) against the proven bound. */
function expectRoundTrip(p: QuantParams, x: number, lo: number, hi: number, where: string): void {
  const q = quantizeValue(x, p, 0);
  const back = dequantizeValue(q, p, 0);
  const s = p.scale[0];
  const mag = Math.max(Math.abs(Math.min(lo, 0)), Math.abs(Math.max(hi, 0)));
  const tol = p.scaleType === 'pow2' ? s / 2 : quantRoundTripTolerance(s, mag);
  const err = Math.abs(back - Math.fround(x));
  if (!(err <= tol)) {
    expect.fail(`${where}: x=${x} -> q=${q} -> ${back}: |err| ${err} > tol ${tol} (scale ${s}, z ${p.zeroPoint[0]})`);
  }
}

describe('q8 parameters', () => {
  it('[-1, 3] linear: scale 4/255 in f32, zero point 64 (63.75 nudged), 0 exact', () => {
    const p = params(-1, 3, 'q8');
    expect(p.dtype).toBe('uint8');
    expect([p.qmin, p.qmax]).toEqual([0, 255]);
    expect(p.scale[0]).toBe(Math.fround(4 / 255));
    expect(p.zeroPoint[0]).toBe(64);
    expect(quantizeValue(0, p, 0)).toBe(64);
    expect(same(dequantizeValue(64, p, 0), 0)).toBe(true);
    expect(effectiveRange(p, 0)).toEqual({ lo: Math.fround(-64 * p.scale[0]), hi: Math.fround(191 * p.scale[0]) });
  });

  it('[-1, 3] pow2: scale 2^-5 (the smallest power of two with 255 s >= 4), zero point 32', () => {
    const p = params(-1, 3, 'q8', 'pow2');
    expect(p.scale[0]).toBe(2 ** -5);
    expect(Array.from(p.fracBits ?? [])).toEqual([5]);
    expect(p.zeroPoint[0]).toBe(32);
  });

  it('ranges excluding 0 are widened to include it', () => {
    for (const scaleType of ['linear', 'pow2'] as const) {
      const pos = params(2, 5, 'q8', scaleType);
      const zero = params(0, 5, 'q8', scaleType);
      expect(pos.scale[0]).toBe(zero.scale[0]);
      expect(pos.zeroPoint[0]).toBe(0);
      const neg = params(-5, -2, 'q8', scaleType);
      expect(neg.scale[0]).toBe(zero.scale[0]);
      expect(neg.zeroPoint[0]).toBe(scaleType === 'linear' ? 255 : 160); // pow2: s = 2^-5, 5 / s = 160
      expect(dequantizeValue(quantizeValue(0, neg, 0), neg, 0)).toBe(0);
    }
  });

  it('all-zero range -> the unit range [0, 1]; constant channels -> [0, c] / [c, 0]', () => {
    const lin = params(0, 0, 'q8');
    expect([lin.scale[0], lin.zeroPoint[0]]).toEqual([Math.fround(1 / 255), 0]);
    const pw = params(0, 0, 'q8', 'pow2');
    expect([pw.scale[0], pw.zeroPoint[0]]).toEqual([2 ** -7, 0]);
    for (const p of [lin, pw]) expect(dequantizeValue(quantizeValue(0, p, 0), p, 0)).toBe(0);
    const c = params(3, 3, 'q8');
    expect([c.scale[0], c.zeroPoint[0]]).toEqual([Math.fround(3 / 255), 0]);
    expectRoundTrip(c, 3, 3, 3, 'constant 3');
    const n = params(-3, -3, 'q8');
    expect([n.scale[0], n.zeroPoint[0]]).toEqual([Math.fround(3 / 255), 255]);
    expectRoundTrip(n, -3, -3, -3, 'constant -3');
  });

  it('huge (1e30) and tiny (1e-30, 1e-40) ranges', () => {
    const huge = params(-1e30, 1e30, 'q8');
    expect(huge.scale[0]).toBe(Math.fround(2e30 / 255));
    const tiny = params(0, 1e-30, 'q8');
    expect(tiny.scale[0]).toBe(Math.fround(1e-30 / 255));
    // below the smallest scale: coarser, never saturating
    const sub = params(-1e-40, 1e-40, 'q8');
    expect(sub.scale[0]).toBe(SCALE_MIN);
    expect(sub.zeroPoint[0]).toBe(0);
    expect(params(0, 1e-40, 'q8', 'pow2').scale[0]).toBe(SCALE_MIN);
    // the largest subnormal f32 quantizes to z at the smallest scale: a GPU that flushes it to 0 agrees
    const maxSubnormal = 2 ** -126 - 2 ** -149;
    for (const rounding of MODES) {
      for (const scheme of ['q8', 'q16'] as const) {
        const q = params(-1e-40, 1e-40, scheme, 'linear', rounding);
        expect(q.scale[0]).toBe(SCALE_MIN);
        expect(quantizeValue(maxSubnormal, q, 0), `${scheme} ${rounding}`).toBe(q.zeroPoint[0]);
        expect(quantizeValue(-maxSubnormal, q, 0), `${scheme} ${rounding}`).toBe(q.zeroPoint[0]);
      }
    }
    for (const [lo, hi] of [
      [-1e30, 1e30],
      [0, 1e-30],
      [-1e-30, 3e-31],
      [-1e-40, 1e-40],
      [-RANGE_MAX, RANGE_MAX],
      [-RANGE_MAX, 1],
    ]) {
      for (const scaleType of ['linear', 'pow2'] as const) {
        const p = params(lo, hi, 'q8', scaleType);
        for (const x of [lo, hi, 0, Math.fround(lo / 3), Math.fround(hi / 7)]) expectRoundTrip(p, x, lo, hi, `q8 ${scaleType} [${lo}, ${hi}]`);
      }
    }
  });

  it('the widest valid range keeps every level a finite float32 (all schemes)', () => {
    for (const { scheme, scaleType } of COMBOS) {
      for (const [lo, hi] of [
        [-RANGE_MAX, RANGE_MAX],
        [-RANGE_MAX, 0],
        [0, RANGE_MAX],
      ]) {
        const p = params(lo, hi, scheme, scaleType);
        const r = effectiveRange(p, 0);
        const where = `${scheme} ${scaleType} [${lo}, ${hi}]: levels [${r.lo}, ${r.hi}]`;
        expect(Number.isFinite(r.lo) && Number.isFinite(r.hi), where).toBe(true);
        expect(r.lo <= Math.min(lo, 0) + p.scale[0] && r.hi >= hi - p.scale[0], where).toBe(true);
        for (const x of [lo, hi]) expectRoundTrip(p, x, lo, hi, where);
      }
    }
  });

  it('seed 31: zero point is round(-lo/s) in [0, 255] and 0 is exact for 2000 random ranges', () => {
    const p = new Prng(31);
    for (let i = 0; i < 2000; i++) {
      const lo = Math.fround(-p.next() * 2 ** p.int(-20, 20));
      const hi = Math.fround(p.next() * 2 ** p.int(-20, 20));
      for (const scaleType of ['linear', 'pow2'] as const) {
        const q = params(lo, hi, 'q8', scaleType);
        const s = q.scale[0];
        const z = q.zeroPoint[0];
        const where = `[${lo}, ${hi}] ${scaleType}: s=${s} z=${z}`;
        expect(z, where).toBe(Math.min(255, roundHalfEven(-lo / s)));
        expect(quantizeValue(0, q, 0), where).toBe(z);
        expect(dequantizeValue(z, q, 0), where).toBe(0);
        if (scaleType === 'pow2') {
          expect(255 * s >= hi - lo && 255 * (s / 2) < hi - lo, `${where}: not the smallest power of two`).toBe(true);
        }
      }
    }
  });
});

describe('q16 dynamic fixed point: frac bits', () => {
  const f = (lo: number, hi: number, rounding: RoundingMode = 'half_even') => params(lo, hi, 'q16', 'pow2', rounding).fracBits?.[0];

  it('hand-checked: exact powers of two and just below them', () => {
    expect(f(0, 1)).toBe(14);
    expect(f(-1, 1)).toBe(14);
    expect(f(-1, 0.5)).toBe(15); // -1 * 2^15 = -32768 fits
    expect(f(-1, 0)).toBe(15);
    expect(f(0, 2)).toBe(13);
    expect(f(-2, 0)).toBe(14);
    expect(f(0, 0.75)).toBe(15);
    expect(f(0, 32767 / 32768)).toBe(15);
    expect(f(0, 0.5)).toBe(15);
    expect(f(0, 32767)).toBe(0);
    expect(f(0, 32767.4)).toBe(0);
    expect(f(0, 32767.5)).toBe(-1); // rounds to 32768 in both modes
    expect(f(0, 65534)).toBe(-1);
    expect(f(-32768, 32767)).toBe(0);
    expect(f(0, 0)).toBe(14); // degenerate: unit range [0, 1]
    expect(f(5, 5)).toBe(f(0, 5)); // constant channel
  });

  it('the rounding mode decides ties at the boundary: lo = -(1 + 2^-16)', () => {
    // -(1 + 2^-16) * 2^15 = -32768.5: half_even -> -32768 (fits), half_away -> -32769 (saturates)
    expect(f(-(1 + 2 ** -16), 0, 'half_even')).toBe(15);
    expect(f(-(1 + 2 ** -16), 0, 'half_away')).toBe(14);
  });

  it("Ristretto's il = ceil(log2 max|x|) + 1 saturates at exact powers of two; this rule never does", () => {
    for (const m of [0.25, 0.5, 1, 2, 4, 1024]) {
      const ristrettoF = 16 - (Math.ceil(Math.log2(m)) + 1);
      const ristretto = fromJson({ dtype: 'int16', axis: null, scale: [2 ** -ristrettoF], zero_point: [0], frac_bits: [ristrettoF] });
      const qR = quantizeValue(m, ristretto, 0);
      expect(qR, `Ristretto f=${ristrettoF} for max ${m}`).toBe(32767); // m * 2^f = 32768: saturated
      expect(dequantizeValue(qR, ristretto, 0)).toBeLessThan(m);
      const ours = params(-m, m, 'q16');
      expect(ours.fracBits?.[0]).toBe(ristrettoF - 1);
      expect(dequantizeValue(quantizeValue(m, ours, 0), ours, 0), `max ${m}`).toBe(m);
      expect(dequantizeValue(quantizeValue(-m, ours, 0), ours, 0), `min ${-m}`).toBe(-m);
    }
  });

  it('seed 32: the largest f with no saturation on 3000 random ranges of every magnitude (and both modes)', () => {
    const p = new Prng(32);
    for (let i = 0; i < 3000; i++) {
      const e = p.int(-100, 100);
      const lo = p.next() < 0.2 ? 0 : Math.fround(-p.next() * 2 ** e);
      const hi = p.next() < 0.2 ? 0 : Math.fround(p.next() * 2 ** (e + p.int(-3, 3)));
      if (lo === 0 && hi === 0) continue;
      for (const mode of MODES) {
        const fb = f(lo, hi, mode) as number;
        const ok = (g: number) => roundWith(mode, hi * 2 ** g) <= 32767 && roundWith(mode, lo * 2 ** g) >= -32768;
        const where = `[${lo}, ${hi}] ${mode}: f=${fb}`;
        expect(ok(fb), `${where} saturates`).toBe(true);
        expect(ok(fb + 1), `${where} is not the largest`).toBe(false);
        const q = params(lo, hi, 'q16', 'pow2', mode);
        for (const x of [lo, hi]) {
          const qx = quantizeValue(x, q, 0);
          expect(qx > -32768 || roundWith(mode, x * 2 ** fb) === -32768, `${where}: ${x} saturates`).toBe(true);
          expect(qx < 32767 || roundWith(mode, x * 2 ** fb) === 32767, `${where}: ${x} saturates`).toBe(true);
        }
      }
    }
  });

  it('tiny and huge ranges: 1e-30, 1e30, 2^125; below 2^-110 f stops at FRAC_BITS_MAX', () => {
    for (const m of [1e-30, 3e-20, 1e30, RANGE_MAX]) {
      const q = params(-m, m, 'q16');
      const fb = q.fracBits?.[0] as number;
      expect(roundHalfEven(m * 2 ** fb) <= 32767 && roundHalfEven(m * 2 ** (fb + 1)) > 32767, `m=${m} f=${fb}`).toBe(true);
      expectRoundTrip(q, m, -m, m, `q16 m=${m}`);
      expectRoundTrip(q, -m, -m, m, `q16 m=${m}`);
    }
    expect(params(0, RANGE_MAX, 'q16').fracBits?.[0]).toBe(-111);
    const t = params(0, 2 ** -120, 'q16');
    expect(t.fracBits?.[0]).toBe(FRAC_BITS_MAX);
    expect(quantizeValue(2 ** -120, t, 0)).toBe(32);
  });
});

describe('q16 linear (symmetric, real scale)', () => {
  it('scale max|x| / 32767 in f32, zero point 0, +-max|x| -> +-32767', () => {
    const p = params(-2, 1, 'q16', 'linear');
    expect(p.dtype).toBe('int16');
    expect(p.scale[0]).toBe(Math.fround(2 / 32767));
    expect(p.zeroPoint[0]).toBe(0);
    expect(p.fracBits).toBeNull();
    expect(quantizeValue(-2, p, 0)).toBe(-32767);
    expect(quantizeValue(1, p, 0)).toBe(roundHalfEven(Math.fround(1 * Math.fround(1 / p.scale[0]))));
    expect(params(0, 0, 'q16', 'linear').scale[0]).toBe(Math.fround(1 / 32767));
  });
});

describe('range validation', () => {
  for (const [lo, hi, why] of [
    [1, 0, 'lo > hi'],
    [NaN, 1, 'NaN'],
    [0, Infinity, 'infinite'],
    [-1e39, 0, 'beyond float32'],
    [0, RANGE_MAX * 1.01, 'beyond 2^125'],
  ] as const) {
    it(`${why} -> InputError naming the range`, () => {
      for (const { scheme, scaleType } of COMBOS) {
        expect(() => sliceQuantParams(lo, hi, { scheme, scaleType }, 'conv1/out slice 2')).toThrow(/conv1\/out slice 2/);
        expect(() => sliceQuantParams(lo, hi, { scheme, scaleType })).toThrow(InputError);
      }
    });
  }
  it('bad options -> InputError', () => {
    expect(() => params(0, 1, 'q4' as Scheme)).toThrow(InputError);
    expect(() => params(0, 1, 'q8', 'log' as ScaleType)).toThrow(InputError);
    expect(() => params(0, 1, 'q8', 'linear', 'up' as RoundingMode)).toThrow(InputError);
    expect(() => quantParamsFromRanges({ lo: [0, 0], hi: [1, 1] }, null, { scheme: 'q8' })).toThrow(/exactly one slice/);
    expect(() => quantParamsFromRanges({ lo: [0], hi: [1, 1] }, 0, { scheme: 'q8' })).toThrow(InputError);
  });
});

// ---- quantize / dequantize --------------------------------------------------------------------

describe('quantize / dequantize', () => {
  it('seed 41: error <= the proven bound inside the range, every scheme and rounding mode', () => {
    const p = new Prng(41);
    for (let i = 0; i < 300; i++) {
      const e = p.int(-40, 40);
      const lo = p.next() < 0.25 ? 0 : Math.fround(-p.next() * 2 ** e);
      const hi = p.next() < 0.25 ? 0 : Math.fround(p.next() * 2 ** (e + p.int(-4, 4)));
      const wlo = Math.min(lo, 0);
      const whi = Math.max(hi, 0) || (wlo === 0 ? 1 : 0);
      for (const { scheme, scaleType } of COMBOS) {
        for (const rounding of MODES) {
          const q = params(lo, hi, scheme, scaleType, rounding);
          for (let k = 0; k < 50; k++) {
            const x = Math.min(whi, Math.max(wlo, Math.fround(wlo + (whi - wlo) * p.next())));
            expectRoundTrip(q, x, wlo, whi, `${scheme} ${scaleType} ${rounding} [${lo}, ${hi}]`);
          }
          for (const x of [wlo, whi, 0]) expectRoundTrip(q, x, wlo, whi, `${scheme} ${scaleType} ${rounding} [${lo}, ${hi}] end`);
        }
      }
    }
  });

  it('ties follow the rounding mode', () => {
    // q16 pow2 with f = 0: x * 2^0 = x
    const even = params(-32768, 32767, 'q16', 'pow2', 'half_even');
    const away = params(-32768, 32767, 'q16', 'pow2', 'half_away');
    expect(even.fracBits?.[0]).toBe(0);
    for (const [x, e, a] of [
      [0.5, 0, 1],
      [1.5, 2, 2],
      [2.5, 2, 3],
      [-0.5, 0, -1],
      [-2.5, -2, -3],
      [0.49999997, 0, 0], // largest f32 below 0.5
    ]) {
      expect(quantizeValue(x, even, 0), `half_even ${x}`).toBe(e);
      expect(quantizeValue(x, away, 0), `half_away ${x}`).toBe(a);
    }
    // q8 linear [0, 255]: scale 1, zero point 0
    const q8e = params(0, 255, 'q8', 'linear', 'half_even');
    const q8a = params(0, 255, 'q8', 'linear', 'half_away');
    expect([q8e.scale[0], q8e.zeroPoint[0]]).toEqual([1, 0]);
    expect([quantizeValue(2.5, q8e, 0), quantizeValue(2.5, q8a, 0)]).toEqual([2, 3]);
    expect([quantizeValue(254.5, q8e, 0), quantizeValue(254.5, q8a, 0)]).toEqual([254, 255]);
  });

  it('the value is taken as float32 first', () => {
    const q = params(-32768, 32767, 'q16');
    // 0.5000000001 is 0.5 in f32: a tie, not above it
    expect(quantizeValue(0.5000000001, q, 0)).toBe(0);
    expect(quantizeValue(2.5000000001, q, 0)).toBe(2);
  });

  it('clamps outside the range, including values that would overflow f32 after scaling', () => {
    for (const { scheme, scaleType } of COMBOS) {
      const q = params(-1e-30, 1e-30, scheme, scaleType);
      expect(quantizeValue(F32_MAX, q, 0), `${scheme} ${scaleType}`).toBe(q.qmax);
      expect(quantizeValue(-F32_MAX, q, 0), `${scheme} ${scaleType}`).toBe(q.qmin);
      expect(quantizeValue(1, q, 0)).toBe(q.qmax);
      const r = params(-1, 1, scheme, scaleType);
      expect(quantizeValue(5, r, 0)).toBe(r.qmax);
      expect(quantizeValue(-5, r, 0)).toBe(r.qmin);
      expect(dequantizeValue(quantizeValue(5, r, 0), r, 0)).toBe(effectiveRange(r, 0).hi);
    }
  });

  it('seed 42: the pre-clamp to +-B never changes a result (checked against the formula without it)', () => {
    const p = new Prng(42);
    for (let i = 0; i < 200; i++) {
      const lo = Math.fround(-p.next() * 2 ** p.int(-30, 30));
      const hi = Math.fround(p.next() * 2 ** p.int(-30, 30));
      for (const { scheme, scaleType } of COMBOS) {
        for (const rounding of MODES) {
          const q = params(lo, hi, scheme, scaleType, rounding);
          const c = f32Constants(q);
          const inv = c.invScale[0];
          const z = q.zeroPoint[0];
          for (let k = 0; k < 40; k++) {
            const x = Math.fround((p.next() - 0.5) * 2 ** p.int(-40, 40) * c.bound[0]);
            const y = Math.fround(x * inv);
            if (!Number.isFinite(y)) continue;
            const noClamp = Math.min(q.qmax, Math.max(q.qmin, roundWith(rounding, y) + z));
            const got = quantizeValue(x, q, 0);
            if (got !== noClamp) expect(got, `${scheme} ${scaleType} ${rounding} [${lo}, ${hi}] x=${x}`).toBe(noClamp);
          }
        }
      }
    }
  });

  it('f32 constants: inverse scale exactly 2^f for pow2, bound = s * 2^17 capped at f32 max', () => {
    const q = quantParamsFromRanges({ lo: [-1, -(2 ** 100), 0], hi: [1, 0, 1e-38] }, 0, { scheme: 'q16' });
    const c = f32Constants(q);
    for (let i = 0; i < 3; i++) {
      expect(c.invScale[i]).toBe(2 ** (q.fracBits as Int32Array)[i]);
      expect(c.bound[i]).toBe(q.scale[i] * 2 ** 17);
    }
    const big = f32Constants(params(-RANGE_MAX, RANGE_MAX, 'q8'));
    expect(big.bound[0]).toBe(F32_MAX);
    expect(big.invScale[0]).toBe(Math.fround(1 / big.scale[0]));
  });

  it('rejects non-finite values and out-of-range integers', () => {
    const q = params(-1, 1, 'q8');
    expect(() => quantizeValue(NaN, q, 0)).toThrow(InputError);
    expect(() => dequantizeValue(256, q, 0)).toThrow(InputError);
    expect(() => dequantizeValue(1.5, q, 0)).toThrow(InputError);
    expect(() => quantizeValue(0, q, 1)).toThrow(/slice index 1/);
  });
});

describe('tensors: per channel vs per tensor', () => {
  // NCHW [2, 3, 2, 2]: channel c holds values of magnitude 10^c
  function nchw(): ReturnType<typeof f32> {
    const data = new Float32Array(24);
    const p = new Prng(51);
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 4; i++) data[(n * 3 + c) * 4 + i] = Math.fround(p.uniform(-1, 1) * 10 ** c);
      }
    }
    return f32([2, 3, 2, 2], data);
  }

  it('seed 51: per-channel (axis 1) quantizes each element with its channel parameters', () => {
    const t = nchw();
    const lo = [0, 0, 0].map((_, c) => Math.min(...[0, 1].flatMap((n) => Array.from(t.data.subarray((n * 3 + c) * 4, (n * 3 + c) * 4 + 4)))));
    const hi = [0, 0, 0].map((_, c) => Math.max(...[0, 1].flatMap((n) => Array.from(t.data.subarray((n * 3 + c) * 4, (n * 3 + c) * 4 + 4)))));
    for (const { scheme, scaleType } of COMBOS) {
      const perCh = quantParamsFromRanges({ lo, hi }, 1, { scheme, scaleType });
      const qt = quantizeTensor(t, perCh);
      expect(qt.dtype).toBe(scheme === 'q8' ? 'uint8' : 'int16');
      expect(qt.shape).toEqual([2, 3, 2, 2]);
      const back = dequantizeTensor(qt, perCh);
      const fq = fakeQuantize(t, perCh);
      for (let i = 0; i < 24; i++) {
        const c = Math.floor(i / 4) % 3;
        expect(qt.data[i], `element ${i} channel ${c}`).toBe(quantizeValue(t.data[i], perCh, c));
        expect(back.data[i], `element ${i}`).toBe(dequantizeValue(qt.data[i], perCh, c));
        expect(fq.data[i], `element ${i}`).toBe(back.data[i]);
        const mag = Math.max(-Math.min(lo[c], 0), Math.max(hi[c], 0));
        const tol = scaleType === 'pow2' ? perCh.scale[c] / 2 : quantRoundTripTolerance(perCh.scale[c], mag);
        expect(Math.abs(back.data[i] - t.data[i]) <= tol, `element ${i}: ${back.data[i]} vs ${t.data[i]} tol ${tol}`).toBe(true);
      }
      // per tensor: one scale for all; the small channel 0 loses precision against per channel
      const perT = quantParamsFromRanges({ lo: [Math.min(...lo)], hi: [Math.max(...hi)] }, null, { scheme, scaleType });
      const fqT = fakeQuantize(t, perT);
      let errT = 0;
      let errC = 0;
      for (let i = 0; i < 24; i++) {
        expect(fqT.data[i]).toBe(dequantizeValue(quantizeValue(t.data[i], perT, 0), perT, 0));
        if (Math.floor(i / 4) % 3 === 0) {
          errT = Math.max(errT, Math.abs(fqT.data[i] - t.data[i]));
          errC = Math.max(errC, Math.abs(fq.data[i] - t.data[i]));
        }
      }
      expect(errC, `${scheme} ${scaleType}: channel 0 per-channel error ${errC} vs per-tensor ${errT}`).toBeLessThan(errT);
    }
  });

  it('axis 0 for OIHW weights and [4H, I] LSTM weights', () => {
    const w = f32([2, 3], [1, -2, 0.5, 100, 50, -25]);
    const q = quantParamsFromRanges({ lo: [-2, -25], hi: [1, 100] }, 0, { scheme: 'q8' });
    const qt = quantizeTensor(w, q);
    for (let i = 0; i < 6; i++) expect(qt.data[i]).toBe(quantizeValue(w.data[i], q, Math.floor(i / 3)));
  });

  it('mismatches -> InputError naming the tensor', () => {
    const t = nchw();
    const two = quantParamsFromRanges({ lo: [-1, -1], hi: [1, 1] }, 1, { scheme: 'q8' });
    expect(() => quantizeTensor(t, two, 'conv1/out')).toThrow(/conv1\/out.*3 slice\(s\).*have 2/);
    const bad = f32([1, 3, 1, 1], [0, NaN, 0]);
    const p3 = quantParamsFromRanges({ lo: [-1, -1, -1], hi: [1, 1, 1] }, 1, { scheme: 'q8' });
    expect(() => quantizeTensor(bad, p3, 'conv1/out')).toThrow(/conv1\/out.*NaN.*flat index 1/);
    const q16 = quantParamsFromRanges({ lo: [-1, -1, -1], hi: [1, 1, 1] }, 1, { scheme: 'q16' });
    expect(() => dequantizeTensor(quantizeTensor(t, p3), q16)).toThrow(/dtype uint8/);
    const axis5 = quantParamsFromRanges({ lo: [-1], hi: [1] }, 5, { scheme: 'q8' });
    expect(() => quantizeTensor(t, axis5)).toThrow(/axis 5/);
    expect(() => dequantizeTensor(tensor('uint8', [1, 3, 1, 1]), p3)).not.toThrow();
  });
});

describe('JSON form', () => {
  it('keys, order, frac_bits only for pow2, and a lossless round trip', () => {
    const q8 = quantParamsFromRanges({ lo: [-1, 0], hi: [3, 0.1] }, 1, { scheme: 'q8' });
    const j8 = JSON.parse(JSON.stringify(toJson(q8)));
    expect(Object.keys(j8)).toEqual(['dtype', 'axis', 'scale', 'zero_point']);
    expect(j8).toEqual({ dtype: 'uint8', axis: 1, scale: [Math.fround(4 / 255), Math.fround(0.1 / 255)], zero_point: [64, 0] });
    expect(fromJson(j8)).toEqual(q8);
    const q16 = quantParamsFromRanges({ lo: [-1], hi: [1] }, null, { scheme: 'q16', rounding: 'half_away' });
    const j16 = JSON.parse(JSON.stringify(toJson(q16)));
    expect(j16).toEqual({ dtype: 'int16', axis: null, scale: [2 ** -14], zero_point: [0], frac_bits: [14] });
    expect(fromJson(j16, 'half_away')).toEqual(q16);
    const q8p = quantParamsFromRanges({ lo: [-1], hi: [3] }, null, { scheme: 'q8', scaleType: 'pow2' });
    expect(fromJson(JSON.parse(JSON.stringify(toJson(q8p))))).toEqual(q8p);
  });

  it('invalid JSON -> InputError', () => {
    const good = { dtype: 'int16', axis: null, scale: [0.25], zero_point: [0], frac_bits: [2] };
    expect(() => fromJson(good)).not.toThrow();
    const bad: [string, unknown][] = [
      ['dtype', { ...good, dtype: 'int8' }],
      ['frac_bits', { ...good, frac_bits: [3] }],
      ['float32', { ...good, frac_bits: undefined, scale: [0.1] }],
      ['zero_point', { ...good, zero_point: [40000] }],
      ['exactly one slice', { ...good, scale: [0.25, 0.25], zero_point: [0, 0], frac_bits: [2, 2] }],
      ['zero points', { ...good, axis: 0, scale: [0.25, 0.25], zero_point: [0], frac_bits: [2, 2] }],
      ['scale', { ...good, scale: ['x'] }],
      ['JSON object', [1, 2]],
      ['scale\\[0\\]', { dtype: 'uint8', axis: null, scale: [0], zero_point: [0] }],
      ['beyond the float32 range', { dtype: 'int16', axis: null, scale: [2 ** 126], zero_point: [0], frac_bits: [-126] }],
    ];
    for (const [msg, j] of bad) expect(() => fromJson(j), msg).toThrow(new RegExp(msg));
  });
});
