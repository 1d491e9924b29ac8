/**
 * ROC analysis: the empirical (Mann–Whitney) AUC, DeLong's variance and CI, DeLong's test for
 * two correlated AUCs, and ROC curve points. Conventions follow pROC so that results can be
 * checked against it digit for digit (ADR 0052): ties count 1/2, a higher score means
 * "more likely positive", the CI is AUC ± z·SE clipped to [0, 1], variances use n − 1.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { normalQuantile, normalTwoSidedP } from './distributions.js';
import {
  type BinaryOutcomes,
  type ClassScores,
  requireCasesPerClass,
  splitByClass,
} from './input.js';

/** A two-sided confidence interval [lower, upper]. */
export type Interval = readonly [number, number];

/** An AUC with its DeLong variance and confidence interval. */
export interface AucEstimate {
  readonly auc: number;
  readonly variance: number;
  readonly ci: Interval;
  readonly level: number;
  readonly positives: number;
  readonly negatives: number;
}

/** DeLong's test for the difference of two AUCs measured on the same cases (first − second). */
export interface DelongComparison {
  readonly aucA: number;
  readonly aucB: number;
  readonly difference: number;
  readonly variance: number;
  readonly z: number;
  readonly p: number;
  readonly ci: Interval;
  readonly level: number;
}

/** DeLong's structural components: V10 per positive case, V01 per negative case. */
export interface DelongComponents {
  readonly auc: number;
  readonly v10: Float64Array;
  readonly v01: Float64Array;
}

/** 1-based midranks of values (ties share the mean of their ranks). */
export function midranks(values: readonly number[]): Float64Array {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * DeLong's structural components by midranks (Sun & Xu's fast algorithm): O(N log N) rather
 * than comparing every positive with every negative.
 */
export function delongComponents(classes: ClassScores): DelongComponents {
  const { positives, negatives } = classes;
  const m = positives.length;
  const n = negatives.length;
  const all = midranks([...positives, ...negatives]);
  const withinPositives = midranks(positives);
  const withinNegatives = midranks(negatives);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    v10[i] = (all[i]! - withinPositives[i]!) / n;
    sum += v10[i]!;
  }
  for (let j = 0; j < n; j++) v01[j] = 1 - (all[m + j]! - withinNegatives[j]!) / m;
  return { auc: sum / m, v10, v01 };
}

/** The empirical AUC alone (probability a positive outscores a negative, ties 1/2). */
export function empiricalAuc(classes: ClassScores): number {
  return delongComponents(classes).auc;
}

function sampleCovariance(a: Float64Array, b: Float64Array, meanA: number, meanB: number): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - meanA) * (b[i]! - meanB);
  return sum / (a.length - 1);
}

/**
 * DeLong's covariance matrix of several AUCs measured on the same cases (same truth, case
 * order aligned): S10/m + S01/n.
 */
export function delongCovariance(components: readonly DelongComponents[]): number[][] {
  return components.map((a) =>
    components.map((b) => {
      const s10 = sampleCovariance(a.v10, b.v10, a.auc, b.auc);
      const s01 = sampleCovariance(a.v01, b.v01, a.auc, b.auc);
      return s10 / a.v10.length + s01 / a.v01.length;
    }),
  );
}

function clip01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) {
    throw new RadiolensError('E_BAD_INPUT', `confidence level must be in (0, 1), got ${level}`);
  }
}

/** Empirical AUC with DeLong variance and a normal CI clipped to [0, 1] (pROC's ci.auc). */
export function aucWithDelong(
  data: BinaryOutcomes,
  options: { level?: number; what?: string } = {},
): AucEstimate {
  const level = options.level ?? 0.95;
  checkLevel(level);
  const what = options.what ?? 'scores';
  const classes = splitByClass(data, what);
  requireCasesPerClass(classes, 2, what);
  const components = delongComponents(classes);
  const variance = delongCovariance([components])[0]![0]!;
  const half = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(variance);
  return {
    auc: components.auc,
    variance,
    ci: [clip01(components.auc - half), clip01(components.auc + half)],
    level,
    positives: classes.positives.length,
    negatives: classes.negatives.length,
  };
}

/**
 * DeLong's test for two correlated AUCs: both scores on the same cases with one truth. The
 * difference is first − second; its CI is not clipped (pROC's roc.test).
 */
export function delongTest(
  truth: readonly (0 | 1)[],
  scoresA: readonly number[],
  scoresB: readonly number[],
  options: { level?: number; what?: [string, string] } = {},
): DelongComparison {
  const level = options.level ?? 0.95;
  checkLevel(level);
  const [whatA, whatB] = options.what ?? ['first scores', 'second scores'];
  const classesA = splitByClass({ truth, scores: scoresA }, whatA);
  const classesB = splitByClass({ truth, scores: scoresB }, whatB);
  requireCasesPerClass(classesA, 2, whatA);
  const a = delongComponents(classesA);
  const b = delongComponents(classesB);
  const [[varA, cov], [, varB]] = delongCovariance([a, b]) as [[number, number], [number, number]];
  const difference = a.auc - b.auc;
  // Rounding can leave a hair below zero when the two scores rank cases identically.
  const variance = Math.max(0, varA + varB - 2 * cov);
  const se = Math.sqrt(variance);
  let z: number;
  if (se > 0) z = difference / se;
  else z = difference === 0 ? 0 : Math.sign(difference) * Infinity;
  const half = normalQuantile(1 - (1 - level) / 2) * se;
  return {
    aucA: a.auc,
    aucB: b.auc,
    difference,
    variance,
    z,
    p: normalTwoSidedP(z),
    ci: [difference - half, difference + half],
    level,
  };
}

/** One point of an empirical ROC curve: calling "positive" every case scoring >= threshold. */
export interface RocPoint {
  readonly threshold: number;
  readonly sensitivity: number;
  readonly specificity: number;
}

/**
 * The empirical ROC curve from (0, 0) to (1, 1): one point per distinct score, thresholds
 * descending, starting at +Infinity (nobody called positive).
 */
export function rocCurve(data: BinaryOutcomes, what = 'scores'): RocPoint[] {
  const { positives, negatives } = splitByClass(data, what);
  const thresholds = [...new Set([...positives, ...negatives])].sort((x, y) => y - x);
  const pos = [...positives].sort((x, y) => y - x);
  const neg = [...negatives].sort((x, y) => y - x);
  const points: RocPoint[] = [{ threshold: Infinity, sensitivity: 0, specificity: 1 }];
  let tp = 0;
  let fp = 0;
  for (const threshold of thresholds) {
    while (tp < pos.length && pos[tp]! >= threshold) tp++;
    while (fp < neg.length && neg[fp]! >= threshold) fp++;
    points.push({
      threshold,
      sensitivity: tp / pos.length,
      specificity: 1 - fp / neg.length,
    });
  }
  return points;
}
