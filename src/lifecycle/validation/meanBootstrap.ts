/**
 * Percentile bootstrap intervals of means (and of ratios and differences of means) over
 * images, or over patients when images are clustered: a patient drawn brings all of their
 * images, so repeated images of one patient do not pass for independent evidence. Used where a
 * per-image measurement is averaged (heatmap energy shares, score changes under perturbation).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { DEFAULT_BOOTSTRAP_SEED, percentileInterval } from './bootstrap.js';
import { seededRandom } from './random.js';
import type { Interval } from './roc.js';

export interface MeanBootstrapOptions {
  /** Default 2000. */
  readonly resamples?: number;
  readonly seed?: number;
  /** Default 0.95. */
  readonly level?: number;
}

/** A mean (or a function of means) with its bootstrap interval. */
export interface BootstrappedEstimate {
  readonly estimate: number;
  readonly ci: Interval;
  /** Images the estimate is over. */
  readonly n: number;
  /** The resampled units: images, or patients when clustered. */
  readonly units: number;
  readonly method: string;
}

/**
 * Replicates of `statistic` over resampled units. Each replicate passes the drawn image
 * indices (an image of a patient drawn twice appears twice). `clusters` null: images are the
 * units.
 */
export function bootstrapReplicates(
  count: number,
  clusters: readonly string[] | null,
  statistic: (indices: readonly number[]) => number,
  options: MeanBootstrapOptions = {},
): number[] {
  const resamples = options.resamples ?? 2000;
  if (!(Number.isInteger(resamples) && resamples >= 100)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `bootstrap needs at least 100 resamples, got ${resamples} — 2000 is the usual choice`,
    );
  }
  if (count === 0) throw new RadiolensError('E_BAD_INPUT', 'bootstrap of an empty sample');
  if (clusters !== null && clusters.length !== count) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${clusters.length} cluster ids for ${count} images — give one per image`,
    );
  }
  const units = unitsOf(count, clusters);
  const random = seededRandom(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const out: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const drawn: number[] = [];
    for (let u = 0; u < units.length; u++) {
      for (const i of units[Math.floor(random() * units.length)]!) drawn.push(i);
    }
    out.push(statistic(drawn));
  }
  return out;
}

/** Mean of `values` with a percentile bootstrap interval over images or patients. */
export function bootstrapMean(
  values: readonly number[],
  clusters: readonly string[] | null,
  options: MeanBootstrapOptions = {},
): BootstrappedEstimate {
  return bootstrapRatio(
    values,
    values.map(() => 1),
    clusters,
    options,
  );
}

/**
 * Σ numerator / Σ denominator (a ratio of means, e.g. the model's hit rate over the random
 * heatmap's expected hit rate) with a percentile bootstrap interval. A replicate whose
 * denominator is 0 is skipped; the estimate is NaN-free only when the full sample's is not 0.
 */
export function bootstrapRatio(
  numerator: readonly number[],
  denominator: readonly number[],
  clusters: readonly string[] | null,
  options: MeanBootstrapOptions = {},
): BootstrappedEstimate {
  if (numerator.length !== denominator.length) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `bootstrap ratio: ${numerator.length} numerators for ${denominator.length} denominators`,
    );
  }
  const ratio = (indices: readonly number[]): number => {
    let top = 0;
    let bottom = 0;
    for (const i of indices) {
      top += numerator[i]!;
      bottom += denominator[i]!;
    }
    return top / bottom;
  };
  const all = numerator.map((_, i) => i);
  const estimate = ratio(all);
  if (!Number.isFinite(estimate)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'bootstrap ratio: the denominator sums to 0 over the sample — there is nothing to compare with',
    );
  }
  const replicates = bootstrapReplicates(numerator.length, clusters, ratio, options).filter(
    Number.isFinite,
  );
  return {
    estimate,
    ci: percentileInterval(replicates, options.level ?? 0.95),
    n: numerator.length,
    units: unitsOf(numerator.length, clusters).length,
    method:
      clusters === null
        ? 'percentile bootstrap over images'
        : 'percentile bootstrap over patients (all images of a drawn patient)',
  };
}

/** Mean of a − b (paired per image) with a bootstrap interval. */
export function bootstrapMeanDifference(
  a: readonly number[],
  b: readonly number[],
  clusters: readonly string[] | null,
  options: MeanBootstrapOptions = {},
): BootstrappedEstimate {
  if (a.length !== b.length) {
    throw new RadiolensError('E_BAD_INPUT', `paired difference: ${a.length} vs ${b.length} values`);
  }
  return bootstrapMean(
    a.map((v, i) => v - b[i]!),
    clusters,
    options,
  );
}

function unitsOf(count: number, clusters: readonly string[] | null): number[][] {
  if (clusters === null) return Array.from({ length: count }, (_, i) => [i]);
  const byCluster = new Map<string, number[]>();
  clusters.forEach((cluster, i) => {
    const list = byCluster.get(cluster) ?? [];
    list.push(i);
    byCluster.set(cluster, list);
  });
  return [...byCluster.values()];
}
