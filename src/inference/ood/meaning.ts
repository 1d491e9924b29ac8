import { z } from 'zod';
import type { OodFlag } from './statistics.js';

/**
 * What the flag of a set of OOD statistics has been shown to mean (ADR 0086), measured by
 * `radiolens ood evaluate` and stored in the statistics file beside the threshold it is about,
 * so the caveat on a flagged finding can say it without a number typed by hand.
 */
const interval = z.tuple([z.number(), z.number()]);
const rate = z.strictObject({
  count: z.int().nonnegative(),
  n: z.int().nonnegative(),
  estimate: z.number().min(0).max(1),
  /** Wilson 95% interval. */
  ci: interval,
});

export const oodMeaningSchema = z.strictObject({
  /** When, and by which evaluation (report file and its sha256), the meaning was measured. */
  measuredAt: z.string(),
  report: z.string(),
  /** The labelled in-distribution images the error analysis ran on (held out of the fit). */
  reference: z.strictObject({
    name: z.string(),
    images: z.int().nonnegative(),
    label: z.string(),
    threshold: z.number(),
  }),
  /** Does the flag tell when a decision is wrong? Null: could not be measured (and why). */
  error: z
    .strictObject({
      /** Wrong decisions at the threshold among flagged and among unflagged images. */
      flagged: rate,
      unflagged: rate,
      /** AUC of the distance for a wrong decision, with its 95% CI (DeLong or clustered). */
      auc: z.strictObject({ estimate: z.number(), ci: interval }),
    })
    .nullable(),
  errorNote: z.string().optional(),
  /**
   * How often the flag fires on images the model is not for, per kind; for a lung-field
   * classifier `flagged` counts the images its lung-field check let through, and `refused` the
   * images that check refused before scoring (of all the kind's images).
   */
  detection: z.array(z.strictObject({ kind: z.string(), flagged: rate, refused: rate.optional() })),
  /** Kinds the evaluation had no images of, said plainly. */
  notMeasured: z.array(z.string()),
});

export type OodMeaning = z.infer<typeof oodMeaningSchema>;

const pct = (v: number): string => `${(100 * v).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;

/**
 * The caveat on a flagged image: the distance, and what the flag has been shown to mean for
 * this model — or, without evidence, that its meaning has not been measured. Every number
 * comes from the flag or from the evidence.
 */
export function oodCaveat(flag: OodFlag, meaning: OodMeaning | undefined): string {
  const head = `out of distribution (feature distance ${flag.distance.toFixed(2)} > ${flag.threshold.toFixed(2)}): unlike the images the model's statistics were fitted on`;
  if (meaning === undefined) {
    return `${head}; what this flag predicts has not been measured for this model — treat the score with caution`;
  }
  const parts: string[] = [];
  const e = meaning.error;
  if (e === null) {
    parts.push(
      `whether it predicts a wrong decision was not measured (${meaning.errorNote ?? 'no labelled reference'})`,
    );
  } else {
    const auc = `AUC of the distance for a wrong decision ${e.auc.estimate.toFixed(2)}, 95% CI ${e.auc.ci[0].toFixed(2)}–${e.auc.ci[1].toFixed(2)}`;
    const rates = `wrong in ${pct(e.flagged.estimate)} of ${e.flagged.n} flagged vs ${pct(e.unflagged.estimate)} of ${e.unflagged.n} unflagged images`;
    const verdict =
      e.auc.ci[0] > 0.5
        ? 'flagged images were more often wrong'
        : e.auc.ci[1] < 0.5
          ? 'flagged images were less often wrong: the flag does not warn of errors'
          : 'the flag was not shown to predict a wrong decision';
    parts.push(`${verdict} (${auc}; ${rates})`);
  }
  if (meaning.detection.length > 0) {
    parts.push(
      `it flagged ${meaning.detection
        .map((d) =>
          d.refused === undefined
            ? `${pct(d.flagged.estimate)} of ${d.kind} (${d.flagged.count}/${d.flagged.n})`
            : `${pct(d.flagged.estimate)} of ${d.kind} that the lung-field check let through (${d.flagged.count}/${d.flagged.n}; it refused ${d.refused.count}/${d.refused.n} before scoring)`,
        )
        .join(', ')}`,
    );
  }
  if (meaning.notMeasured.length > 0) parts.push(`not measured: ${meaning.notMeasured.join(', ')}`);
  return `${head}. Measured on ${meaning.reference.images} held-out images (${meaning.reference.name}): ${parts.join('; ')}. Treat the score with caution`;
}
