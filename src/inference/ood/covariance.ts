import { RadiolensError } from '../../foundation/core/index.js';

/**
 * Shrinkage covariance and the linear algebra the Mahalanobis distance needs, on plain
 * Float64Arrays (p ≤ a few hundred: pooled CNN features), so no numerical dependency.
 */

export interface ShrunkCovariance {
  /** Mean of each of the p dimensions. */
  mean: Float64Array;
  /** Row-major p×p shrunk covariance (1 − δ)·S + δ·μ·I. */
  covariance: Float64Array;
  /** Ledoit–Wolf shrinkage intensity δ in [0, 1]. */
  shrinkage: number;
  dimension: number;
}

/** Column means of n samples of dimension p. */
export function columnMeans(samples: readonly ArrayLike<number>[]): Float64Array {
  const p = dimensionOf(samples);
  const mean = new Float64Array(p);
  for (const x of samples) for (let j = 0; j < p; j++) mean[j]! += x[j]!;
  for (let j = 0; j < p; j++) mean[j]! /= samples.length;
  return mean;
}

/**
 * Ledoit & Wolf (2004) shrinkage towards a scaled identity, with the maximum-likelihood
 * empirical covariance S = XᵀX/n of the centred samples — the same estimator as
 * scikit-learn's `ledoit_wolf`. With 256 pooled features and a few thousand images the plain
 * sample covariance is poorly conditioned; shrinkage makes its inverse stable without a
 * hand-tuned ridge.
 */
export function ledoitWolf(samples: readonly ArrayLike<number>[]): ShrunkCovariance {
  const p = dimensionOf(samples);
  const n = samples.length;
  if (n < 2) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `a covariance needs at least 2 samples, got ${n} — fit on more images`,
    );
  }
  const mean = columnMeans(samples);
  const s = new Float64Array(p * p);
  const centred = new Float64Array(p);
  // Σ_i (Σ_j x_ij²)² = sum of (X²)ᵀX², the "beta" term of scikit-learn's formula.
  let sumSquaredNorms = 0;
  for (const x of samples) {
    let norm = 0;
    for (let j = 0; j < p; j++) {
      centred[j] = x[j]! - mean[j]!;
      norm += centred[j]! * centred[j]!;
    }
    sumSquaredNorms += norm * norm;
    for (let a = 0; a < p; a++) {
      const ca = centred[a]!;
      if (ca === 0) continue;
      const row = a * p;
      for (let b = a; b < p; b++) s[row + b]! += ca * centred[b]!;
    }
  }
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) {
      const v = s[a * p + b]! / n;
      s[a * p + b] = v;
      s[b * p + a] = v;
    }
  }
  let trace = 0;
  let frobenius = 0;
  for (let a = 0; a < p; a++) trace += s[a * p + a]!;
  for (let i = 0; i < p * p; i++) frobenius += s[i]! * s[i]!;
  const mu = trace / p;
  // d² = ‖S − μI‖²_F / p;  b̄² = (Σ_i ‖x_i‖⁴ / n − ‖S‖²_F) / (n·p);  δ = min(b̄², d²) / d².
  const d2 = (frobenius - 2 * mu * trace + p * mu * mu) / p;
  const b2 = Math.min((sumSquaredNorms / n - frobenius) / (n * p), d2);
  const shrinkage = d2 > 0 ? Math.max(0, b2 / d2) : 0;
  const covariance = new Float64Array(p * p);
  for (let i = 0; i < p * p; i++) covariance[i] = (1 - shrinkage) * s[i]!;
  for (let a = 0; a < p; a++) covariance[a * p + a]! += shrinkage * mu;
  return { mean, covariance, shrinkage, dimension: p };
}

/** Lower-triangular L with A = LLᵀ (row-major), for a symmetric positive-definite A. */
export function cholesky(a: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * p + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * p + k]! * l[j * p + k]!;
      if (i === j) {
        if (!(sum > 0)) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `covariance is not positive definite (pivot ${i} is ${sum}) — the features are degenerate; fit on more, varied images`,
          );
        }
        l[i * p + i] = Math.sqrt(sum);
      } else {
        l[i * p + j] = sum / l[j * p + j]!;
      }
    }
  }
  return l;
}

/** Inverse of a symmetric positive-definite matrix through its Cholesky factor. */
export function invertSpd(a: Float64Array, p: number): Float64Array {
  const l = cholesky(a, p);
  // Solve L·Y = I column by column, then Lᵀ·X = Y.
  const inverse = new Float64Array(p * p);
  const y = new Float64Array(p);
  for (let col = 0; col < p; col++) {
    for (let i = 0; i < p; i++) {
      let sum = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) sum -= l[i * p + k]! * y[k]!;
      y[i] = sum / l[i * p + i]!;
    }
    for (let i = p - 1; i >= 0; i--) {
      let sum = y[i]!;
      for (let k = i + 1; k < p; k++) sum -= l[k * p + i]! * inverse[k * p + col]!;
      inverse[i * p + col] = sum / l[i * p + i]!;
    }
  }
  return inverse;
}

/** √((x − μ)ᵀ P (x − μ)) for a precision (inverse covariance) matrix P. */
export function mahalanobis(
  x: ArrayLike<number>,
  mean: ArrayLike<number>,
  precision: ArrayLike<number>,
): number {
  const p = mean.length;
  if (x.length !== p || precision.length !== p * p) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Mahalanobis distance: ${x.length} features against statistics of dimension ${p} — the statistics were fitted for another model`,
    );
  }
  const d = new Float64Array(p);
  for (let j = 0; j < p; j++) d[j] = x[j]! - mean[j]!;
  let sum = 0;
  for (let a = 0; a < p; a++) {
    let row = 0;
    for (let b = 0; b < p; b++) row += precision[a * p + b]! * d[b]!;
    sum += d[a]! * row;
  }
  return Math.sqrt(Math.max(0, sum));
}

function dimensionOf(samples: readonly ArrayLike<number>[]): number {
  const first = samples[0];
  if (first === undefined || first.length === 0) {
    throw new RadiolensError('E_BAD_INPUT', 'no feature vectors to fit — give at least 2 images');
  }
  const p = first.length;
  samples.forEach((x, i) => {
    if (x.length !== p) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `feature vector ${i} has ${x.length} values, the first has ${p} — mixed models?`,
      );
    }
  });
  return p;
}
