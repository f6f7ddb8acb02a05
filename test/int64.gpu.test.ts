/**
 * The WGSL integer library (shaders/int64.wgsl, shaders/requant.wgsl) against
 * its BigInt reference (src/quant/requant.ts), element by element, exactly.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/data/prng.js';
import { withIntegerLibrary } from '../src/gpu/shader-lib.js';
import { INT32_MAX, INT32_MIN, mbqm, rdbpot, requantLinear64, roundShiftClamp, srdhm } from '../src/quant/requant.js';
import type { RoundingMode } from '../src/quant/rounding.js';
import intOps from './shaders/int-ops.wgsl';
import { useGpu } from './helpers.js';

const SHADER = withIntegerLibrary('test/int-ops', intOps);
const EXTREMES = [0, 1, -1, 2, -2, 3, 0x7fff, -0x8000, 0x8000, 0xffff, 0x10000, 1 << 30, -(1 << 30), INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1];

function i64Parts(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(BigInt.asIntN(32, u & 0xffffffffn)), Number(BigInt.asIntN(32, u >> 32n))];
}

describe('WGSL integer library vs BigInt reference (bit-exact)', () => {
  const gpu = useGpu();

  async function run(op: number, cols: Int32Array[], mode: RoundingMode = 'half_even'): Promise<Int32Array> {
    const ctx = gpu();
    const n = cols[0].length;
    const k = ctx.kernel(SHADER);
    const names = ['a', 'b', 'c', 'd'];
    const bufs = names.map((name, j) => ctx.upload(cols[j] ?? new Int32Array(n), `int-ops/${name}`));
    const out = ctx.alloc(n * 8, 'int-ops/result');
    try {
      await ctx.run('int-ops', (batch) =>
        batch.dispatch(k, {
          buffers: { a: bufs[0], b: bufs[1], c: bufs[2], d: bufs[3], result: out },
          params: { op, mode: mode === 'half_even' ? 0 : 1, count: n },
          workgroups: [Math.ceil(n / 64)],
        }),
      );
      return new Int32Array(await ctx.read(out, n * 8));
    } finally {
      ctx.release(...bufs, out);
    }
  }

  function pairs(seed: number, n: number): [Int32Array, Int32Array] {
    const p = new Prng(seed);
    const a: number[] = [];
    const b: number[] = [];
    for (const x of EXTREMES) for (const y of EXTREMES) (a.push(x), b.push(y));
    while (a.length < n) {
      a.push(p.nextU32() | 0);
      b.push(p.int(0, 3) === 0 ? p.int(-40000, 40000) : p.nextU32() | 0);
    }
    return [Int32Array.from(a), Int32Array.from(b)];
  }

  function expectAll(got: (i: number) => number | bigint, want: (i: number) => number | bigint, n: number, what: string) {
    const bad: string[] = [];
    for (let i = 0; i < n && bad.length < 10; i++) if (got(i) !== want(i)) bad.push(`[${i}] got ${got(i)} want ${want(i)}`);
    expect(bad, `${what}: mismatches\n${bad.join('\n')}`).toHaveLength(0);
  }

  it('seed 21: i64_mul_i32 is the exact 64-bit product', async () => {
    const [a, b] = pairs(21, 4096);
    const r = await run(0, [a, b]);
    expectAll(
      (i) => (BigInt(r[2 * i + 1]) << 32n) | BigInt(r[2 * i] >>> 0),
      (i) => BigInt(a[i]) * BigInt(b[i]),
      a.length,
      'i64_mul_i32',
    );
  });

  it('seed 22: srdhm (gemmlowp SaturatingRoundingDoublingHighMul)', async () => {
    const [a, b] = pairs(22, 4096);
    const r = await run(1, [a, b]);
    expectAll((i) => r[2 * i], (i) => srdhm(a[i], b[i]), a.length, 'srdhm');
  });

  it('seed 23: rdbpot (gemmlowp RoundingDivideByPOT), every exponent 0..31', async () => {
    const [a] = pairs(23, 4096);
    const e = Int32Array.from(a, (_, i) => i % 32);
    const r = await run(2, [a, e]);
    expectAll((i) => r[2 * i], (i) => rdbpot(a[i], e[i]), a.length, 'rdbpot');
  });

  it('seed 24: mbqm (TFLite MultiplyByQuantizedMultiplier, saturating left shift)', async () => {
    const [a] = pairs(24, 4096);
    const p = new Prng(24);
    const m = Int32Array.from(a, () => p.int(1 << 30, INT32_MAX));
    const s = Int32Array.from(a, () => p.int(-31, 8));
    const r = await run(3, [a, m, s]);
    expectAll((i) => r[2 * i], (i) => mbqm(a[i], m[i], s[i]), a.length, 'mbqm');
  });

  for (const mode of ['half_even', 'half_away'] as const) {
    it(`seed 25: round_shift_clamp to int16, ${mode}, ties and every shift -40..62`, async () => {
      const p = new Prng(25);
      const accs: bigint[] = [];
      const shifts: number[] = [];
      for (let s = -40; s <= 62; s++) {
        const cands: bigint[] = [0n, 1n, -1n, -(1n << 63n), (1n << 63n) - 1n];
        if (s > 0) {
          const half = 1n << BigInt(s - 1);
          for (const k of [0n, 1n, 2n, 3n, -1n, -2n, -3n, 32767n, -32768n]) cands.push((k << BigInt(s)) + half, (k << BigInt(s)) - half, (k << BigInt(s)) + half + 1n);
        }
        for (let j = 0; j < 20; j++) cands.push(BigInt.asIntN(64, (BigInt(p.nextU32()) << 32n) | BigInt(p.nextU32())) >> BigInt(p.int(0, 63)));
        for (const c of cands) (accs.push(BigInt.asIntN(64, c)), shifts.push(s));
      }
      const lo = Int32Array.from(accs, (v) => i64Parts(v)[0]);
      const hi = Int32Array.from(accs, (v) => i64Parts(v)[1]);
      const r = await run(4, [lo, hi, Int32Array.from(shifts)], mode);
      expectAll((i) => r[2 * i], (i) => roundShiftClamp(accs[i], shifts[i], mode, -32768, 32767), accs.length, `round_shift_clamp ${mode}`);
    });
  }

  it('seed 26: requant_linear64 (reduced 15-bit multiplier)', async () => {
    const p = new Prng(26);
    const n = 4096;
    const accs = Array.from({ length: n }, (_, i) =>
      i < 4 ? [0n, (1n << 47n) - 1n, -(1n << 47n), 12345n][i] : BigInt.asIntN(48, (BigInt(p.nextU32()) << 16n) | BigInt(p.nextU32() & 0xffff)) >> BigInt(p.int(0, 40)),
    );
    const m = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? INT32_MAX : p.int(1 << 30, INT32_MAX)));
    const s = Int32Array.from({ length: n }, () => p.int(-31, 7));
    const lo = Int32Array.from(accs, (v) => i64Parts(v)[0]);
    const hi = Int32Array.from(accs, (v) => i64Parts(v)[1]);
    const r = await run(5, [lo, hi, m, s], 'half_even');
    expectAll((i) => r[2 * i], (i) => requantLinear64(accs[i], m[i], s[i], 'half_even', -32768, 32767), n, 'requant_linear64');
  });
});
