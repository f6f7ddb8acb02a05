/**
 * Float tolerances for comparing GPU kernels with the CPU reference.
 *
 * A dot product of n f32 terms, summed in any order and with or without FMA,
 * differs from the exact sum by at most gamma_n * sum |a_i b_i| with
 * gamma_n = n u / (1 - n u) and u = 2^-24 (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., eq. 3.5). The CPU reference accumulates in
 * f64 (error ~1e-16 relative, negligible here) and rounds once to f32 (at most
 * u |x|). So an element passes when
 *
 *     |gpu - ref| <= (n + F32_EXTRA_ROUNDINGS) * u * magnitude + FTZ_FLOOR * n
 *
 * where `magnitude` is the same layer evaluated on |inputs| and |weights|
 * (the sum of |terms|, bias included), n the reduction length of that element.
 * This is a proof-backed bound, not a fudge factor: a kernel that drops a term
 * or swaps an index fails it by orders of magnitude.
 */
export const F32_UNIT_ROUNDOFF = 2 ** -24;
/** Bias add, final rounding of the reference, and 1 - n u in the denominator of gamma_n. */
export const F32_EXTRA_ROUNDINGS = 3;
/** GPUs may flush f32 subnormals to zero: each term may lose up to the smallest normal. */
export const FTZ_FLOOR = 2 ** -126;

export function dotTolerance(n: number, magnitude: number): number {
  return (n + F32_EXTRA_ROUNDINGS) * F32_UNIT_ROUNDOFF * magnitude + FTZ_FLOOR * n;
}

export interface Mismatch {
  index: number;
  got: number;
  want: number;
  tol: number;
}

/** Compare element-wise; return every mismatch (an empty list means a pass). */
export function compareWithBound(
  got: Float32Array,
  want: Float32Array,
  tolAt: (i: number) => number,
): Mismatch[] {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  const bad: Mismatch[] = [];
  for (let i = 0; i < got.length; i++) {
    const tol = tolAt(i);
    if (!(Math.abs(got[i] - want[i]) <= tol)) bad.push({ index: i, got: got[i], want: want[i], tol });
  }
  return bad;
}

/** A readable report of the first and last mismatches, with their indices. */
export function describeMismatches(bad: Mismatch[], total: number): string {
  if (bad.length === 0) return 'all match';
  const show = bad.length <= 10 ? bad : [...bad.slice(0, 5), ...bad.slice(-5)];
  const rows = show.map((m) => `  [${m.index}] got ${m.got} want ${m.want} |diff| ${Math.abs(m.got - m.want)} tol ${m.tol}`);
  return `${bad.length} of ${total} elements out of tolerance:\n${rows.join('\n')}`;
}
