/**
 * The tests a drift monitor uses (ADR 0087), each checked against SciPy in the tests:
 *
 * - two-sample Kolmogorov–Smirnov for numeric features (exact p-value by lattice-path
 *   counting up to 10^6 pairs, the asymptotic Kolmogorov series with Stephens' correction
 *   above), distribution-free, sensitive to any change of shape or location;
 * - chi-squared test of homogeneity for categorical features, with Fisher's exact test for
 *   2×2 tables and a seeded Monte Carlo permutation p-value where Cochran's rule says the
 *   chi-squared approximation does not hold (small windows, rare categories);
 * - Holm's step-down correction over all tests of one report (family-wise error, no
 *   independence assumption: the features are correlated);
 * - for large samples, where every trivial shift is "significant", effect sizes with fixed
 *   thresholds instead: the population stability index (PSI) for numeric features and the
 *   Jensen–Shannon distance for categorical ones.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { chiSquareSurvival, logGamma, seededRandom } from '../validation/index.js';

export interface TestResult {
  readonly statistic: number;
  readonly p: number;
}

function requireSamples(what: string, ...sizes: number[]): void {
  if (sizes.some((n) => n < 1)) {
    throw new RadiolensError('E_BAD_INPUT', `${what}: both samples need at least one value`);
  }
}

/** Two-sample Kolmogorov–Smirnov: D = sup |F_a − F_b| and its two-sided p-value. */
export function kolmogorovSmirnov(a: readonly number[], b: readonly number[]): TestResult {
  requireSamples('KS test', a.length, b.length);
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  const n = x.length;
  const m = y.length;
  // D·n·m as an integer: the largest |i·m − j·n| over the merged steps (ties step together).
  let i = 0;
  let j = 0;
  let worst = 0;
  while (i < n && j < m) {
    const value = Math.min(x[i]!, y[j]!);
    while (i < n && x[i] === value) i++;
    while (j < m && y[j] === value) j++;
    worst = Math.max(worst, Math.abs(i * m - j * n));
  }
  const d = worst / (n * m);
  return { statistic: d, p: n * m <= 1_000_000 ? ksExactP(n, m, worst) : ksAsymptoticP(n, m, d) };
}

/** P(D·n·m ≥ k) under H0 by counting monotone lattice paths (continuous data). */
function ksExactP(n: number, m: number, k: number): number {
  if (k <= 0) return 1;
  // w[j] = probability that a random path reaches (i, j) without ever touching |i·m − j·n| ≥ k.
  let w = new Float64Array(m + 1);
  w[0] = 1;
  for (let j = 1; j <= m; j++) w[j] = j * n >= k ? 0 : w[j - 1]!;
  for (let i = 1; i <= n; i++) {
    const next = new Float64Array(m + 1);
    next[0] = i * m >= k ? 0 : w[0]!;
    for (let j = 1; j <= m; j++) {
      if (Math.abs(i * m - j * n) >= k) continue;
      next[j] = (w[j]! * i + next[j - 1]! * j) / (i + j);
    }
    w = next;
  }
  return Math.min(1, Math.max(0, 1 - w[m]!));
}

function ksAsymptoticP(n: number, m: number, d: number): number {
  const en = Math.sqrt((n * m) / (n + m));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = (j % 2 === 1 ? 2 : -2) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-16) break;
  }
  return Math.min(1, Math.max(0, sum));
}

export interface CategoricalTestResult extends TestResult {
  readonly test: 'chi-squared' | 'chi-squared (Monte Carlo)' | 'Fisher exact';
  readonly df: number;
}

/** Categories of both samples in a fixed order, with each sample's counts. */
function table(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): { categories: string[]; ra: number[]; rb: number[] } {
  const categories = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return {
    categories,
    ra: categories.map((c) => a[c] ?? 0),
    rb: categories.map((c) => b[c] ?? 0),
  };
}

function chiSquared(
  ra: readonly number[],
  rb: readonly number[],
): { statistic: number; minExpected: number; smallShare: number } {
  const na = ra.reduce((s, v) => s + v, 0);
  const nb = rb.reduce((s, v) => s + v, 0);
  const total = na + nb;
  let statistic = 0;
  let minExpected = Infinity;
  let small = 0;
  ra.forEach((oa, c) => {
    const column = oa + rb[c]!;
    for (const [observed, rowTotal] of [
      [oa, na],
      [rb[c]!, nb],
    ] as const) {
      const expected = (rowTotal * column) / total;
      minExpected = Math.min(minExpected, expected);
      if (expected < 5) small++;
      if (expected > 0) statistic += (observed - expected) ** 2 / expected;
    }
  });
  return { statistic, minExpected, smallShare: small / (2 * ra.length) };
}

/**
 * Are two samples of a categorical feature drawn from the same distribution? Chi-squared
 * when every expected count is at least 1 and at most 20% are below 5 (Cochran), Fisher's
 * exact test for two categories, otherwise the chi-squared statistic's permutation
 * distribution by `permutations` seeded shuffles.
 */
export function categoricalHomogeneity(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
  options: { permutations?: number; seed?: number } = {},
): CategoricalTestResult {
  const { ra, rb } = table(a, b);
  const na = ra.reduce((s, v) => s + v, 0);
  const nb = rb.reduce((s, v) => s + v, 0);
  requireSamples('categorical test', na, nb);
  const df = ra.length - 1;
  if (df === 0) return { test: 'chi-squared', statistic: 0, p: 1, df };
  if (df === 1) {
    return {
      test: 'Fisher exact',
      statistic: chiSquared(ra, rb).statistic,
      p: fisherExact(ra[0]!, ra[1]!, rb[0]!, rb[1]!),
      df,
    };
  }
  const observed = chiSquared(ra, rb);
  if (observed.minExpected >= 1 && observed.smallShare <= 0.2) {
    return {
      test: 'chi-squared',
      statistic: observed.statistic,
      p: chiSquareSurvival(observed.statistic, df),
      df,
    };
  }
  const permutations = options.permutations ?? 4999;
  const random = seededRandom(options.seed ?? 20_261_201);
  const labels: number[] = [];
  ra.forEach((count, c) => {
    for (let k = 0; k < count; k++) labels.push(c);
  });
  rb.forEach((count, c) => {
    for (let k = 0; k < count; k++) labels.push(c);
  });
  let atLeast = 0;
  const pa = new Array<number>(ra.length);
  const pb = new Array<number>(ra.length);
  for (let r = 0; r < permutations; r++) {
    // Partial Fisher–Yates: the first na labels form the shuffled sample a.
    for (let k = 0; k < na; k++) {
      const pick = k + Math.floor(random() * (labels.length - k));
      [labels[k], labels[pick]] = [labels[pick]!, labels[k]!];
    }
    pa.fill(0);
    pb.fill(0);
    for (let k = 0; k < labels.length; k++) (k < na ? pa : pb)[labels[k]!]! += 1;
    if (chiSquared(pa, pb).statistic >= observed.statistic - 1e-12) atLeast++;
  }
  return {
    test: 'chi-squared (Monte Carlo)',
    statistic: observed.statistic,
    p: (atLeast + 1) / (permutations + 1),
    df,
  };
}

/**
 * Fisher's exact test for the 2×2 table [[a, b], [c, d]], two-sided: the sum of the
 * probabilities of every table with the same margins that is no more likely than this one.
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  const row1 = a + b;
  const col1 = a + c;
  const total = a + b + c + d;
  const logChoose = (n: number, k: number): number =>
    logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
  const logP = (x: number): number =>
    logChoose(col1, x) + logChoose(total - col1, row1 - x) - logChoose(total, row1);
  const observed = logP(a);
  let p = 0;
  for (let x = Math.max(0, row1 + col1 - total); x <= Math.min(row1, col1); x++) {
    const lp = logP(x);
    // A relative tolerance, as R and SciPy use, so that equally likely tables count.
    if (lp <= observed + 1e-7) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

/**
 * Population stability index of `window` against `reference`, over the reference's deciles
 * (bins with at least one reference value each); empty bins are floored at 0.0001 so that a
 * category the reference never saw counts heavily instead of infinitely. Conventions: < 0.1
 * stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 */
export function populationStabilityIndex(
  reference: readonly number[],
  window: readonly number[],
  bins = 10,
): number {
  requireSamples('PSI', reference.length, window.length);
  const sorted = [...reference].sort((p, q) => p - q);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / bins))]!;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  const binOf = (value: number): number => {
    let bin = 0;
    while (bin < edges.length && value >= edges[bin]!) bin++;
    return bin;
  };
  const share = (values: readonly number[]): number[] => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const value of values) counts[binOf(value)]! += 1;
    return counts.map((count) => Math.max(count / values.length, 1e-4));
  };
  const r = share(reference);
  const w = share(window);
  return r.reduce((sum, ref, k) => sum + (w[k]! - ref) * Math.log(w[k]! / ref), 0);
}

/** Jensen–Shannon distance (square root of the divergence, base 2): 0 same, 1 disjoint. */
export function jensenShannonDistance(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): number {
  const { ra, rb } = table(a, b);
  const na = ra.reduce((s, v) => s + v, 0);
  const nb = rb.reduce((s, v) => s + v, 0);
  requireSamples('Jensen–Shannon distance', na, nb);
  let divergence = 0;
  ra.forEach((count, c) => {
    const p = count / na;
    const q = rb[c]! / nb;
    const mid = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / mid);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / mid);
  });
  return Math.sqrt(Math.max(0, divergence));
}

export interface HolmDecision {
  /** The level this p-value was compared with: alpha / (m − rank), rank from 0. */
  readonly threshold: number;
  readonly rejected: boolean;
}

/**
 * Holm's step-down procedure: sort the p-values, compare the k-th smallest (from 0) with
 * alpha / (m − k), and stop at the first that is not below its level. Controls the chance of
 * any false alarm among the m tests at alpha.
 */
export function holm(pValues: readonly number[], alpha: number): HolmDecision[] {
  const m = pValues.length;
  const order = pValues
    .map((p, index) => ({ p, index }))
    .sort((x, y) => x.p - y.p || x.index - y.index);
  const out = new Array<HolmDecision>(m);
  let stopped = false;
  order.forEach(({ p, index }, rank) => {
    const threshold = alpha / (m - rank);
    const rejected = !stopped && p <= threshold;
    if (!rejected) stopped = true;
    out[index] = { threshold, rejected };
  });
  return out;
}

/** Values with the cluster (the patient) each one belongs to. */
export interface ClusteredSample<T> {
  readonly values: readonly T[];
  readonly clusters: readonly (string | number)[];
}

/** True when some cluster holds more than one value (then values are not independent). */
export function hasRepeatedClusters(...samples: readonly ClusteredSample<unknown>[]): boolean {
  return samples.some((sample) => new Set(sample.clusters).size < sample.clusters.length);
}

interface Pooled<T> {
  /** Values of both samples, each with its cluster's index (a's clusters first). */
  readonly items: { value: T; cluster: number }[];
  readonly clusterCount: number;
  /** Clusters of sample a: indices 0 … aClusters − 1. */
  readonly aClusters: number;
  readonly sizes: number[];
}

function pool<T>(a: ClusteredSample<T>, b: ClusteredSample<T>): Pooled<T> {
  const index = new Map<string, number>();
  const items: { value: T; cluster: number }[] = [];
  const add = (sample: ClusteredSample<T>, side: string): void => {
    sample.values.forEach((value, i) => {
      const key = `${side}:${String(sample.clusters[i])}`;
      let cluster = index.get(key);
      if (cluster === undefined) {
        cluster = index.size;
        index.set(key, cluster);
      }
      items.push({ value, cluster });
    });
  };
  add(a, 'a');
  const aClusters = index.size;
  add(b, 'b');
  const sizes = new Array<number>(index.size).fill(0);
  for (const item of items) sizes[item.cluster]! += 1;
  return { items, clusterCount: index.size, aClusters, sizes };
}

/**
 * A permutation p-value that respects clusters: whole clusters (a patient's images) are
 * shuffled between the two samples, keeping each sample's number of clusters, so images of
 * one patient never count as independent evidence. `statistic` maps a group assignment
 * (true: sample a) to the statistic; p = (1 + #{permuted ≥ observed}) / (1 + permutations).
 */
function clusterPermutationP<T>(
  pooled: Pooled<T>,
  statistic: (inA: Uint8Array) => number,
  options: { permutations?: number; seed?: number },
): { statistic: number; p: number } {
  const inA = new Uint8Array(pooled.clusterCount);
  for (let c = 0; c < pooled.aClusters; c++) inA[c] = 1;
  const observed = statistic(inA);
  const permutations = options.permutations ?? 4999;
  const random = seededRandom(options.seed ?? 20_261_201);
  const order = Array.from({ length: pooled.clusterCount }, (_, c) => c);
  let atLeast = 0;
  for (let r = 0; r < permutations; r++) {
    for (let k = 0; k < pooled.aClusters; k++) {
      const pick = k + Math.floor(random() * (order.length - k));
      [order[k], order[pick]] = [order[pick]!, order[k]!];
    }
    inA.fill(0);
    for (let k = 0; k < pooled.aClusters; k++) inA[order[k]!] = 1;
    if (statistic(inA) >= observed - 1e-12) atLeast++;
  }
  return { statistic: observed, p: (atLeast + 1) / (permutations + 1) };
}

/** Two-sample KS statistic with a patient-cluster permutation p-value. */
export function clusteredKolmogorovSmirnov(
  a: ClusteredSample<number>,
  b: ClusteredSample<number>,
  options: { permutations?: number; seed?: number } = {},
): TestResult {
  requireSamples('KS test', a.values.length, b.values.length);
  const pooled = pool(a, b);
  pooled.items.sort((x, y) => x.value - y.value);
  const { items, sizes } = pooled;
  return clusterPermutationP(
    pooled,
    (inA) => {
      let nA = 0;
      for (let c = 0; c < sizes.length; c++) if (inA[c] === 1) nA += sizes[c]!;
      const nB = items.length - nA;
      if (nA === 0 || nB === 0) return 0;
      let cA = 0;
      let cB = 0;
      let d = 0;
      for (let i = 0; i < items.length; i++) {
        if (inA[items[i]!.cluster] === 1) cA++;
        else cB++;
        if (i === items.length - 1 || items[i + 1]!.value !== items[i]!.value) {
          d = Math.max(d, Math.abs(cA / nA - cB / nB));
        }
      }
      return d;
    },
    options,
  );
}

/** The chi-squared statistic of homogeneity with a patient-cluster permutation p-value. */
export function clusteredCategoricalHomogeneity(
  a: ClusteredSample<string>,
  b: ClusteredSample<string>,
  options: { permutations?: number; seed?: number } = {},
): CategoricalTestResult {
  requireSamples('categorical test', a.values.length, b.values.length);
  const pooled = pool(a, b);
  const categories = [...new Set(pooled.items.map((item) => item.value))].sort();
  const df = categories.length - 1;
  if (df === 0) return { test: 'chi-squared', statistic: 0, p: 1, df };
  const code = new Map(categories.map((c, i) => [c, i]));
  const coded = pooled.items.map((item) => ({
    category: code.get(item.value)!,
    cluster: item.cluster,
  }));
  const ra = new Array<number>(categories.length);
  const rb = new Array<number>(categories.length);
  const result = clusterPermutationP(
    pooled,
    (inA) => {
      ra.fill(0);
      rb.fill(0);
      for (const item of coded) (inA[item.cluster] === 1 ? ra : rb)[item.category]! += 1;
      return chiSquared(ra, rb).statistic;
    },
    options,
  );
  return { test: 'chi-squared (Monte Carlo)', ...result, df };
}
