/**
 * Subgroup analysis: the same metrics per value of any column (sex, age band, manufacturer,
 * view position, site …), each with its CI, and a flag where a subgroup's CI excludes the
 * overall estimate — the question "does it work for whom?" Small subgroups say so in words
 * ("too few cases for a CI") rather than printing NaN.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { calibration } from './calibration.js';
import { type BinaryOutcomes, checkOutcomes } from './input.js';
import { operatingPoint, type Proportion } from './operatingPoint.js';
import { aucWithDelong, delongComponents, type Interval } from './roc.js';

/** An AUC that may lack an estimate or a CI, with the reason in words. */
export interface AucSummary {
  readonly estimate: number | null;
  readonly ci: Interval | null;
  readonly note?: string;
}

export interface SubgroupMetrics {
  readonly cases: number;
  readonly positives: number;
  readonly negatives: number;
  readonly auc: AucSummary;
  readonly sensitivity: Proportion;
  readonly specificity: Proportion;
  /** Brier score, or null when the scores are not probabilities. */
  readonly brier: number | null;
  readonly ece: number | null;
}

export interface SubgroupRow extends SubgroupMetrics {
  readonly value: string;
  /** Human-readable flags, e.g. "AUC CI excludes the overall AUC 0.842". Empty when none. */
  readonly flags: readonly string[];
}

export interface SubgroupColumn {
  readonly column: string;
  readonly groups: readonly SubgroupRow[];
}

export interface SubgroupAnalysis {
  readonly overall: SubgroupMetrics;
  readonly threshold: number;
  readonly columns: readonly SubgroupColumn[];
}

export interface SubgroupOptions {
  /** Operating threshold for sensitivity and specificity. */
  readonly threshold: number;
  readonly level?: number;
  /** Fewest positives and negatives for an AUC CI; 5 by default. */
  readonly minCasesPerClass?: number;
  readonly calibrationBins?: number;
}

/** Label used for cases whose subgroup value is empty. */
export const MISSING_SUBGROUP = '(missing)';

export function subgroupMetrics(data: BinaryOutcomes, options: SubgroupOptions): SubgroupMetrics {
  const level = options.level ?? 0.95;
  const minimum = options.minCasesPerClass ?? 5;
  const positives = data.truth.filter((t) => t === 1).length;
  const negatives = data.truth.length - positives;
  let auc: AucSummary;
  if (positives === 0 || negatives === 0) {
    auc = {
      estimate: null,
      ci: null,
      note: `no AUC: only ${positives === 0 ? 'negative' : 'positive'} cases`,
    };
  } else if (positives < minimum || negatives < minimum) {
    const estimate = delongComponents({
      positives: data.scores.filter((_, i) => data.truth[i] === 1),
      negatives: data.scores.filter((_, i) => data.truth[i] === 0),
    }).auc;
    auc = {
      estimate,
      ci: null,
      note: `too few cases for a CI (${positives} positive, ${negatives} negative; need ${minimum} of each)`,
    };
  } else {
    const estimate = aucWithDelong(data, { level });
    auc = { estimate: estimate.auc, ci: estimate.ci };
  }
  const point = operatingPoint(data, options.threshold, level);
  const probabilities = data.scores.every((s) => s >= 0 && s <= 1);
  const calib =
    probabilities && data.scores.length > 0
      ? calibration(data, { bins: options.calibrationBins ?? 15 })
      : null;
  return {
    cases: data.truth.length,
    positives,
    negatives,
    auc,
    sensitivity: point.sensitivity,
    specificity: point.specificity,
    brier: calib?.brier ?? null,
    ece: calib?.ece ?? null,
  };
}

function excludes(ci: Interval | null, value: number | null): boolean {
  return ci !== null && value !== null && (value < ci[0] || value > ci[1]);
}

function flagsFor(group: SubgroupMetrics, overall: SubgroupMetrics): string[] {
  const flags: string[] = [];
  if (excludes(group.auc.ci, overall.auc.estimate)) {
    flags.push(`AUC CI excludes the overall AUC ${overall.auc.estimate!.toFixed(3)}`);
  }
  if (excludes(group.sensitivity.ci, overall.sensitivity.estimate)) {
    flags.push(`sensitivity CI excludes the overall ${overall.sensitivity.estimate!.toFixed(3)}`);
  }
  if (excludes(group.specificity.ci, overall.specificity.estimate)) {
    flags.push(`specificity CI excludes the overall ${overall.specificity.estimate!.toFixed(3)}`);
  }
  return flags;
}

/**
 * Metrics overall and per value of each subgroup column. `groups` maps a column name to one
 * value per case, aligned with `data`.
 */
export function subgroupAnalysis(
  data: BinaryOutcomes,
  groups: Readonly<Record<string, readonly string[]>>,
  options: SubgroupOptions,
): SubgroupAnalysis {
  checkOutcomes(data, 'subgroup analysis');
  const overall = subgroupMetrics(data, options);
  const columns = Object.keys(groups).map((column): SubgroupColumn => {
    const values = groups[column]!;
    if (values.length !== data.truth.length) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `subgroup column "${column}" has ${values.length} values for ${data.truth.length} cases — give one value per case`,
      );
    }
    const byValue = new Map<string, number[]>();
    values.forEach((raw, i) => {
      const value = raw.trim() === '' ? MISSING_SUBGROUP : raw.trim();
      const list = byValue.get(value) ?? [];
      list.push(i);
      byValue.set(value, list);
    });
    const ordered = [...byValue.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return {
      column,
      groups: ordered.map((value) => {
        const indices = byValue.get(value)!;
        const metrics = subgroupMetrics(
          {
            truth: indices.map((i) => data.truth[i]!),
            scores: indices.map((i) => data.scores[i]!),
          },
          options,
        );
        return { value, ...metrics, flags: flagsFor(metrics, overall) };
      }),
    };
  });
  return { overall, threshold: options.threshold, columns };
}

/** Default age-band edges in years: <18, 18–39, 40–64, 65–79, ≥80. */
export const DEFAULT_AGE_EDGES: readonly number[] = [18, 40, 65, 80];

/**
 * The age band of an age in years, as a subgroup value ("40–64"). Ages come as numbers in
 * clinical data but subgroups need a handful of bands to have enough cases each.
 */
export function ageBand(age: number, edges: readonly number[] = DEFAULT_AGE_EDGES): string {
  if (!Number.isFinite(age) || age < 0) {
    throw new RadiolensError('E_BAD_INPUT', `age ${age} is not a valid age in years`);
  }
  if (edges.length === 0 || edges.some((e, i) => i > 0 && e <= edges[i - 1]!)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `age band edges must be increasing, got ${edges.join(', ')}`,
    );
  }
  if (age < edges[0]!) return `<${edges[0]}`;
  for (let i = 1; i < edges.length; i++) {
    if (age < edges[i]!) return `${edges[i - 1]}–${edges[i]! - 1}`;
  }
  return `≥${edges[edges.length - 1]}`;
}
