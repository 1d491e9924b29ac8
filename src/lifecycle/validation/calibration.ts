/**
 * Calibration: does a score of 0.8 mean "positive 8 times in 10"? Brier score, expected and
 * maximum calibration error over equal-width bins (15 by default, as in Guo et al. 2017), and
 * the per-bin data of a reliability diagram. Scores must be probabilities in [0, 1].
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { type BinaryOutcomes, checkOutcomes } from './input.js';

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

export interface Calibration {
  readonly brier: number;
  readonly ece: number;
  readonly mce: number;
  readonly bins: readonly ReliabilityBin[];
}

export function calibration(
  data: BinaryOutcomes,
  options: { bins?: number; what?: string } = {},
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
  const sums = Array.from({ length: binCount }, () => ({ count: 0, score: 0, positives: 0 }));
  let brier = 0;
  data.scores.forEach((score, i) => {
    const y = data.truth[i]!;
    brier += (score - y) ** 2;
    const bin = sums[Math.min(binCount - 1, Math.floor(score * binCount))]!;
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
  return { brier: brier / n, ece, mce, bins };
}
