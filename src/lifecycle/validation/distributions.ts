/**
 * Probability distributions needed by the validation statistics: normal, Student t, F and
 * chi-square CDFs and quantiles. Written here rather than taken from a package because the
 * numbers must agree with R to many digits and the set needed is small (ADR 0051).
 *
 * The t and F CDFs reduce to the regularized incomplete beta function I_x(a, b), evaluated by
 * its continued fraction with the modified Lentz algorithm; the normal and chi-square CDFs
 * reduce to the regularized incomplete gamma function. Quantiles invert the CDFs by bisection
 * refined to machine precision, which is slow in theory but instant for the handful of calls a
 * report makes, and cannot diverge the way Newton's method can in the tails.
 */
import { RadiolensError } from '../../foundation/core/index.js';

const EPSILON = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/** Lanczos coefficients (g = 7, n = 9): about 15 significant digits for x > 0. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** Natural logarithm of the gamma function for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x < 0.5) {
    // Reflection keeps the Lanczos series in its accurate range.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of I_x(a, b) (Numerical Recipes' betacf), by modified Lentz. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) return h;
  }
  throw new RangeError(`incomplete beta did not converge (x=${x}, a=${a}, b=${b})`);
}

/** Regularized incomplete beta function I_x(a, b), for 0 <= x <= 1 and a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`incomplete beta needs a, b > 0 (a=${a}, b=${b})`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront =
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(logFront);
  // The continued fraction converges fast only for x < (a+1)/(a+b+2); use symmetry beyond.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Regularized lower incomplete gamma P(a, x) and its complement Q(a, x). */
function incompleteGamma(a: number, x: number): { lower: number; upper: number } {
  if (x <= 0) return { lower: 0, upper: 1 };
  const logFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series: converges quickly below the mean.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n <= MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
    }
    const lower = sum * Math.exp(logFront);
    return { lower, upper: 1 - lower };
  }
  // Continued fraction (Lentz) for the upper tail keeps its relative accuracy far out.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  const upper = Math.exp(logFront) * h;
  return { lower: 1 - upper, upper };
}

/** Standard normal CDF Φ(z), accurate in both tails (via the incomplete gamma). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  const tail = 0.5 * incompleteGamma(0.5, (z * z) / 2).upper;
  return z < 0 ? tail : 1 - tail;
}

/** Two-sided p-value of a standard normal statistic. */
export function normalTwoSidedP(z: number): number {
  return 2 * normalCdf(-Math.abs(z));
}

/**
 * Coefficients of Wichura's AS 241 (PPND16), lowest power first, rounded to the nearest
 * double (the published 20-digit values carry no extra precision in a double anyway).
 */
const AS241_A = [
  3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987,
  67265.7709270087, 33430.57558358813, 2509.0809287301227,
];
const AS241_B = [
  1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271,
  28729.085735721943, 5226.495278852546,
];
const AS241_C = [
  1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684,
  0.2417807251774506, 0.022723844989269184, 0.0007745450142783414,
];
const AS241_D = [
  1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008,
  0.015198666563616457, 0.0005475938084995345, 1.0507500716444169e-9,
];
const AS241_E = [
  6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487,
  0.026532189526576124, 0.0012426609473880784, 0.000027115555687434876, 2.0103343992922881e-7,
];
const AS241_F = [
  1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133,
  0.000018463183175100548, 1.421511758316446e-7, 2.0442631033899397e-15,
];

function polynomial(coefficients: readonly number[], x: number): number {
  let sum = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) sum = sum * x + coefficients[i]!;
  return sum;
}

/**
 * Standard normal quantile Φ⁻¹(p), by Wichura's AS 241 (PPND16), about 16 digits — the same
 * algorithm R's qnorm uses, so CIs match pROC to the last printed digit.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`normal quantile needs 0 <= p <= 1, got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * polynomial(AS241_A, r)) / polynomial(AS241_B, r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value = polynomial(AS241_C, r) / polynomial(AS241_D, r);
  } else {
    r -= 5;
    value = polynomial(AS241_E, r) / polynomial(AS241_F, r);
  }
  return q < 0 ? -value : value;
}

function checkDf(name: string, df: number): void {
  if (!(df > 0)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${name} degrees of freedom must be positive, got ${df} — the study has too few readers or cases for this analysis`,
    );
  }
}

/** Student t CDF with (possibly non-integer) df degrees of freedom; df = Infinity is normal. */
export function studentTCdf(t: number, df: number): number {
  checkDf('t', df);
  if (Number.isNaN(t)) return Number.NaN;
  if (df === Infinity) return normalCdf(t);
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

/** Upper tail P(F > f) of the F distribution with df1, df2 degrees of freedom. */
export function fSurvival(f: number, df1: number, df2: number): number {
  checkDf('F numerator', df1);
  checkDf('F denominator', df2);
  if (f <= 0) return 1;
  if (df2 === Infinity) return chiSquareSurvival(f * df1, df1);
  // P(F > f) = I_{df2/(df2 + df1 f)}(df2/2, df1/2): no cancellation for small p.
  return regularizedIncompleteBeta(df2 / (df2 + df1 * f), df2 / 2, df1 / 2);
}

/** CDF P(F <= f) of the F distribution. */
export function fCdf(f: number, df1: number, df2: number): number {
  checkDf('F numerator', df1);
  checkDf('F denominator', df2);
  if (f <= 0) return 0;
  if (df2 === Infinity) return 1 - chiSquareSurvival(f * df1, df1);
  return regularizedIncompleteBeta((df1 * f) / (df1 * f + df2), df1 / 2, df2 / 2);
}

/** Upper tail P(X > x) of the chi-square distribution with df degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  checkDf('chi-square', df);
  if (x <= 0) return 1;
  return incompleteGamma(df / 2, x / 2).upper;
}

/**
 * Solves f(x) = target for a non-decreasing f by bisection to full double precision; lo must
 * satisfy f(lo) <= target, and hi is grown until f(hi) >= target (quantiles of t with tiny df
 * are huge).
 */
function invertByBisection(
  f: (x: number) => number,
  target: number,
  lo: number,
  hi: number,
): number {
  const cdf = f;
  const p = target;
  while (cdf(hi) < p) hi = hi * 2 + 1;
  for (let i = 0; i < 2000; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Student t quantile: the t with P(T <= t) = p. */
export function studentTQuantile(p: number, df: number): number {
  checkDf('t', df);
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile needs 0 < p < 1, got ${p}`);
  if (df === Infinity) return normalQuantile(p);
  if (p === 0.5) return 0;
  // Solve for the upper-tail probability directly (not 1 - CDF) so small tails keep their
  // relative precision, then mirror for the lower half.
  const tail = Math.min(p, 1 - p);
  const upperTail = (t: number): number =>
    0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  const x = invertByBisection((t) => -upperTail(t), -tail, 0, 10);
  return p > 0.5 ? x : -x;
}

/** F quantile: the f with P(F <= f) = p. */
export function fQuantile(p: number, df1: number, df2: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`F quantile needs 0 < p < 1, got ${p}`);
  return invertByBisection((f) => (f <= 0 ? 0 : fCdf(f, df1, df2)), p, 0, 10);
}
