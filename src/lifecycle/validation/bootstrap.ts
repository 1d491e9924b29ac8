/**
 * Stratified bootstrap CIs: positives and negatives are resampled separately (so every
 * replicate keeps the study's class sizes, as pROC's default does), with a seeded generator
 * so the same data always give the same interval. Percentile intervals use R's default
 * quantile definition (type 7).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import {
  type BinaryOutcomes,
  type ClassScores,
  requireCasesPerClass,
  splitByClass,
} from './input.js';
import { seededRandom, type RandomSource } from './random.js';
import { empiricalAuc, type Interval, rocCurve } from './roc.js';

export interface BootstrapOptions {
  /** Number of resamples; 2000 by default (pROC's default). */
  readonly resamples?: number;
  /** Seed of the generator; the same seed gives the same CI. */
  readonly seed?: number;
  readonly level?: number;
}

export const DEFAULT_BOOTSTRAP_SEED = 20_240_501;

/** R's quantile type 7 of an ascending-sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function resample(values: readonly number[], random: RandomSource): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[Math.floor(random() * values.length)]!;
  return out;
}

/** Draws `resamples` stratified replicates and returns the statistic of each. */
export function stratifiedBootstrap<T>(
  classes: ClassScores,
  statistic: (replicate: ClassScores) => T,
  options: BootstrapOptions = {},
): T[] {
  const resamples = options.resamples ?? 2000;
  if (!(Number.isInteger(resamples) && resamples >= 100)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `bootstrap needs at least 100 resamples, got ${resamples} — 2000 is the usual choice`,
    );
  }
  const random = seededRandom(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const results: T[] = [];
  for (let r = 0; r < resamples; r++) {
    results.push(
      statistic({
        positives: resample(classes.positives, random),
        negatives: resample(classes.negatives, random),
      }),
    );
  }
  return results;
}

/** Percentile CI from bootstrap replicates. */
export function percentileInterval(values: readonly number[], level: number): Interval {
  const sorted = Float64Array.from(values).sort();
  return [quantileSorted(sorted, (1 - level) / 2), quantileSorted(sorted, 1 - (1 - level) / 2)];
}

/** Stratified-bootstrap percentile CI of the empirical AUC. */
export function bootstrapAucCi(
  data: BinaryOutcomes,
  options: BootstrapOptions & { what?: string } = {},
): { ci: Interval; level: number; resamples: number; seed: number } {
  const level = options.level ?? 0.95;
  const what = options.what ?? 'scores';
  const classes = splitByClass(data, what);
  requireCasesPerClass(classes, 2, what);
  const aucs = stratifiedBootstrap(classes, empiricalAuc, options);
  return {
    ci: percentileInterval(aucs, level),
    level,
    resamples: aucs.length,
    seed: options.seed ?? DEFAULT_BOOTSTRAP_SEED,
  };
}

/**
 * Stratified, paired bootstrap percentile CI of AUC(A) − AUC(B) for two scores on the same
 * cases: each replicate draws case indices (positives and negatives separately) and scores
 * both models on the same draw, keeping their correlation — the bootstrap alternative to
 * DeLong's test.
 */
export function bootstrapAucDifferenceCi(
  truth: readonly (0 | 1)[],
  scoresA: readonly number[],
  scoresB: readonly number[],
  options: BootstrapOptions & { what?: [string, string] } = {},
): { difference: number; ci: Interval; level: number; resamples: number; seed: number } {
  const level = options.level ?? 0.95;
  const [whatA, whatB] = options.what ?? ['first scores', 'second scores'];
  const a = splitByClass({ truth, scores: scoresA }, whatA);
  const b = splitByClass({ truth, scores: scoresB }, whatB);
  requireCasesPerClass(a, 2, whatA);
  const positiveIndex = a.positives.map((_, i) => i);
  const negativeIndex = a.negatives.map((_, i) => i);
  // Resampling indices through the value resampler keeps one code path for the draws.
  const differences = stratifiedBootstrap(
    { positives: positiveIndex, negatives: negativeIndex },
    (draw) =>
      empiricalAuc({
        positives: draw.positives.map((i) => a.positives[i]!),
        negatives: draw.negatives.map((i) => a.negatives[i]!),
      }) -
      empiricalAuc({
        positives: draw.positives.map((i) => b.positives[i]!),
        negatives: draw.negatives.map((i) => b.negatives[i]!),
      }),
    options,
  );
  return {
    difference: empiricalAuc(a) - empiricalAuc(b),
    ci: percentileInterval(differences, level),
    level,
    resamples: differences.length,
    seed: options.seed ?? DEFAULT_BOOTSTRAP_SEED,
  };
}

/** Sensitivity of an empirical ROC curve at a specificity (the best reachable point). */
function sensitivityAtSpecificity(
  classes: ClassScores,
  specificities: readonly number[],
): number[] {
  const curve = rocCurve({
    truth: [...classes.positives.map(() => 1 as const), ...classes.negatives.map(() => 0 as const)],
    scores: [...classes.positives, ...classes.negatives],
  });
  return specificities.map((target) => {
    let best = 0;
    for (const point of curve) {
      if (point.specificity >= target - 1e-12 && point.sensitivity > best) best = point.sensitivity;
    }
    return best;
  });
}

/** One point of the ROC confidence band: the sensitivity CI at a fixed specificity. */
export interface RocBandPoint {
  readonly specificity: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * A pointwise confidence band around the ROC curve: at each specificity of a grid, the
 * bootstrap percentile CI of the sensitivity (pROC's ci.se).
 */
export function rocConfidenceBand(
  data: BinaryOutcomes,
  options: BootstrapOptions & { gridSize?: number; what?: string } = {},
): RocBandPoint[] {
  const level = options.level ?? 0.95;
  const what = options.what ?? 'scores';
  const classes = splitByClass(data, what);
  requireCasesPerClass(classes, 2, what);
  const gridSize = options.gridSize ?? 51;
  const grid = Array.from({ length: gridSize }, (_, i) => i / (gridSize - 1));
  const replicates = stratifiedBootstrap(
    classes,
    (replicate) => sensitivityAtSpecificity(replicate, grid),
    { resamples: options.resamples ?? 500, seed: options.seed, level },
  );
  return grid.map((specificity, g) => {
    const [lower, upper] = percentileInterval(
      replicates.map((r) => r[g]!),
      level,
    );
    return { specificity, lower, upper };
  });
}
