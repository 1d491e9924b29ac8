/**
 * Fitting the head on the train split and choosing its L2 strength on the tuning split
 * (ADR 0071). Features are standardised with the train split's mean and standard deviation
 * before fitting, so one L2 strength penalises every channel alike whatever its scale; the
 * fitted weights are then mapped back to raw pooled-feature space, which is what the ONNX
 * head multiplies.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { empiricalAuc, splitByClass } from '../validation/index.js';
import {
  balancedClassWeights,
  fitLogisticRegression,
  logLossOfLogit,
  sigmoid,
  type LogisticFit,
} from './logistic.js';

export interface LabelledFeatures {
  features: readonly ArrayLike<number>[];
  truth: readonly (0 | 1)[];
}

export const DEFAULT_L2_GRID: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1];

export interface HeadCandidate {
  l2: number;
  tuningAuc: number;
  tuningLogLoss: number;
  trainLoss: number;
  iterations: number;
  converged: boolean;
}

export interface HeadFit {
  /** Raw-feature-space weights and bias: logit = pooled·weights + bias. */
  weights: Float64Array;
  bias: number;
  l2: number;
  classWeights: { positive: number; negative: number };
  standardisation: { mean: Float64Array; scale: Float64Array };
  /** Every L2 strength tried, with its tuning-split AUC and log-loss. */
  candidates: HeadCandidate[];
  /** The chosen fit (in standardised space) with its Newton iterations. */
  fit: LogisticFit;
}

export function logitOf(weights: ArrayLike<number>, bias: number, x: ArrayLike<number>): number {
  let z = bias;
  for (let j = 0; j < weights.length; j++) z += weights[j]! * x[j]!;
  return z;
}

/**
 * Fit one head per L2 strength on train, score the tuning split with each, keep the one with
 * the highest tuning AUC (ties: lower tuning log-loss, then the stronger L2 — the simpler
 * model). Deterministic: the same inputs always give the same head.
 */
export function fitHead(
  train: LabelledFeatures,
  tuning: LabelledFeatures,
  options: { l2Grid?: readonly number[]; classWeighting?: 'balanced' | 'none' } = {},
): HeadFit {
  const grid = options.l2Grid ?? DEFAULT_L2_GRID;
  if (grid.length === 0)
    throw new RadiolensError('E_BAD_INPUT', 'the L2 grid is empty — give at least one strength');
  splitByClass({ truth: tuning.truth, scores: tuning.truth.map(() => 0) }, 'tuning split');
  const classWeights =
    options.classWeighting === 'none'
      ? { positive: 1, negative: 1 }
      : balancedClassWeights(train.truth);
  const caseWeights = train.truth.map((y) =>
    y === 1 ? classWeights.positive : classWeights.negative,
  );
  const standardisation = standardiser(train.features);
  const z = (rows: readonly ArrayLike<number>[]): Float64Array[] =>
    rows.map((row) => standardise(row, standardisation));
  const trainZ = z(train.features);
  const tuningZ = z(tuning.features);

  const results: { candidate: HeadCandidate; fit: LogisticFit }[] = [];
  for (const l2 of grid) {
    const fit = fitLogisticRegression(trainZ, train.truth, { l2, caseWeights });
    const logits = tuningZ.map((x) => logitOf(fit.weights, fit.bias, x));
    const scores = logits.map(sigmoid);
    const classes = splitByClass({ truth: tuning.truth, scores }, 'tuning split');
    const tuningLogLoss =
      logits.reduce((sum, zi, i) => sum + logLossOfLogit(zi, tuning.truth[i]!), 0) / logits.length;
    results.push({
      candidate: {
        l2,
        tuningAuc: empiricalAuc(classes),
        tuningLogLoss,
        trainLoss: fit.loss,
        iterations: fit.iterations,
        converged: fit.converged,
      },
      fit,
    });
  }
  const best = [...results].sort(
    (a, b) =>
      b.candidate.tuningAuc - a.candidate.tuningAuc ||
      a.candidate.tuningLogLoss - b.candidate.tuningLogLoss ||
      b.candidate.l2 - a.candidate.l2,
  )[0]!;
  // Back to raw space: w_raw = w / scale, b_raw = b − Σ w·mean/scale.
  const d = best.fit.weights.length;
  const weights = new Float64Array(d);
  let bias = best.fit.bias;
  for (let j = 0; j < d; j++) {
    weights[j] = best.fit.weights[j]! / standardisation.scale[j]!;
    bias -= weights[j]! * standardisation.mean[j]!;
  }
  return {
    weights,
    bias,
    l2: best.candidate.l2,
    classWeights,
    standardisation,
    candidates: results.map((r) => r.candidate),
    fit: best.fit,
  };
}

function standardiser(rows: readonly ArrayLike<number>[]): {
  mean: Float64Array;
  scale: Float64Array;
} {
  const d = rows[0]?.length ?? 0;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (const row of rows) for (let j = 0; j < d; j++) mean[j] = mean[j]! + row[j]! / rows.length;
  for (const row of rows) {
    for (let j = 0; j < d; j++) scale[j] = scale[j]! + (row[j]! - mean[j]!) ** 2 / rows.length;
  }
  // A constant channel (a ReLU that never fires on this site) gets scale 1: its standardised
  // value is 0 on every train image, so L2 drives its weight to 0.
  for (let j = 0; j < d; j++) scale[j] = scale[j]! > 1e-24 ? Math.sqrt(scale[j]!) : 1;
  return { mean, scale };
}

function standardise(
  row: ArrayLike<number>,
  s: { mean: Float64Array; scale: Float64Array },
): Float64Array {
  const out = new Float64Array(row.length);
  for (let j = 0; j < row.length; j++) out[j] = (row[j]! - s.mean[j]!) / s.scale[j]!;
  return out;
}
