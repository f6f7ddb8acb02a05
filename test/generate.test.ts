/** Data generators (src/data/generate.ts): determinism, pinned values, moments within sampling error, tails, weights. */
import { describe, expect, it } from 'vitest';
import {
  DISTRIBUTIONS,
  generateInput,
  inputStream,
  randomConvWeights,
  randomLstmWeights,
  sample,
  sampleGamma,
  spreadChannels,
  weightStream,
  type Distribution,
  type SampleOptions,
} from '../src/data/generate.js';
import { Prng } from '../src/data/prng.js';
import { InputError } from '../src/errors.js';

/**
 * Moment checks use SAMPLING_SIGMAS standard errors of the estimate (the
 * asymptotic, normal-theory ones written beside each check). Two-sided,
 * 5 sigma is a 6e-7 chance per check of a false alarm for a correct sampler
 * (the seeds are fixed, so a pass is reproducible); a wrong variance or a
 * wrong transform misses by tens to hundreds of standard errors at n = 200k.
 */
const SAMPLING_SIGMAS = 5;
const N = 200_000;

interface Moments {
  mean: number;
  variance: number;
  /** Excess kurtosis m4 / m2^2 - 3 (central moments). */
  kurtosis: number;
}

function moments(x: Float32Array): Moments {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let m2 = 0;
  let m4 = 0;
  for (const v of x) {
    const d = (v - mean) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= x.length;
  m4 /= x.length;
  return { mean, variance: m2, kurtosis: m4 / (m2 * m2) - 3 };
}

/**
 * Population values and standard errors of a symmetric distribution with
 * variance v and standardized moments k4, k6, k8 (E[(X/sigma)^j]):
 * SE(mean) = sqrt(v / n); SE(variance) = v sqrt((k4 - 1) / n); and, by the
 * delta method for m4 / m2^2 (odd moments vanish, so centring adds nothing
 * at first order), SE(kurtosis) = sqrt((k8 - k4^2 - 4 k4 (k6 - k4) + 4 k4^2 (k4 - 1)) / n).
 */
function expected(v: number, k4: number, k6: number, k8: number, n: number) {
  return {
    mean: 0,
    variance: v,
    kurtosis: k4 - 3,
    se: {
      mean: Math.sqrt(v / n),
      variance: v * Math.sqrt((k4 - 1) / n),
      kurtosis: Math.sqrt((k8 - k4 * k4 - 4 * k4 * (k6 - k4) + 4 * k4 * k4 * (k4 - 1)) / n),
    },
  };
}

/** Standardized moments of Student-t with nu > 8: k4 = 3(nu-2)/(nu-4), k6 = 15(nu-2)^2/((nu-4)(nu-6)), k8 = 105(nu-2)^3/((nu-4)(nu-6)(nu-8)). */
function studentT(nu: number, n: number) {
  const a = nu - 2;
  return expected(1, (3 * a) / (nu - 4), (15 * a * a) / ((nu - 4) * (nu - 6)), (105 * a ** 3) / ((nu - 4) * (nu - 6) * (nu - 8)), n);
}

const CASES: { seed: number; dist: Distribution; opts?: SampleOptions; want: ReturnType<typeof expected>; skip?: ('variance' | 'kurtosis')[] }[] = [
  // U(-1, 1): variance 1/3, standardized k4 = 9/5, k6 = 27/7, k8 = 9.
  { seed: 101, dist: 'uniform', want: expected(1 / 3, 9 / 5, 27 / 7, 9, N) },
  // N(0, 1): k4 = 3, k6 = 15, k8 = 105.
  { seed: 102, dist: 'normal', want: expected(1, 3, 15, 105, N) },
  // Laplace with b = 1/sqrt(2): E|X|^j = j! b^j, so k4 = 6, k6 = 90, k8 = 2520.
  { seed: 103, dist: 'laplace', want: expected(1, 6, 90, 2520, N) },
  // Student-t, nu = 10 (integer: chi-square as a sum of squares), unit variance by default.
  { seed: 104, dist: 'student-t', opts: { nu: 10 }, want: studentT(10, N) },
  // Student-t, nu = 6.5 (Gamma path): k4 = 3 * 4.5 / 2.5 = 5.4; the kurtosis SE needs k8 (nu > 8), so not checked.
  { seed: 105, dist: 'student-t', opts: { nu: 6.5 }, want: expected(1, 5.4, 0, 0, N), skip: ['kurtosis'] },
  // Student-t, nu = 3 (the default): the fourth moment is infinite, so only the mean is checked here (tails below).
  { seed: 106, dist: 'student-t', want: expected(1, 0, 0, 0, N), skip: ['variance', 'kurtosis'] },
  // Shifted and scaled: N(2, 0.5^2), U(3, 5) (mean 4, variance 1/3).
  { seed: 107, dist: 'normal', opts: { loc: 2, scale: 0.5 }, want: { ...expected(0.25, 3, 15, 105, N), mean: 2 } },
  { seed: 108, dist: 'uniform', opts: { lo: 3, hi: 5 }, want: { ...expected(1 / 3, 9 / 5, 27 / 7, 9, N), mean: 4 } },
];

describe('sample: moments within sampling error (n = 200k, 5 standard errors)', () => {
  for (const c of CASES) {
    it(`seed ${c.seed}: ${c.dist} ${JSON.stringify(c.opts ?? {})}`, () => {
      const m = moments(sample(new Prng(c.seed), c.dist, N, c.opts));
      for (const k of ['mean', 'variance', 'kurtosis'] as const) {
        if (c.skip?.includes(k as 'variance' | 'kurtosis')) continue;
        const tol = SAMPLING_SIGMAS * c.want.se[k];
        expect(Math.abs(m[k] - c.want[k]), `${k}: got ${m[k]}, want ${c.want[k]} +- ${tol}`).toBeLessThanOrEqual(tol);
      }
    });
  }

  it('seed 109: Gamma(a) has mean a and variance a, for a < 1 (boost) and a >= 1', () => {
    const p = new Prng(109);
    for (const a of [0.3, 1, 2.5, 40]) {
      const x = new Float32Array(N).map(() => sampleGamma(p, a));
      const m = moments(x);
      // SE(mean) = sqrt(a / n); SE(variance) = sqrt((mu4 - a^2) / n) with mu4 = 3a^2 + 6a for Gamma(a, 1).
      const seVar = Math.sqrt((3 * a * a + 6 * a - a * a) / N);
      expect(Math.abs(m.mean - a), `a ${a} mean ${m.mean}`).toBeLessThanOrEqual(SAMPLING_SIGMAS * Math.sqrt(a / N));
      expect(Math.abs(m.variance - a), `a ${a} variance ${m.variance}`).toBeLessThanOrEqual(SAMPLING_SIGMAS * seVar);
    }
  });
});

/** Two-sided tail P(|T| > t) of Student-t with 3 degrees of freedom (closed form of its CDF). */
function t3Tail(t: number): number {
  const u = t / Math.sqrt(3);
  const cdf = 0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI;
  return 2 * (1 - cdf);
}

describe('sample: tails', () => {
  it('seeds 110-112: at 4 and 8 standard deviations Student-t(3) > Laplace > normal, each as theory says', () => {
    const count = (x: Float32Array, a: number) => x.reduce((n, v) => n + (Math.abs(v) > a ? 1 : 0), 0);
    const normal = sample(new Prng(110), 'normal', N);
    const laplace = sample(new Prng(111), 'laplace', N);
    const t3 = sample(new Prng(112), 'student-t', N);
    const scale = Math.sqrt(1 / 3); // unit-variance scale of T_3
    for (const a of [2, 4, 8]) {
      // Theory: normal 2 * Q(a) (4.55e-2, 6.33e-5, 1.2e-15), Laplace exp(-a sqrt 2), t3 from its CDF.
      const pNormal = ({ 2: 0.0455002638963584, 4: 6.334248366623996e-5, 8: 1.2441921148543057e-15 } as Record<number, number>)[a];
      for (const [name, x, p] of [['normal', normal, pNormal], ['laplace', laplace, Math.exp(-a * Math.SQRT2)], ['t3', t3, t3Tail(a / scale)]] as const) {
        const k = count(x, a);
        const tol = SAMPLING_SIGMAS * Math.sqrt(N * p * (1 - p)) + 1; // binomial SE, +1 for the integer count
        expect(Math.abs(k - N * p), `${name}: ${k} values beyond ${a}, expected ${N * p} +- ${tol}`).toBeLessThanOrEqual(tol);
      }
      if (a >= 4) {
        expect(count(t3, a), `beyond ${a}`).toBeGreaterThan(count(laplace, a));
        expect(count(laplace, a), `beyond ${a}`).toBeGreaterThan(count(normal, a));
      }
    }
  });

  it('seeds 113-114: kurtosis: Student-t(10) = 1 (heavier than the normal 0); Student-t(3) far above Laplace (3)', () => {
    const t10 = moments(sample(new Prng(113), 'student-t', N, { nu: 10 }));
    expect(t10.kurtosis).toBeGreaterThan(1 - SAMPLING_SIGMAS * studentT(10, N).se.kurtosis);
    // nu = 3 has infinite kurtosis: the sample value grows with n (32 to 5350 over seeds 1-30 at n = 200k).
    expect(moments(sample(new Prng(114), 'student-t', N)).kurtosis).toBeGreaterThan(10);
  });
});

describe('determinism and streams', () => {
  it('same seed, same arrays; every distribution deterministic', () => {
    for (const d of DISTRIBUTIONS) {
      expect(sample(new Prng(5), d, 1000)).toEqual(sample(new Prng(5), d, 1000));
      expect(sample(new Prng(5), d, 100)).not.toEqual(sample(new Prng(6), d, 100));
    }
  });

  it('seed 1 pinned (float32 values given to 9 significant digits, which identify a float32 exactly)', () => {
    const pin = (x: Float32Array, want: number[]) => expect(Array.from(x)).toEqual(want.map(Math.fround));
    pin(sample(new Prng(1), 'uniform', 4), [0.137211993, 0.50785768, 0.778787851, -0.0199590903]);
    pin(sample(new Prng(1), 'normal', 4), [0.0262285378, -1.06228387, -0.483228236, 0.0303397924]);
    pin(sample(new Prng(1), 'laplace', 4), [0.104359247, 0.50132978, 1.06676471, -0.014255954]);
    pin(sample(new Prng(1), 'student-t', 4), [0.0224670321, 0.84283042, 0.569670558, -0.576858699]);
    pin(sample(inputStream(1, 'calibration', 0), 'uniform', 3), [-0.40241915, 0.84456259, -0.431568682]);
    pin(sample(inputStream(1, 'test', 3), 'normal', 3), [-0.680890858, -1.26233673, 0.787249267]);
    pin(randomConvWeights(weightStream(1), [4, 1, 3, 3]).weight.data.slice(0, 3), [-0.0643222257, 0.149143651, 0.209568366]);
  });

  it('roles and indices are separate streams; input k needs no earlier input', () => {
    const shape = [1, 2, 8, 8];
    const calib = generateInput(7, 'calibration', 3, shape, 'normal');
    const test = generateInput(7, 'test', 3, shape, 'normal');
    expect(calib.data).not.toEqual(test.data);
    expect(generateInput(7, 'test', 4, shape, 'normal').data).not.toEqual(test.data);
    // Trial 3 after trials 0-2, or on its own: the same numbers.
    for (let k = 0; k < 3; k++) generateInput(7, 'test', k, shape, 'normal');
    expect(generateInput(7, 'test', 3, shape, 'normal').data).toEqual(test.data);
    expect(test.data).toEqual(sample(new Prng(7).fork('test/3'), 'normal', 128));
    expect(test.shape).toEqual(shape);
    expect(() => inputStream(1, 'train' as 'test', 0)).toThrow(InputError);
    expect(() => inputStream(1, 'test', -1)).toThrow(/non-negative integer/);
  });

  it('bad options are InputErrors naming the option', () => {
    expect(() => sample(new Prng(1), 'uniform', 3, { lo: 1, hi: 1 })).toThrow(/lo < hi/);
    expect(() => sample(new Prng(1), 'normal', 3, { scale: 0 })).toThrow(/scale/);
    expect(() => sample(new Prng(1), 'student-t', 3, { nu: -1 })).toThrow(/nu/);
    expect(() => sample(new Prng(1), 'cauchy' as Distribution, 3)).toThrow(/distribution must be one of/);
    expect(() => sample(new Prng(1), 'normal', 1.5)).toThrow(InputError);
  });
});

describe('weights', () => {
  it('seed 120: conv weights and bias are U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch Conv2d default', () => {
    const { weight, bias } = randomConvWeights(new Prng(120), [64, 8, 3, 3]);
    const b = 1 / Math.sqrt(8 * 9);
    expect(weight.shape).toEqual([64, 8, 3, 3]);
    expect(bias.shape).toEqual([64]);
    for (const x of [weight.data, bias.data]) {
      expect(Math.max(...x)).toBeLessThan(b);
      expect(Math.min(...x)).toBeGreaterThanOrEqual(Math.fround(-b));
    }
    // 4608 draws of U(-b, b): the largest is above 0.99 b unless all fall below (0.995^4608 ~ 1e-10).
    expect(Math.max(...weight.data)).toBeGreaterThan(0.99 * b);
    const m = moments(weight.data);
    expect(Math.abs(m.variance - (b * b) / 3)).toBeLessThan(SAMPLING_SIGMAS * (b * b) / 3 * Math.sqrt(0.8 / 4608));
    // Depthwise [C, 1, kh, kw]: fan_in = kh * kw.
    const dw = randomConvWeights(new Prng(121), [16, 1, 5, 5]);
    expect(Math.max(...dw.weight.data.map(Math.abs))).toBeLessThanOrEqual(1 / 5);
  });

  it('seed 122: a channel spread multiplies exactly the chosen channels (weights and bias) by the factor', () => {
    const shape = [20, 3, 3, 3];
    const plain = randomConvWeights(new Prng(122), shape);
    const spread = randomConvWeights(new Prng(122), shape, { channelSpread: { fraction: 0.1, factor: 30 } });
    expect(spread.spreadChannels).toHaveLength(2); // ceil(0.1 * 20)
    expect(plain.spreadChannels).toEqual([]);
    for (let o = 0; o < 20; o++) {
      const f = spread.spreadChannels.includes(o) ? 30 : 1;
      for (let i = o * 27; i < (o + 1) * 27; i++) {
        expect(spread.weight.data[i], `weight ${i} (channel ${o})`).toBe(Math.fround(plain.weight.data[i] * f));
      }
      expect(spread.bias.data[o]).toBe(Math.fround(plain.bias.data[o] * f));
    }
    // The same channels every time, and a different choice for another stream.
    expect(spreadChannels(new Prng(122), 20, { fraction: 0.1, factor: 30 })).toEqual(spread.spreadChannels);
    const many = spreadChannels(new Prng(123), 1000, { fraction: 0.25, factor: 2 });
    expect(many).toHaveLength(250);
    expect(new Set(many).size).toBe(250);
    expect(spreadChannels(new Prng(1), 7, { fraction: 1, factor: 2 })).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => randomConvWeights(new Prng(1), shape, { channelSpread: { fraction: 1.5, factor: 3 } })).toThrow(/fraction/);
    expect(() => randomConvWeights(new Prng(1), shape, { channelSpread: { fraction: 0.5, factor: 0 } })).toThrow(/factor/);
  });

  it('seed 124: LSTM weights are U(-1/sqrt(H), 1/sqrt(H)) in PyTorch shapes; spread scales whole gate rows', () => {
    const I = 10;
    const H = 16;
    const w = randomLstmWeights(new Prng(124), I, H);
    expect([w.weightIh.shape, w.weightHh.shape, w.biasIh.shape, w.biasHh.shape]).toEqual([[64, 10], [64, 16], [64], [64]]);
    for (const t of [w.weightIh, w.weightHh, w.biasIh, w.biasHh]) expect(Math.max(...t.data.map(Math.abs))).toBeLessThanOrEqual(0.25);
    const s = randomLstmWeights(new Prng(124), I, H, { channelSpread: { fraction: 0.05, factor: 10 } });
    expect(s.spreadChannels).toHaveLength(4); // ceil(0.05 * 64)
    for (const r of s.spreadChannels) {
      for (let j = 0; j < I; j++) expect(s.weightIh.data[r * I + j]).toBe(Math.fround(w.weightIh.data[r * I + j] * 10));
      for (let j = 0; j < H; j++) expect(s.weightHh.data[r * H + j]).toBe(Math.fround(w.weightHh.data[r * H + j] * 10));
      expect([s.biasIh.data[r], s.biasHh.data[r]]).toEqual([Math.fround(w.biasIh.data[r] * 10), Math.fround(w.biasHh.data[r] * 10)]);
    }
    const untouched = [...Array(64).keys()].filter((r) => !s.spreadChannels.includes(r));
    for (const r of untouched) expect(s.weightHh.data.slice(r * H, (r + 1) * H)).toEqual(w.weightHh.data.slice(r * H, (r + 1) * H));
  });
});
