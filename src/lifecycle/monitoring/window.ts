import { RadiolensError } from '../../foundation/core/index.js';
import type { AnalysedImage } from './analysisRecords.js';

/**
 * The window a monitor looks at: one model version's analyses, optionally from a time on,
 * and at most the most recent `last` images. Sorted oldest first.
 */
export function selectWindow(
  images: readonly AnalysedImage[],
  options: { model: { id: string; version: string }; since?: Date; last?: number },
): AnalysedImage[] {
  if (options.last !== undefined && !(Number.isInteger(options.last) && options.last > 0)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--last must be a whole number of images above 0, not ${options.last}`,
    );
  }
  const chosen = images
    .filter(
      (image) =>
        image.model.id === options.model.id && image.model.version === options.model.version,
    )
    .filter((image) => options.since === undefined || image.performedAt >= options.since)
    .sort((a, b) => a.performedAt.getTime() - b.performedAt.getTime());
  return options.last === undefined ? chosen : chosen.slice(-options.last);
}
