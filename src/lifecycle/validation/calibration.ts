/**
 * Calibration: does a score of 0.8 mean "positive 8 times in 10"? Brier score, expected and
 * maximum calibration error over equal-width bins (15 by default, as in Guo et al. 2017), and
 * the per-bin data of a reliability diagram. Scores must be probabilities in [0, 1].
 *
 * Binned ECE is biased upwards on small samples: a perfectly calibrated model scored on 118
 * images shows an ECE of several hundredths by chance alone. So, on request, the ECE comes
 * with consistency resampling (Bröcker & Smith 2007): outcomes drawn as if every score were
 * exactly right, y* ~ Bernoulli(score), give the ECE that perfect calibration would show on
 * these very scores; an observed ECE inside that range is not evidence of miscalibration, and
 * a target below the range cannot be shown on this sample at all.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { type BinaryOutcomes, checkOutcomes } from './input.js';
import { quantileSorted } from './bootstrap.js';
import { seededRandom } from './random.js';

export interface ReliabilityBin {
  /** Bin edges: [lower, upper), the last bin closed at 1. */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean score in the bin (confidence); null for an empty bin. */
  readonly meanScore: number | null;
  /** Fraction of positives in the bin (observed frequency); null for an empty bin. */
  readonly observedFrequency: number | null;
}

/** The ECE a perfectly calibrated model would show with the same scores (see the header). */
export interface CalibrationConsistency {
  readonly method: 'consistency resampling (Bröcker & Smith 2007)';
  readonly resamples: number;
  readonly seed: number;
  /** Median ECE over the resamples. */
  readonly medianEce: number;
  /** 95th percentile: an observed ECE at or below it is consistent with perfect calibration. */
  readonly upperEce: number;
  /** Share of resamples with an ECE at least the observed one (one-sided p of "calibrated"). */
  readonly pValue: number;
}

export interface Calibration {
  readonly brier: number;
  readonly ece: number;
  readonly mce: number;
  readonly bins: readonly ReliabilityBin[];
  /** Present when asked for (`consistency` option). */
  readonly consistency?: CalibrationConsistency;
}

export function calibration(
  data: BinaryOutcomes,
  options: {
    bins?: number;
    what?: string;
    /** Consistency resampling of the ECE (at least 100 resamples; 2000 is usual). */
    consistency?: { resamples: number; seed: number };
  } = {},
): Calibration {
  const binCount = options.bins ?? 15;
  const what = options.what ?? 'scores';
  if (!(Number.isInteger(binCount) && binCount >= 1)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `calibration needs a whole number of bins >= 1, got ${binCount}`,
    );
  }
  checkOutcomes(data, what);
  const n = data.scores.length;
  if (n === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${what}: no cases — calibration needs at least one scored case`,
    );
  }
  data.scores.forEach((score, i) => {
    if (score < 0 || score > 1) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${what}: case ${i + 1} has score ${score}, not a probability in [0, 1] — calibration applies only to probability outputs`,
      );
    }
  });
  const binOf = data.scores.map((score) => Math.min(binCount - 1, Math.floor(score * binCount)));
  const sums = Array.from({ length: binCount }, () => ({ count: 0, score: 0, positives: 0 }));
  let brier = 0;
  data.scores.forEach((score, i) => {
    const y = data.truth[i]!;
    brier += (score - y) ** 2;
    const bin = sums[binOf[i]!]!;
    bin.count++;
    bin.score += score;
    bin.positives += y;
  });
  let ece = 0;
  let mce = 0;
  const bins = sums.map((s, b): ReliabilityBin => {
    const lower = b / binCount;
    const upper = (b + 1) / binCount;
    if (s.count === 0) return { lower, upper, count: 0, meanScore: null, observedFrequency: null };
    const meanScore = s.score / s.count;
    const observedFrequency = s.positives / s.count;
    const gap = Math.abs(meanScore - observedFrequency);
    ece += (s.count / n) * gap;
    mce = Math.max(mce, gap);
    return { lower, upper, count: s.count, meanScore, observedFrequency };
  });
  return {
    brier: brier / n,
    ece,
    mce,
    bins,
    ...(options.consistency === undefined
      ? {}
      : { consistency: eceConsistency(data.scores, binOf, sums, ece, options.consistency) }),
  };
}

function eceConsistency(
  scores: readonly number[],
  binOf: readonly number[],
  sums: readonly { readonly count: number; readonly score: number }[],
  observedEce: number,
  options: { resamples: number; seed: number },
): CalibrationConsistency {
  const { resamples, seed } = options;
  if (!(Number.isInteger(resamples) && resamples >= 100)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `ECE consistency resampling needs at least 100 resamples, got ${resamples} — 2000 is the usual choice`,
    );
  }
  const random = seededRandom(seed);
  const n = scores.length;
  const positives = new Float64Array(sums.length);
  const eces = new Float64Array(resamples);
  let atLeastObserved = 0;
  for (let r = 0; r < resamples; r++) {
    positives.fill(0);
    // The bins and their mean scores stay; only the outcomes are redrawn.
    for (let i = 0; i < n; i++) if (random() < scores[i]!) positives[binOf[i]!]!++;
    let e = 0;
    sums.forEach((s, b) => {
      if (s.count > 0) e += Math.abs(s.score - positives[b]!) / n;
    });
    eces[r] = e;
    // A small tolerance so that an ECE equal to the observed one up to rounding counts.
    if (e >= observedEce - 1e-12) atLeastObserved++;
  }
  eces.sort();
  return {
    method: 'consistency resampling (Bröcker & Smith 2007)',
    resamples,
    seed,
    medianEce: quantileSorted(eces, 0.5),
    upperEce: quantileSorted(eces, 0.95),
    pValue: (atLeastObserved + 1) / (resamples + 1),
  };
}
