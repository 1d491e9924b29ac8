/**
 * The boundary where untrusted study data becomes typed statistics input: every score is a
 * finite number, every truth is 0 or 1, and both classes are present. Checking once here is
 * what lets the statistics promise "never a silent NaN" (STYLE.md: parse, don't validate).
 */
import { RadiolensError } from '../../foundation/core/index.js';

/** Ground truth and model scores for one finding, case by case (higher score = more likely positive). */
export interface BinaryOutcomes {
  readonly truth: readonly (0 | 1)[];
  readonly scores: readonly number[];
}

/** The scores of the positive cases (truth 1) and of the negative cases (truth 0). */
export interface ClassScores {
  readonly positives: readonly number[];
  readonly negatives: readonly number[];
}

/** Checks lengths, finiteness and 0/1 truth; says which case is wrong and what to do. */
export function checkOutcomes(data: BinaryOutcomes, what = 'scores'): void {
  if (data.truth.length !== data.scores.length) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${what}: ${data.scores.length} scores but ${data.truth.length} truth values — give one truth per scored case`,
    );
  }
  data.scores.forEach((score, i) => {
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${what}: case ${i + 1} has score ${String(score)}, not a finite number — fix or exclude that case`,
      );
    }
  });
  data.truth.forEach((value, i) => {
    if (value !== 0 && value !== 1) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${what}: case ${i + 1} has truth ${String(value)}; truth must be 0 (negative) or 1 (positive)`,
      );
    }
  });
}

/** Splits outcomes by class; both classes must be present (an AUC needs both). */
export function splitByClass(data: BinaryOutcomes, what = 'scores'): ClassScores {
  checkOutcomes(data, what);
  if (data.truth.length === 0) {
    throw new RadiolensError('E_BAD_INPUT', `${what}: no cases — the data has no rows`);
  }
  const positives: number[] = [];
  const negatives: number[] = [];
  data.truth.forEach((value, i) => (value === 1 ? positives : negatives).push(data.scores[i]!));
  if (positives.length === 0 || negatives.length === 0) {
    const only = positives.length === 0 ? 'negative (0)' : 'positive (1)';
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${what}: all ${data.truth.length} cases are ${only} — an ROC analysis needs both positive and negative cases; check the truth column and the positive value`,
    );
  }
  return { positives, negatives };
}

/** Throws unless each class has at least `minimum` cases, as a variance estimate needs. */
export function requireCasesPerClass(classes: ClassScores, minimum: number, what: string): void {
  if (classes.positives.length < minimum || classes.negatives.length < minimum) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${what}: too few cases for a CI (${classes.positives.length} positive, ${classes.negatives.length} negative; need at least ${minimum} of each) — add cases or report the estimate without a CI`,
    );
  }
}
