import { oodFlag, type OodStatistics } from '../../inference/ood/index.js';
import type { OodDetection, OodErrorAnalysis } from './errorAnalysis.js';
import type { ImageFeatures } from './features.js';

/** Flag rate on one named image set, with the images that could not be decoded kept apart. */
export interface OodSetResult {
  name: string;
  /** 'in-distribution': flags are false flags; 'out-of-distribution': flags are detections. */
  expect: 'in-distribution' | 'out-of-distribution';
  images: number;
  decoded: number;
  flagged: number;
  /** flagged / decoded. */
  rate: number;
  /** Wilson 95% interval of the rate. */
  ci: [number, number];
  undecodable: Array<{ path: string; problem: string }>;
  /**
   * Images a lung-field classifier's pixel check refused: analyze never scores them, so they
   * have no features and no flag, and count neither as decoded nor as undecodable.
   */
  refused?: Array<{ path: string; kind: string; reason: string }>;
  /** Files skipped because an earlier file held the same SOP Instance (other transfer syntax). */
  duplicates: number;
  /**
   * What each image is and its distance, for the card's failure list: every image of an
   * out-of-distribution set, only the flagged ones of an in-distribution set (keeps the
   * report small; the counts above cover the rest).
   */
  details: Array<{ path: string; kind: string; distance: number; flagged: boolean }>;
}

export function evaluateOodSet(
  stats: OodStatistics,
  name: string,
  expect: OodSetResult['expect'],
  features: readonly ImageFeatures[],
): OodSetResult {
  const details: OodSetResult['details'] = [];
  const undecodable: OodSetResult['undecodable'] = [];
  const refused: NonNullable<OodSetResult['refused']> = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let decoded = 0;
  let flagged = 0;
  for (const item of features) {
    if (item.uid !== null) {
      if (seen.has(item.uid)) {
        duplicates++;
        continue;
      }
      seen.add(item.uid);
    }
    if (item.refused !== null) {
      refused.push({ path: item.path, kind: item.kind, reason: item.refused });
      continue;
    }
    if (item.pooled === null) {
      undecodable.push({ path: item.path, problem: item.problem ?? 'no features' });
      continue;
    }
    const flag = oodFlag(stats, item.pooled);
    decoded++;
    if (flag.flagged) flagged++;
    if (flag.flagged || expect === 'out-of-distribution') {
      details.push({
        path: item.path,
        kind: item.kind,
        distance: flag.distance,
        flagged: flag.flagged,
      });
    }
  }
  return {
    name,
    expect,
    images: features.length,
    decoded,
    flagged,
    rate: decoded === 0 ? 0 : flagged / decoded,
    ci: wilson(flagged, decoded),
    undecodable,
    refused,
    duplicates,
    details,
  };
}

/** Wilson score interval (95%): sensible at rates near 0 or 1 and small n, unlike Wald. */
export function wilson(successes: number, n: number, z = 1.959963984540054): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export const OOD_REPORT_SCHEMA = 'radiolens.ood-report/1';

/** What `radiolens ood evaluate` writes and the model card reads. */
export interface OodReport {
  schema: typeof OOD_REPORT_SCHEMA;
  generatedAt: string;
  model: { id: string; version: string };
  /**
   * One entry per set of statistics: fitted here (training population only; training + half
   * of the site) or evaluated as given (the package's own, or --stats).
   */
  variants: OodVariantResult[];
}

export interface OodVariantResult {
  name: string;
  /** 'fitted' here, or 'given' (the package's statistics or a --stats file) and evaluated as is. */
  origin?: 'fitted' | 'given';
  fitSources: string[];
  fitCount: number;
  percentile: number;
  thresholdSource: string;
  threshold: number;
  shrinkage: number;
  sets: OodSetResult[];
  /** The flag as a predictor of a wrong decision on labelled images held out of the fit. */
  errors?: OodErrorAnalysis & { reference: string; label: string };
  /** The flag as a detector of images the model is not for, against the labelled reference. */
  detection?: OodDetection[];
  /** Kinds of images the evaluation had none of. */
  notMeasured?: string[];
}
