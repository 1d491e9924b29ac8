/**
 * L2-regularised, case-weighted logistic regression fitted by Newton's method (IRLS) on the
 * full batch — ADR 0071. The head of a radiograph classifier has a few hundred inputs and the
 * site has a few hundred images, so the (d+1)² Hessian is small and Newton converges in a
 * handful of iterations to the exact optimum, deterministically (no learning rate, no
 * shuffling, no random start).
 *
 * Objective (bias not penalised, case weights s_i normalised by their sum so the L2 strength
 * means the same thing whatever the number of images):
 *   L(w, b) = Σ s_i · CE(y_i, σ(x_i·w + b)) / Σ s_i  +  (λ/2)·‖w‖²
 */
import { RadiolensError } from '../../foundation/core/index.js';

export interface LogisticOptions {
  /** L2 strength λ ≥ 0 on the weights (the bias is not penalised). */
  l2: number;
  /** One weight per case; default 1 for all. */
  caseWeights?: readonly number[];
  /** Stop when the largest gradient component is below this. Default 1e-9. */
  tolerance?: number;
  /** Default 50; Newton needs far fewer on well-posed problems. */
  maxIterations?: number;
}

export interface LogisticIteration {
  iteration: number;
  loss: number;
  /** Largest absolute gradient component after the step. */
  gradientMax: number;
  /** Step length accepted by the backtracking line search (1 = a full Newton step). */
  step: number;
}

export interface LogisticFit {
  weights: Float64Array;
  bias: number;
  loss: number;
  iterations: number;
  converged: boolean;
  history: LogisticIteration[];
}

/** σ(z) without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Cross-entropy of a logit z against truth y, computed stably: log(1+e^z) − y·z. */
export function logLossOfLogit(z: number, y: 0 | 1): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z;
}

/** Fit the model; throws E_BAD_INPUT on shapes or values that cannot be fitted. */
export function fitLogisticRegression(
  features: readonly ArrayLike<number>[],
  truth: readonly (0 | 1)[],
  options: LogisticOptions,
): LogisticFit {
  const n = features.length;
  const d = n > 0 ? features[0]!.length : 0;
  checkInput(features, truth, options, d);
  const caseWeights = options.caseWeights ?? new Array<number>(n).fill(1);
  const weightSum = caseWeights.reduce((a, b) => a + b, 0);
  const s = caseWeights.map((w) => w / weightSum);
  const tolerance = options.tolerance ?? 1e-9;
  const maxIterations = options.maxIterations ?? 50;
  const { l2 } = options;

  // θ = [w_0 … w_{d-1}, b]
  let theta = new Float64Array(d + 1);
  const logits = (t: Float64Array): Float64Array => {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = features[i]!;
      let sum = t[d]!;
      for (let j = 0; j < d; j++) sum += x[j]! * t[j]!;
      z[i] = sum;
    }
    return z;
  };
  const lossAt = (t: Float64Array, z: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) loss += s[i]! * logLossOfLogit(z[i]!, truth[i]!);
    let norm = 0;
    for (let j = 0; j < d; j++) norm += t[j]! * t[j]!;
    return loss + 0.5 * l2 * norm;
  };

  let z = logits(theta);
  let loss = lossAt(theta, z);
  const history: LogisticIteration[] = [];
  let converged = false;
  let iteration = 0;
  for (; iteration < maxIterations; iteration++) {
    const { gradient, hessian } = derivatives(features, truth, s, theta, z, l2);
    if (maxAbs(gradient) < tolerance) {
      converged = true;
      break;
    }
    const direction = solveSymmetric(hessian, gradient, d + 1);
    // Backtracking keeps every step a descent step even far from the optimum, where a full
    // Newton step on a nearly separable problem can overshoot.
    let step = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 40; halvings++) {
      const candidate = new Float64Array(d + 1);
      for (let j = 0; j <= d; j++) candidate[j] = theta[j]! - step * direction[j]!;
      const candidateZ = logits(candidate);
      const candidateLoss = lossAt(candidate, candidateZ);
      if (candidateLoss <= loss) {
        theta = candidate;
        z = candidateZ;
        loss = candidateLoss;
        accepted = true;
        break;
      }
      step /= 2;
    }
    const after = derivatives(features, truth, s, theta, z, l2).gradient;
    history.push({ iteration: iteration + 1, loss, gradientMax: maxAbs(after), step });
    if (!accepted || maxAbs(after) < tolerance) {
      // No descent possible within rounding: we are at the optimum to machine precision.
      converged = true;
      iteration++;
      break;
    }
  }
  return {
    weights: theta.slice(0, d),
    bias: theta[d]!,
    loss,
    iterations: iteration,
    converged,
    history,
  };
}

function derivatives(
  features: readonly ArrayLike<number>[],
  truth: readonly (0 | 1)[],
  s: readonly number[],
  theta: Float64Array,
  z: Float64Array,
  l2: number,
): { gradient: Float64Array; hessian: Float64Array } {
  const d = theta.length - 1;
  const m = d + 1;
  const gradient = new Float64Array(m);
  const hessian = new Float64Array(m * m);
  const row = new Float64Array(m);
  for (let i = 0; i < features.length; i++) {
    const x = features[i]!;
    for (let j = 0; j < d; j++) row[j] = x[j]!;
    row[d] = 1;
    const p = sigmoid(z[i]!);
    const r = s[i]! * (p - truth[i]!);
    const h = s[i]! * p * (1 - p);
    for (let j = 0; j < m; j++) {
      gradient[j] = gradient[j]! + r * row[j]!;
      const hj = h * row[j]!;
      // Upper triangle only; mirrored below.
      for (let k = j; k < m; k++) hessian[j * m + k] = hessian[j * m + k]! + hj * row[k]!;
    }
  }
  for (let j = 0; j < m; j++) for (let k = 0; k < j; k++) hessian[j * m + k] = hessian[k * m + j]!;
  for (let j = 0; j < d; j++) {
    gradient[j] = gradient[j]! + l2 * theta[j]!;
    hessian[j * m + j] = hessian[j * m + j]! + l2;
  }
  return { gradient, hessian };
}

/**
 * Solve H·x = g for a symmetric positive (semi)definite H by Cholesky. A tiny ridge keeps the
 * factorisation defined when λ = 0 and a feature is constant (a dead ReLU channel).
 */
export function solveSymmetric(h: Float64Array, g: Float64Array, m: number): Float64Array {
  let trace = 0;
  for (let j = 0; j < m; j++) trace += h[j * m + j]!;
  const ridge = Math.max(1e-12, (1e-10 * trace) / m);
  const l = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let diagonal = h[j * m + j]! + ridge;
    for (let k = 0; k < j; k++) diagonal -= l[j * m + k]! ** 2;
    if (!(diagonal > 0)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        'the logistic regression Hessian is not positive definite — use an L2 strength above 0',
      );
    }
    const ljj = Math.sqrt(diagonal);
    l[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let sum = h[i * m + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * m + k]! * l[j * m + k]!;
      l[i * m + j] = sum / ljj;
    }
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let sum = g[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * m + k]! * y[k]!;
    y[i] = sum / l[i * m + i]!;
  }
  const x = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < m; k++) sum -= l[k * m + i]! * x[k]!;
    x[i] = sum / l[i * m + i]!;
  }
  return x;
}

function maxAbs(values: Float64Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}

function checkInput(
  features: readonly ArrayLike<number>[],
  truth: readonly (0 | 1)[],
  options: LogisticOptions,
  d: number,
): void {
  const n = features.length;
  if (n === 0)
    throw new RadiolensError('E_BAD_INPUT', 'logistic regression needs at least one case');
  if (truth.length !== n) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `logistic regression: ${n} feature rows but ${truth.length} truth values`,
    );
  }
  if (!(options.l2 >= 0 && Number.isFinite(options.l2))) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `L2 strength must be a finite number ≥ 0, got ${options.l2}`,
    );
  }
  features.forEach((row, i) => {
    if (row.length !== d) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `logistic regression: case ${i + 1} has ${row.length} features, the first has ${d}`,
      );
    }
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(row[j]!)) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `logistic regression: case ${i + 1} feature ${j} is ${row[j]}, not a finite number`,
        );
      }
    }
  });
  truth.forEach((y, i) => {
    if (y !== 0 && y !== 1) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `logistic regression: case ${i + 1} has truth ${String(y)}`,
      );
    }
  });
  const weights = options.caseWeights;
  if (weights !== undefined) {
    if (weights.length !== n || weights.some((w) => !(w >= 0 && Number.isFinite(w)))) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        'logistic regression: case weights must be one finite number ≥ 0 per case',
      );
    }
    if (!weights.some((w) => w > 0)) {
      throw new RadiolensError('E_BAD_INPUT', 'logistic regression: every case weight is 0');
    }
  }
}

/** Weights that give both classes the same total weight: n / (2·n_class) (sklearn "balanced"). */
export function balancedClassWeights(truth: readonly (0 | 1)[]): {
  positive: number;
  negative: number;
} {
  const positives = truth.filter((y) => y === 1).length;
  const negatives = truth.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `class weighting needs both classes; got ${positives} positive and ${negatives} negative cases`,
    );
  }
  return {
    positive: truth.length / (2 * positives),
    negative: truth.length / (2 * negatives),
  };
}
