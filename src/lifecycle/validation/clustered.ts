/**
 * Intervals that respect clustering (ADR 0057): when a patient contributes several images,
 * the images are not independent, and intervals that treat them so are too narrow.
 *
 * - AUC: Obuchowski's nonparametric clustered ROC analysis (Obuchowski 1997, Biometrics
 *   53:567–578): DeLong's structural components summed per cluster, with variance
 *   S10/M + S01/N + 2·S11/(M·N). With one image per cluster it is DeLong's variance exactly.
 *   The same components give the covariance of two AUCs on the same clusters, so two models
 *   can be compared by a clustered paired test.
 * - AUC, sensitivity and specificity: a cluster bootstrap (patients drawn with replacement,
 *   each bringing all its images), percentile intervals.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { normalQuantile, normalTwoSidedP } from './distributions.js';
import { percentileInterval, DEFAULT_BOOTSTRAP_SEED } from './bootstrap.js';
import { checkOutcomes, type BinaryOutcomes } from './input.js';
import { seededRandom } from './random.js';
import { delongComponents, type Interval } from './roc.js';

export interface ClusteredAuc {
  readonly auc: number;
  readonly variance: number;
  readonly ci: Interval;
  readonly level: number;
  readonly clusters: number;
  readonly clustersWithPositives: number;
  readonly clustersWithNegatives: number;
  readonly method: 'Obuchowski 1997 (clustered DeLong)';
}

export interface ClusteredComparison {
  readonly aucA: number;
  readonly aucB: number;
  readonly difference: number;
  readonly variance: number;
  readonly z: number;
  readonly p: number;
  readonly ci: Interval;
  readonly level: number;
  readonly clusters: number;
  readonly method: 'Obuchowski 1997 (clustered DeLong), paired';
}

export interface ClusterBootstrap {
  readonly auc: Interval;
  readonly sensitivity: Interval;
  readonly specificity: Interval;
  readonly level: number;
  readonly resamples: number;
  /** Replicates without a positive or a negative image, drawn again (not counted). */
  readonly redrawn: number;
  readonly seed: number;
  readonly clusters: number;
  readonly method: 'cluster bootstrap (patients resampled), percentile';
}

function bad(message: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', message);
}

function checkClusters(data: BinaryOutcomes, clusters: readonly string[], what: string): void {
  checkOutcomes(data, what);
  if (clusters.length !== data.truth.length) {
    throw bad(`${what}: ${clusters.length} cluster ids for ${data.truth.length} images`);
  }
  const empty = clusters.findIndex((c) => c.trim() === '');
  if (empty >= 0) {
    throw bad(
      `${what}: image ${empty + 1} has no patient id — fill the patient column for every image`,
    );
  }
}

/** Per model: DeLong's components grouped by cluster, as Obuchowski's V10(i), V01(i). */
interface ClusterSums {
  readonly auc: number;
  readonly v10: Float64Array;
  readonly v01: Float64Array;
}

interface ClusterLayout {
  /** Cluster index of each image. */
  readonly of: Int32Array;
  readonly count: number;
  /** m_i (positive images) and n_i (negative images) per cluster. */
  readonly m: Float64Array;
  readonly n: Float64Array;
}

function layout(data: BinaryOutcomes, clusters: readonly string[]): ClusterLayout {
  const index = new Map<string, number>();
  const of = new Int32Array(clusters.length);
  clusters.forEach((c, i) => {
    let k = index.get(c);
    if (k === undefined) {
      k = index.size;
      index.set(c, k);
    }
    of[i] = k;
  });
  const m = new Float64Array(index.size);
  const n = new Float64Array(index.size);
  data.truth.forEach((t, i) => {
    if (t === 1) m[of[i]!]! += 1;
    else n[of[i]!]! += 1;
  });
  return { of, count: index.size, m, n };
}

function clusterSums(
  scores: readonly number[],
  data: BinaryOutcomes,
  at: ClusterLayout,
): ClusterSums {
  const positives: number[] = [];
  const negatives: number[] = [];
  const posCluster: number[] = [];
  const negCluster: number[] = [];
  data.truth.forEach((t, i) => {
    if (t === 1) {
      positives.push(scores[i]!);
      posCluster.push(at.of[i]!);
    } else {
      negatives.push(scores[i]!);
      negCluster.push(at.of[i]!);
    }
  });
  const components = delongComponents({ positives, negatives });
  const v10 = new Float64Array(at.count);
  const v01 = new Float64Array(at.count);
  components.v10.forEach((v, j) => (v10[posCluster[j]!]! += v));
  components.v01.forEach((v, k) => (v01[negCluster[k]!]! += v));
  return { auc: components.auc, v10, v01 };
}

/** Obuchowski's covariance of two AUCs measured on the same clustered cases. */
function clusteredCovariance(a: ClusterSums, b: ClusterSums, at: ClusterLayout): number {
  let M = 0;
  let N = 0;
  let withPositives = 0;
  let withNegatives = 0;
  for (let i = 0; i < at.count; i++) {
    M += at.m[i]!;
    N += at.n[i]!;
    if (at.m[i]! > 0) withPositives++;
    if (at.n[i]! > 0) withNegatives++;
  }
  let s10 = 0;
  let s01 = 0;
  let s11ab = 0;
  let s11ba = 0;
  for (let i = 0; i < at.count; i++) {
    const xa = a.v10[i]! - at.m[i]! * a.auc;
    const xb = b.v10[i]! - at.m[i]! * b.auc;
    const ya = a.v01[i]! - at.n[i]! * a.auc;
    const yb = b.v01[i]! - at.n[i]! * b.auc;
    s10 += xa * xb;
    s01 += ya * yb;
    s11ab += xa * yb;
    s11ba += xb * ya;
  }
  s10 *= withPositives / ((withPositives - 1) * M);
  s01 *= withNegatives / ((withNegatives - 1) * N);
  const scale = at.count / (at.count - 1);
  return s10 / M + s01 / N + (scale * (s11ab + s11ba)) / (M * N);
}

function requireTwoClustersPerClass(at: ClusterLayout, what: string): void {
  let withPositives = 0;
  let withNegatives = 0;
  for (let i = 0; i < at.count; i++) {
    if (at.m[i]! > 0) withPositives++;
    if (at.n[i]! > 0) withNegatives++;
  }
  if (withPositives < 2 || withNegatives < 2) {
    throw bad(
      `${what}: a clustered AUC needs positive images from at least 2 patients and negative images from at least 2 (got ${withPositives} and ${withNegatives})`,
    );
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw bad(`confidence level must be in (0, 1), got ${level}`);
}

/** The empirical AUC with Obuchowski's clustered variance and a normal CI clipped to [0, 1]. */
export function clusteredAuc(
  data: BinaryOutcomes,
  clusters: readonly string[],
  options: { level?: number; what?: string } = {},
): ClusteredAuc {
  const level = options.level ?? 0.95;
  const what = options.what ?? 'scores';
  checkLevel(level);
  checkClusters(data, clusters, what);
  const at = layout(data, clusters);
  requireTwoClustersPerClass(at, what);
  const sums = clusterSums(data.scores, data, at);
  const variance = clusteredCovariance(sums, sums, at);
  const half = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(variance);
  let withPositives = 0;
  let withNegatives = 0;
  for (let i = 0; i < at.count; i++) {
    if (at.m[i]! > 0) withPositives++;
    if (at.n[i]! > 0) withNegatives++;
  }
  return {
    auc: sums.auc,
    variance,
    ci: [Math.max(0, sums.auc - half), Math.min(1, sums.auc + half)],
    level,
    clusters: at.count,
    clustersWithPositives: withPositives,
    clustersWithNegatives: withNegatives,
    method: 'Obuchowski 1997 (clustered DeLong)',
  };
}

/**
 * Two models' AUCs on the same images and patients (first − second): a paired z-test whose
 * variance respects clustering; with one image per patient it is DeLong's paired test.
 */
export function clusteredDelongTest(
  truth: readonly (0 | 1)[],
  scoresA: readonly number[],
  scoresB: readonly number[],
  clusters: readonly string[],
  options: { level?: number } = {},
): ClusteredComparison {
  const level = options.level ?? 0.95;
  checkLevel(level);
  const a: BinaryOutcomes = { truth, scores: scoresA };
  const b: BinaryOutcomes = { truth, scores: scoresB };
  checkClusters(a, clusters, 'first scores');
  checkClusters(b, clusters, 'second scores');
  const at = layout(a, clusters);
  requireTwoClustersPerClass(at, 'paired comparison');
  const sa = clusterSums(scoresA, a, at);
  const sb = clusterSums(scoresB, b, at);
  const variance =
    clusteredCovariance(sa, sa, at) +
    clusteredCovariance(sb, sb, at) -
    2 * clusteredCovariance(sa, sb, at);
  const difference = sa.auc - sb.auc;
  const sd = Math.sqrt(Math.max(variance, 0));
  const z = sd === 0 ? (difference === 0 ? 0 : Math.sign(difference) * Infinity) : difference / sd;
  const half = normalQuantile(1 - (1 - level) / 2) * sd;
  return {
    aucA: sa.auc,
    aucB: sb.auc,
    difference,
    variance,
    z,
    p: normalTwoSidedP(z),
    ci: [difference - half, difference + half],
    level,
    clusters: at.count,
    method: 'Obuchowski 1997 (clustered DeLong), paired',
  };
}

/**
 * Cluster bootstrap of AUC, sensitivity and specificity at `threshold` (score >= threshold
 * is positive): patients are drawn with replacement and bring all their images. A replicate
 * without a positive or a negative image is drawn again (counted in `redrawn`).
 */
export function clusterBootstrap(
  data: BinaryOutcomes,
  clusters: readonly string[],
  threshold: number,
  options: { resamples?: number; seed?: number; level?: number; what?: string } = {},
): ClusterBootstrap {
  const resamples = options.resamples ?? 2000;
  const seed = options.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const level = options.level ?? 0.95;
  const what = options.what ?? 'scores';
  checkLevel(level);
  checkClusters(data, clusters, what);
  if (!(Number.isInteger(resamples) && resamples >= 100)) {
    throw bad(
      `bootstrap needs at least 100 resamples, got ${resamples} — 2000 is the usual choice`,
    );
  }
  const at = layout(data, clusters);
  requireTwoClustersPerClass(at, what);
  const members: number[][] = Array.from({ length: at.count }, () => []);
  at.of.forEach((k, i) => members[k]!.push(i));
  const random = seededRandom(seed);
  const aucs: number[] = [];
  const sensitivities: number[] = [];
  const specificities: number[] = [];
  let redrawn = 0;
  while (aucs.length < resamples) {
    const positives: number[] = [];
    const negatives: number[] = [];
    for (let draw = 0; draw < at.count; draw++) {
      for (const i of members[Math.floor(random() * at.count)]!) {
        (data.truth[i] === 1 ? positives : negatives).push(data.scores[i]!);
      }
    }
    if (positives.length === 0 || negatives.length === 0) {
      redrawn++;
      if (redrawn > 10 * resamples)
        throw bad(`${what}: too few patients of each class to bootstrap`);
      continue;
    }
    aucs.push(delongComponents({ positives, negatives }).auc);
    sensitivities.push(positives.filter((s) => s >= threshold).length / positives.length);
    specificities.push(negatives.filter((s) => s < threshold).length / negatives.length);
  }
  return {
    auc: percentileInterval(aucs, level),
    sensitivity: percentileInterval(sensitivities, level),
    specificity: percentileInterval(specificities, level),
    level,
    resamples,
    redrawn,
    seed,
    clusters: at.count,
    method: 'cluster bootstrap (patients resampled), percentile',
  };
}
