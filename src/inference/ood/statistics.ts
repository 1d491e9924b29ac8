import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { invertSpd, ledoitWolf, mahalanobis } from './covariance.js';
import { oodMeaningSchema } from './meaning.js';

/**
 * The fitted in-distribution statistics of a model's pooled features (ADR 0080): mean,
 * Ledoit–Wolf precision matrix and the distance threshold. Stored as one JSON file that a
 * model package lists (manifest `ood.file`), so the check travels with the exact model whose
 * features it describes.
 */
export const OOD_STATISTICS_SCHEMA = 'radiolens.ood-statistics/1';

const statisticsSchema = z.strictObject({
  schema: z.literal(OOD_STATISTICS_SCHEMA),
  method: z.literal('mahalanobis-ledoit-wolf'),
  /** The model whose features these are; onnxSha256 pins the exact graph across re-packaging. */
  model: z.strictObject({
    id: z.string().min(1),
    version: z.string().min(1),
    onnxSha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  dimension: z.int().positive(),
  fitCount: z.int().positive(),
  shrinkage: z.number().min(0).max(1),
  percentile: z.number().gt(0).lt(100),
  /** How the threshold's distances were obtained: out-of-fold (honest) or in-sample. */
  thresholdSource: z.enum(['out-of-fold', 'in-sample']),
  folds: z.int().nonnegative(),
  threshold: z.number().positive(),
  /** What the fit set was (CSV/folder names), for the model card. */
  fitSources: z.array(z.string()),
  mean: z.array(z.number()),
  /** Row-major dimension × dimension inverse of the shrunk covariance. */
  precision: z.array(z.number()),
  /** What the flag has been shown to mean (ood evaluate --meaning-out); absent: not measured. */
  meaning: oodMeaningSchema.optional(),
});

export type OodStatistics = z.infer<typeof statisticsSchema>;

export interface OodFitOptions {
  /** Percentile of the fit set's distances used as threshold; default 99. */
  percentile?: number;
  /**
   * Folds for the threshold: each fold's distances come from statistics fitted without it,
   * because in-sample distances are systematically smaller than those of new images (more so
   * with 256 dimensions). 0 or 1: in-sample. Default 5.
   */
  folds?: number;
  /** One group id per sample (patient id): a group never straddles folds. */
  groups?: readonly string[];
  model: { id: string; version: string; onnxSha256: string };
  fitSources?: readonly string[];
}

export function fitOodStatistics(
  features: readonly ArrayLike<number>[],
  options: OodFitOptions,
): OodStatistics {
  const percentile = options.percentile ?? 99;
  const folds = options.folds ?? 5;
  if (!(percentile > 0 && percentile < 100)) {
    throw new RadiolensError('E_BAD_INPUT', `OOD percentile ${percentile} is not in (0, 100)`);
  }
  if (options.groups && options.groups.length !== features.length) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${options.groups.length} group ids for ${features.length} feature vectors`,
    );
  }
  const full = ledoitWolf(features);
  const precision = invertSpd(full.covariance, full.dimension);
  let distances: number[];
  if (folds >= 2) {
    const foldOf = features.map((_, i) => foldIndex(options.groups?.[i] ?? String(i), folds));
    distances = new Array<number>(features.length);
    for (let f = 0; f < folds; f++) {
      const inFold = foldOf.flatMap((g, i) => (g === f ? [i] : []));
      if (inFold.length === 0) continue;
      const rest = features.filter((_, i) => foldOf[i] !== f);
      const partial = ledoitWolf(rest);
      const partialPrecision = invertSpd(partial.covariance, partial.dimension);
      for (const i of inFold)
        distances[i] = mahalanobis(features[i]!, partial.mean, partialPrecision);
    }
  } else {
    distances = features.map((x) => mahalanobis(x, full.mean, precision));
  }
  return {
    schema: OOD_STATISTICS_SCHEMA,
    method: 'mahalanobis-ledoit-wolf',
    model: options.model,
    dimension: full.dimension,
    fitCount: features.length,
    shrinkage: full.shrinkage,
    percentile,
    thresholdSource: folds >= 2 ? 'out-of-fold' : 'in-sample',
    folds: folds >= 2 ? folds : 0,
    threshold: percentileOf(distances, percentile),
    fitSources: [...(options.fitSources ?? [])],
    mean: Array.from(full.mean),
    precision: Array.from(precision),
  };
}

/** Linear interpolation between order statistics (type 7, numpy's default). */
export function percentileOf(values: readonly number[], percentile: number): number {
  if (values.length === 0) throw new RadiolensError('E_BAD_INPUT', 'percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const position = (percentile / 100) * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (position - lo);
}

function foldIndex(group: string, folds: number): number {
  return createHash('sha256').update(group).digest().readUInt32BE(0) % folds;
}

export interface OodFlag {
  distance: number;
  threshold: number;
  /** True: the image's features lie outside the fitted distribution — not a frontal CXR. */
  flagged: boolean;
}

/**
 * The check for one image: Mahalanobis distance of its pooled features (the head's input,
 * as scoreImages returns them) to the fitted distribution, against the stored threshold.
 */
export function oodFlag(stats: OodStatistics, pooledFeatures: ArrayLike<number>): OodFlag {
  const distance = mahalanobis(pooledFeatures, stats.mean, stats.precision);
  return { distance, threshold: stats.threshold, flagged: distance > stats.threshold };
}

export function parseOodStatistics(text: string, source: string): OodStatistics {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source} is not JSON — refit with \`radiolens ood fit\``,
      {
        subject: source,
        cause,
      },
    );
  }
  const result = statisticsSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`);
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source} is not OOD statistics (${issues.slice(0, 3).join('; ')}) — refit with \`radiolens ood fit\``,
      { subject: source },
    );
  }
  const stats = result.data;
  if (stats.mean.length !== stats.dimension || stats.precision.length !== stats.dimension ** 2) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: mean has ${stats.mean.length} and precision ${stats.precision.length} values for dimension ${stats.dimension} — the file is damaged; refit`,
      { subject: source },
    );
  }
  return stats;
}

export async function readOodStatistics(path: string): Promise<OodStatistics> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `cannot read OOD statistics ${path} — check the path`, {
      subject: path,
      cause,
    });
  });
  return parseOodStatistics(text, path);
}

export function serialiseOodStatistics(stats: OodStatistics): string {
  // Float32 precision is plenty for a distance threshold and halves the file.
  const round = (v: number): number => Number(v.toPrecision(8));
  return `${JSON.stringify({ ...stats, mean: stats.mean.map(round), precision: stats.precision.map(round) })}\n`;
}

export async function writeOodStatistics(path: string, stats: OodStatistics): Promise<void> {
  await writeFileAtomic(path, serialiseOodStatistics(stats));
}
