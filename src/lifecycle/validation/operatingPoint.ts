/**
 * Operating points: what the model does at one threshold (sensitivity, specificity, PPV, NPV,
 * each with a Wilson score CI), and how a threshold is chosen for a target sensitivity or
 * specificity on a tuning split and then reported on a separate test split, so the reported
 * numbers are not flattered by having picked the threshold on the same cases.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { normalQuantile } from './distributions.js';
import { type BinaryOutcomes, checkOutcomes, splitByClass } from './input.js';
import type { Interval } from './roc.js';

/** A proportion with its Wilson CI, or the reason it has none (denominator zero). */
export type Proportion =
  | {
      readonly estimate: number;
      readonly ci: Interval;
      readonly successes: number;
      readonly total: number;
    }
  | {
      readonly estimate: null;
      readonly ci: null;
      readonly successes: 0;
      readonly total: 0;
      readonly note: string;
    };

/** Wilson score interval for successes/total (no continuity correction). */
export function wilsonInterval(successes: number, total: number, level = 0.95): Interval {
  if (!(Number.isInteger(successes) && Number.isInteger(total) && total > 0)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Wilson interval needs whole counts with total > 0 (got ${successes}/${total})`,
    );
  }
  if (successes < 0 || successes > total) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Wilson interval: ${successes} successes out of ${total} is impossible`,
    );
  }
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / total;
  const z2n = (z * z) / total;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total));
  // At 0 or total successes the exact bound is 0 or 1; clamp away rounding.
  return [
    successes === 0 ? 0 : Math.max(0, centre - half),
    successes === total ? 1 : Math.min(1, centre + half),
  ];
}

function proportion(successes: number, total: number, level: number, none: string): Proportion {
  if (total === 0) return { estimate: null, ci: null, successes: 0, total: 0, note: none };
  return {
    estimate: successes / total,
    ci: wilsonInterval(successes, total, level),
    successes,
    total,
  };
}

/** The 2×2 table at a threshold: a case is called positive when its score >= threshold. */
export interface ConfusionMatrix {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly trueNegatives: number;
  readonly falseNegatives: number;
}

export interface OperatingPoint {
  readonly threshold: number;
  readonly confusion: ConfusionMatrix;
  readonly sensitivity: Proportion;
  readonly specificity: Proportion;
  readonly ppv: Proportion;
  readonly npv: Proportion;
  readonly level: number;
}

export function confusionAt(data: BinaryOutcomes, threshold: number): ConfusionMatrix {
  checkOutcomes(data);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  data.scores.forEach((score, i) => {
    const calledPositive = score >= threshold;
    if (data.truth[i] === 1) {
      if (calledPositive) tp++;
      else fn++;
    } else if (calledPositive) fp++;
    else tn++;
  });
  return { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn };
}

/** Sensitivity, specificity, PPV and NPV with Wilson CIs at a threshold. */
export function operatingPoint(
  data: BinaryOutcomes,
  threshold: number,
  level = 0.95,
): OperatingPoint {
  if (!Number.isFinite(threshold)) {
    throw new RadiolensError('E_BAD_INPUT', `threshold must be a finite number, got ${threshold}`);
  }
  const c = confusionAt(data, threshold);
  return {
    threshold,
    confusion: c,
    sensitivity: proportion(
      c.truePositives,
      c.truePositives + c.falseNegatives,
      level,
      'no positive cases',
    ),
    specificity: proportion(
      c.trueNegatives,
      c.trueNegatives + c.falsePositives,
      level,
      'no negative cases',
    ),
    ppv: proportion(
      c.truePositives,
      c.truePositives + c.falsePositives,
      level,
      'no case called positive at this threshold',
    ),
    npv: proportion(
      c.trueNegatives,
      c.trueNegatives + c.falseNegatives,
      level,
      'no case called negative at this threshold',
    ),
    level,
  };
}

/** What the threshold must achieve on the tuning split. */
export type ThresholdTarget = { readonly sensitivity: number } | { readonly specificity: number };

/**
 * The threshold meeting a target on these cases: for a sensitivity target the highest
 * threshold whose sensitivity is at least the target (best specificity given the target);
 * for a specificity target the lowest threshold whose specificity is at least the target.
 */
export function selectThreshold(data: BinaryOutcomes, target: ThresholdTarget): number {
  const { positives, negatives } = splitByClass(data, 'tuning split');
  const goal = 'sensitivity' in target ? target.sensitivity : target.specificity;
  if (!(goal >= 0 && goal <= 1)) {
    throw new RadiolensError('E_BAD_INPUT', `target must be a proportion in [0, 1], got ${goal}`);
  }
  if ('sensitivity' in target) {
    // Calling the k highest positives positive gives sensitivity k/m; the threshold is the
    // k-th highest positive score.
    const sorted = [...positives].sort((a, b) => b - a);
    const k = Math.max(1, Math.ceil(goal * sorted.length - 1e-9));
    return sorted[k - 1]!;
  }
  // Specificity: negatives strictly below the threshold are true negatives. Choose the lowest
  // threshold just above enough negatives: the smallest score value above the k-th lowest.
  const sorted = [...negatives].sort((a, b) => a - b);
  const k = Math.ceil(goal * sorted.length - 1e-9);
  if (k === 0) return Math.min(...positives, ...negatives);
  const kth = sorted[k - 1]!;
  const above = [...positives, ...negatives].filter((s) => s > kth);
  // Nothing scores above: only a threshold above every case reaches the target.
  return above.length > 0 ? Math.min(...above) : nextUp(kth);
}

function nextUp(x: number): number {
  return x + Math.max(Math.abs(x) * Number.EPSILON, Number.MIN_VALUE);
}

/** A threshold chosen on the tuning split and its operating point on both splits. */
export interface TunedOperatingPoint {
  readonly target: ThresholdTarget;
  readonly threshold: number;
  readonly tuning: OperatingPoint;
  readonly test: OperatingPoint;
}

export function tuneOperatingPoint(
  tuning: BinaryOutcomes,
  test: BinaryOutcomes,
  target: ThresholdTarget,
  level = 0.95,
): TunedOperatingPoint {
  const threshold = selectThreshold(tuning, target);
  return {
    target,
    threshold,
    tuning: operatingPoint(tuning, threshold, level),
    test: operatingPoint(test, threshold, level),
  };
}
