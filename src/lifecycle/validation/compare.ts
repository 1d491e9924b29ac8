/**
 * Model comparison for the fine-tuning story: two models scored on the same images with the
 * same truth, compared label by label with DeLong's paired test (ADR 0055).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { outcomesFor, type ValidationRow } from './report.js';
import { delongTest, type Interval } from './roc.js';

function bad(message: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', message);
}

export interface ModelComparisonRow {
  readonly label: string;
  readonly images: number;
  readonly aucA: number;
  readonly aucB: number;
  /** AUC of model A minus AUC of model B. */
  readonly difference: number;
  readonly ci: Interval;
  readonly z: number;
  readonly p: number;
}

/**
 * Paired DeLong comparison of two models scored on the same images with the same truth
 * (e.g. a fine-tuned model against the one it started from), per label both score.
 */
export function compareModels(
  rowsA: readonly ValidationRow[],
  rowsB: readonly ValidationRow[],
  options: { level?: number } = {},
): ModelComparisonRow[] {
  const byImage = new Map(rowsB.map((row) => [row.image, row]));
  if (byImage.size !== rowsB.length || new Set(rowsA.map((r) => r.image)).size !== rowsA.length) {
    throw bad('model comparison: an image is listed twice — list each image once per model');
  }
  if (rowsA.length !== rowsB.length) {
    throw bad(
      `model comparison: model A has ${rowsA.length} images, model B ${rowsB.length} — score both models on the same images`,
    );
  }
  const paired = rowsA.map((a) => {
    const b = byImage.get(a.image);
    if (b === undefined)
      throw bad(
        `model comparison: image ${a.image} was scored by model A only — score both models on the same images`,
      );
    return [a, b] as const;
  });
  const labels = [...new Set(rowsA.flatMap((r) => Object.keys(r.score)))]
    .filter((label) => paired.every(([a, b]) => label in a.score && label in b.score))
    .sort();
  if (labels.length === 0)
    throw bad('model comparison: the two models share no label scored on every image');
  return labels.map((label) => {
    const a = outcomesFor(
      paired.map(([x]) => x),
      label,
      `model A, label "${label}"`,
    );
    const b = outcomesFor(
      paired.map(([, y]) => y),
      label,
      `model B, label "${label}"`,
    );
    a.truth.forEach((t, i) => {
      if (t !== b.truth[i]) {
        throw bad(
          `model comparison: image ${paired[i]![0].image} has truth ${t} for "${label}" in A but ${b.truth[i]} in B — use the same labels for both`,
        );
      }
    });
    const test = delongTest(a.truth, a.scores, b.scores, {
      level: options.level,
      what: [`model A, label "${label}"`, `model B, label "${label}"`],
    });
    return {
      label,
      images: a.truth.length,
      aucA: test.aucA,
      aucB: test.aucB,
      difference: test.difference,
      ci: test.ci,
      z: test.z,
      p: test.p,
    };
  });
}
