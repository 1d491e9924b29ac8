import { describeError } from '../../foundation/core/index.js';
import { oodFlag, type OodStatistics } from '../../inference/ood/index.js';
import {
  aucWithDelong,
  bootstrapReplicates,
  clusteredAuc,
  delongComponents,
  percentileInterval,
  wilsonInterval,
  type Interval,
} from '../validation/index.js';

/** One labelled in-distribution image, scored: its distance, score and truth. */
export interface LabelledDistance {
  image: string;
  patient: string | null;
  distance: number;
  score: number;
  truth: 0 | 1;
}

export interface RateWithCi {
  count: number;
  n: number;
  estimate: number;
  ci: [number, number];
}

export interface AucWithCi {
  estimate: number;
  ci: [number, number];
  method: string;
}

/** The OOD score as a predictor of a wrong decision (issue #11, deliverable 8). */
export interface OodErrorAnalysis {
  images: number;
  patients: number | null;
  threshold: number;
  errors: number;
  /** Wrong decisions among flagged and unflagged images. */
  flagged: RateWithCi;
  unflagged: RateWithCi;
  /** AUC of the distance for "this decision is wrong"; null with a note when not computable. */
  aucForError: AucWithCi | null;
  aucForErrorNote?: string;
  /**
   * Rejecting the most out-of-distribution images first: error rate among the images kept, at
   * every coverage (kept / all), from all images down to one.
   */
  riskCoverage: Array<{ coverage: number; kept: number; risk: number }>;
  /** Area under the risk–coverage curve, and what a random order would give (the error rate). */
  aurc: number;
  aurcRandom: number;
  /** The model's AUC for the label on all images and on the unflagged ones only. */
  modelAuc: {
    all: AucWithCi | null;
    unflagged: AucWithCi | null;
    /** Unflagged − all, paired bootstrap over patients (or images). */
    difference: AucWithCi | null;
    note?: string;
  };
}

function rate(count: number, n: number): RateWithCi {
  return {
    count,
    n,
    estimate: n === 0 ? 0 : count / n,
    ci: n === 0 ? [0, 1] : toPair(wilsonInterval(count, n)),
  };
}

const toPair = (ci: Interval): [number, number] => [ci[0], ci[1]];

/**
 * How the flag of `stats` relates to the model's mistakes on labelled images held out of the
 * fit: error rates of flagged and unflagged images, the AUC of the distance for a wrong
 * decision (clustered by patient when every image names one), the risk–coverage curve, and
 * whether the model separates the classes better on unflagged images than on all.
 */
export function oodErrorAnalysis(
  stats: OodStatistics,
  items: readonly LabelledDistance[],
  threshold: number,
  options: { resamples?: number; seed?: number } = {},
): OodErrorAnalysis {
  const flaggedOf = items.map((i) => i.distance > stats.threshold);
  const wrong = items.map((i) => (i.score >= threshold ? 1 : 0) !== i.truth);
  const clustered = items.every((i) => i.patient !== null && i.patient !== '');
  const clusters = clustered ? items.map((i) => i.patient!) : null;
  const count = (pick: (k: number) => boolean): number => items.filter((_, k) => pick(k)).length;

  let aucForError: AucWithCi | null = null;
  let aucForErrorNote: string | undefined;
  try {
    const data = {
      truth: wrong.map((w) => (w ? 1 : 0) as 0 | 1),
      scores: items.map((i) => i.distance),
    };
    if (clusters) {
      const c = clusteredAuc(data, clusters, { what: 'OOD distance for a wrong decision' });
      aucForError = { estimate: c.auc, ci: toPair(c.ci), method: c.method };
    } else {
      const a = aucWithDelong(data, { what: 'OOD distance for a wrong decision' });
      aucForError = { estimate: a.auc, ci: toPair(a.ci), method: 'DeLong' };
    }
  } catch (error) {
    aucForErrorNote = describeError(error);
  }

  // Risk–coverage: keep the k least distant images, k = n … 1.
  const order = items.map((_, k) => k).sort((a, b) => items[a]!.distance - items[b]!.distance);
  const riskCoverage: OodErrorAnalysis['riskCoverage'] = [];
  let errorsKept = 0;
  const prefix: number[] = [];
  for (const k of order) {
    errorsKept += wrong[k] ? 1 : 0;
    prefix.push(errorsKept);
  }
  for (let kept = items.length; kept >= 1; kept--) {
    riskCoverage.push({
      coverage: kept / items.length,
      kept,
      risk: prefix[kept - 1]! / kept,
    });
  }
  const aurc = riskCoverage.reduce((sum, p) => sum + p.risk, 0) / items.length;
  const errors = count((k) => wrong[k]!);

  const modelAuc = modelAucOnUnflagged(items, flaggedOf, clusters, options);
  return {
    images: items.length,
    patients: clusters === null ? null : new Set(clusters).size,
    threshold,
    errors,
    flagged: rate(
      count((k) => flaggedOf[k]! && wrong[k]!),
      count((k) => flaggedOf[k]!),
    ),
    unflagged: rate(
      count((k) => !flaggedOf[k]! && wrong[k]!),
      count((k) => !flaggedOf[k]!),
    ),
    aucForError,
    ...(aucForErrorNote === undefined ? {} : { aucForErrorNote }),
    riskCoverage,
    aurc,
    aurcRandom: errors / items.length,
    modelAuc,
  };
}

function modelAucOnUnflagged(
  items: readonly LabelledDistance[],
  flagged: readonly boolean[],
  clusters: readonly string[] | null,
  options: { resamples?: number; seed?: number },
): OodErrorAnalysis['modelAuc'] {
  const aucOf = (indices: readonly number[]): number => {
    const positives: number[] = [];
    const negatives: number[] = [];
    for (const k of indices) (items[k]!.truth === 1 ? positives : negatives).push(items[k]!.score);
    return positives.length === 0 || negatives.length === 0
      ? NaN
      : delongComponents({ positives, negatives }).auc;
  };
  const estimate = (indices: readonly number[], what: string): AucWithCi | null => {
    const data = {
      truth: indices.map((k) => items[k]!.truth),
      scores: indices.map((k) => items[k]!.score),
    };
    const c = clusters === null ? null : indices.map((k) => clusters[k]!);
    if (c) {
      const r = clusteredAuc(data, c, { what });
      return { estimate: r.auc, ci: toPair(r.ci), method: r.method };
    }
    const r = aucWithDelong(data, { what });
    return { estimate: r.auc, ci: toPair(r.ci), method: 'DeLong' };
  };
  const all = items.map((_, k) => k);
  const unflagged = all.filter((k) => !flagged[k]);
  try {
    const a = estimate(all, 'model scores, all images');
    const u = estimate(unflagged, 'model scores, unflagged images');
    const differences = bootstrapReplicates(
      items.length,
      clusters,
      (drawn) => aucOf(drawn.filter((k) => !flagged[k])) - aucOf(drawn),
      {
        resamples: options.resamples ?? 2000,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
      },
    ).filter(Number.isFinite);
    return {
      all: a,
      unflagged: u,
      difference: {
        estimate: u!.estimate - a!.estimate,
        ci: toPair(percentileInterval(differences, 0.95)),
        method:
          clusters === null
            ? 'paired percentile bootstrap over images'
            : 'paired percentile bootstrap over patients',
      },
    };
  } catch (error) {
    return { all: null, unflagged: null, difference: null, note: describeError(error) };
  }
}

/** A detection set: how often the flag fires on it, and how well the distance separates it. */
export interface OodDetection {
  kind: string;
  name: string;
  flagged: RateWithCi;
  /**
   * Lung-field classifiers only: images of the set the lung-field check refused before scoring
   * (of all the set's readable images), and those refused or flagged — what keeps the model's
   * score from reaching a reader unannounced.
   */
  refused?: RateWithCi;
  stopped?: RateWithCi;
  /** AUC of the distance: this set (positive) against the in-distribution reference. */
  auc: AucWithCi | null;
  aucNote?: string;
  /** Image kinds in the set (Modality/BodyPart/Photometric, or raster), for the reader. */
  kinds: string[];
}

/**
 * `refusedCount`: for a lung-field classifier, how many images of the set its lung-field check
 * refused (they have no features); undefined for a whole-image classifier.
 */
export function oodDetection(
  stats: OodStatistics,
  kind: string,
  name: string,
  pooled: ReadonlyArray<{ pooled: Float32Array; kind: string }>,
  reference: readonly number[],
  refusedCount?: number,
): OodDetection {
  const distances = pooled.map((p) => oodFlag(stats, p.pooled).distance);
  const flagged = distances.filter((d) => d > stats.threshold).length;
  const { auc, aucNote } = detectionAuc(name, distances, reference);
  return {
    kind,
    name,
    flagged: rate(flagged, distances.length),
    ...(refusedCount === undefined
      ? {}
      : {
          refused: rate(refusedCount, refusedCount + distances.length),
          stopped: rate(refusedCount + flagged, refusedCount + distances.length),
        }),
    auc,
    ...(aucNote === undefined ? {} : { aucNote }),
    kinds: [...new Set(pooled.map((p) => p.kind))].sort(),
  };
}

/** AUC of the distance, the set against the reference; a note instead when it cannot be had. */
function detectionAuc(
  name: string,
  distances: readonly number[],
  reference: readonly number[],
): { auc: AucWithCi | null; aucNote?: string } {
  if (distances.length === 0) {
    return {
      auc: null,
      aucNote: 'no image of the set was scored (the lung-field check refused them all)',
    };
  }
  try {
    const r = aucWithDelong(
      {
        truth: [...distances.map(() => 1 as const), ...reference.map(() => 0 as const)],
        scores: [...distances, ...reference],
      },
      { what: `OOD distance, ${name} against the in-distribution reference` },
    );
    return { auc: { estimate: r.auc, ci: toPair(r.ci), method: 'DeLong' } };
  } catch (error) {
    return { auc: null, aucNote: describeError(error) };
  }
}
