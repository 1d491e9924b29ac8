/**
 * Drift: a window of recent analyses against the reference its model package carries
 * (ADR 0087). Which test, and when:
 *
 * - small and medium samples (effective size n·m/(n+m) below `distanceRegimeFrom`, 500 by
 *   default): hypothesis tests — Kolmogorov–Smirnov for numeric features, chi-squared /
 *   Fisher / permutation for categorical ones — with Holm's correction over every test of
 *   the report, so that the chance of any false alarm per report stays at alpha;
 * - large samples: a p-value flags shifts too small to matter, so effect sizes decide, with
 *   fixed thresholds: PSI for numeric features (> 0.25, "major shift"), the Jensen–Shannon
 *   distance for categorical ones (> 0.1).
 *
 * A feature with fewer than `minimumValues` values in the window or the reference (30 by
 * default; fewer makes the KS and chi-squared p-values unreliable and the power negligible)
 * is skipped and listed with the reason, never silently dropped.
 *
 * A patient's repeated radiographs are not independent: when either sample holds more than
 * one image of a patient, the tests' p-values come from permuting whole patients between
 * the two samples (4,999 seeded permutations) instead of from the formulas for independent
 * values, which would raise false alarms (ADR 0087 has the measurement).
 */
import type { AnalysedImage } from './analysisRecords.js';
import { monitoredFeatures, noTruth, type FeatureGroup, type TruthLookup } from './features.js';
import type { DriftReference } from './reference.js';
import {
  categoricalHomogeneity,
  clusteredCategoricalHomogeneity,
  clusteredKolmogorovSmirnov,
  hasRepeatedClusters,
  holm,
  jensenShannonDistance,
  kolmogorovSmirnov,
  populationStabilityIndex,
} from './statisticalTests.js';

export interface DriftOptions {
  /**
   * Family-wise false-alarm rate of one report's tests; 0.01 by default: a monitor runs
   * again and again on overlapping windows, and an alarm that fires on one report in twenty
   * while nothing changed is soon ignored (ADR 0087 has the measurement).
   */
  readonly alpha?: number;
  readonly minimumValues?: number;
  /** Effective sample size from which effect sizes replace tests; 500 by default. */
  readonly distanceRegimeFrom?: number;
  readonly psiThreshold?: number;
  readonly jsdThreshold?: number;
  readonly generatedAt?: string;
  /** Seed of the permutation tests (reports are reproducible). */
  readonly seed?: number;
}

export interface DriftTest {
  readonly feature: string;
  readonly group: FeatureGroup;
  readonly test: string;
  readonly statistic: number;
  /** The p-value (hypothesis tests); null for effect sizes. */
  readonly p: number | null;
  /** What decides: p ≤ threshold (tests, Holm-adjusted level) or statistic > threshold. */
  readonly threshold: number;
  readonly decision: 'p <= threshold' | 'statistic > threshold';
  readonly drift: boolean;
  readonly n: number;
  readonly referenceN: number;
}

export interface DriftReport {
  readonly schema: 'radiolens.drift-report/1';
  readonly generatedAt: string;
  readonly model: { readonly id: string; readonly version: string };
  readonly reference: DriftReference['source'];
  readonly window: {
    readonly images: number;
    readonly from: string | null;
    readonly to: string | null;
  };
  readonly settings: Required<Omit<DriftOptions, 'generatedAt' | 'seed'>>;
  readonly drift: boolean;
  readonly tests: readonly DriftTest[];
  readonly skipped: readonly { readonly feature: string; readonly reason: string }[];
  /** Per feature, the window's values (numeric) or counts (categorical), for the plots. */
  readonly windowValues: Readonly<
    Record<string, readonly number[] | Readonly<Record<string, number>>>
  >;
}

interface Pending {
  feature: string;
  group: FeatureGroup;
  test: string;
  statistic: number;
  p: number | null;
  threshold: number | null;
  n: number;
  referenceN: number;
}

export function detectDrift(
  reference: DriftReference,
  images: readonly AnalysedImage[],
  options: DriftOptions & { truth?: TruthLookup } = {},
): DriftReport {
  const settings = {
    alpha: options.alpha ?? 0.01,
    minimumValues: options.minimumValues ?? 30,
    distanceRegimeFrom: options.distanceRegimeFrom ?? 500,
    psiThreshold: options.psiThreshold ?? 0.25,
    jsdThreshold: options.jsdThreshold ?? 0.1,
  };
  const truth = options.truth ?? noTruth;
  const labels = Object.keys(reference.features)
    .filter((name) => name.startsWith('score: '))
    .map((name) => name.slice('score: '.length));
  const pending: Pending[] = [];
  const skipped: { feature: string; reason: string }[] = [];
  const windowValues: Record<string, number[] | Record<string, number>> = {};
  const seed = options.seed ?? 20_261_201;
  const clusterOf = (image: AnalysedImage): string =>
    image.inputs?.patient ?? `image:${image.sopInstanceUid}`;
  for (const feature of monitoredFeatures(labels)) {
    const ref = reference.features[feature.name];
    if (ref === undefined) {
      skipped.push({ feature: feature.name, reason: 'not in the reference' });
      continue;
    }
    if (feature.kind === 'numeric' && ref.kind === 'numeric') {
      const pairs = images
        .map((image) => ({ value: feature.value(image, truth), cluster: clusterOf(image) }))
        .filter(
          (p): p is { value: number; cluster: string } =>
            p.value !== null && Number.isFinite(p.value),
        );
      const values = pairs.map((p) => p.value);
      windowValues[feature.name] = values;
      const small = tooFew(values.length, ref.values.length, settings.minimumValues);
      if (small !== null) {
        skipped.push({ feature: feature.name, reason: small });
        continue;
      }
      const window = { values, clusters: pairs.map((p) => p.cluster) };
      const base = {
        feature: feature.name,
        group: feature.group,
        n: values.length,
        referenceN: ref.values.length,
      };
      if (effective(values.length, ref.values.length) >= settings.distanceRegimeFrom) {
        pending.push({
          ...base,
          test: 'PSI',
          statistic: populationStabilityIndex(ref.values, values),
          p: null,
          threshold: settings.psiThreshold,
        });
      } else if (hasRepeatedClusters(ref, window)) {
        const ks = clusteredKolmogorovSmirnov(ref, window, { seed });
        pending.push({
          ...base,
          test: 'Kolmogorov–Smirnov (patient permutation)',
          statistic: ks.statistic,
          p: ks.p,
          threshold: null,
        });
      } else {
        const ks = kolmogorovSmirnov(ref.values, values);
        pending.push({
          ...base,
          test: 'Kolmogorov–Smirnov',
          statistic: ks.statistic,
          p: ks.p,
          threshold: null,
        });
      }
    } else if (feature.kind === 'categorical' && ref.kind === 'categorical') {
      const pairs = images
        .map((image) => ({ value: feature.value(image, truth), cluster: clusterOf(image) }))
        .filter((p): p is { value: string; cluster: string } => p.value !== null);
      const counts: Record<string, number> = {};
      for (const { value } of pairs) counts[value] = (counts[value] ?? 0) + 1;
      windowValues[feature.name] = counts;
      const n = pairs.length;
      const referenceN = ref.values.length;
      const small = tooFew(n, referenceN, settings.minimumValues);
      if (small !== null) {
        skipped.push({ feature: feature.name, reason: small });
        continue;
      }
      const window = { values: pairs.map((p) => p.value), clusters: pairs.map((p) => p.cluster) };
      const base = { feature: feature.name, group: feature.group, n, referenceN };
      if (effective(n, referenceN) >= settings.distanceRegimeFrom) {
        pending.push({
          ...base,
          test: 'Jensen–Shannon distance',
          statistic: jensenShannonDistance(ref.counts, counts),
          p: null,
          threshold: settings.jsdThreshold,
        });
      } else if (
        hasRepeatedClusters(ref, window) &&
        new Set([...ref.values, ...window.values]).size > 1
      ) {
        const result = clusteredCategoricalHomogeneity(ref, window, { seed });
        pending.push({
          ...base,
          test: 'chi-squared (patient permutation)',
          statistic: result.statistic,
          p: result.p,
          threshold: null,
        });
      } else {
        const result = categoricalHomogeneity(ref.counts, counts, { seed });
        pending.push({
          ...base,
          test: result.test,
          statistic: result.statistic,
          p: result.p,
          threshold: null,
        });
      }
    } else {
      skipped.push({ feature: feature.name, reason: `the reference holds it as ${ref.kind}` });
    }
  }
  const tested = pending.filter((t) => t.p !== null);
  const decisions = holm(
    tested.map((t) => t.p!),
    settings.alpha,
  );
  // Fields in the order a reader wants them: what, how, how much, against what, verdict.
  const tests: DriftTest[] = pending.map((t) => {
    let threshold = t.threshold ?? 0;
    let drift = t.p === null && t.statistic > threshold;
    if (t.p !== null) {
      const decision = decisions[tested.indexOf(t)]!;
      threshold = decision.threshold;
      drift = decision.rejected;
    }
    return {
      feature: t.feature,
      test: t.test,
      statistic: t.statistic,
      threshold,
      drift,
      p: t.p,
      decision: t.p === null ? 'statistic > threshold' : 'p <= threshold',
      group: t.group,
      n: t.n,
      referenceN: t.referenceN,
    };
  });
  const times = images.map((image) => image.performedAt.getTime()).filter(Number.isFinite);
  return {
    schema: 'radiolens.drift-report/1',
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    model: { id: reference.model.id, version: reference.model.version },
    reference: reference.source,
    window: {
      images: images.length,
      from: times.length === 0 ? null : new Date(Math.min(...times)).toISOString(),
      to: times.length === 0 ? null : new Date(Math.max(...times)).toISOString(),
    },
    settings,
    drift: tests.some((t) => t.drift),
    tests,
    skipped,
    windowValues,
  };
}

function effective(n: number, m: number): number {
  return (n * m) / (n + m);
}

function tooFew(n: number, referenceN: number, minimum: number): string | null {
  if (n >= minimum && referenceN >= minimum) return null;
  if (n === 0 && referenceN === 0) return 'not recorded';
  return n < minimum
    ? `${n} value(s) in the window; the test needs at least ${minimum}`
    : `${referenceN} value(s) in the reference; the test needs at least ${minimum}`;
}
