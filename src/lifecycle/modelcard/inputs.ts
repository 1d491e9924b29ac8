import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';

/**
 * The evidence files the model card is generated from, parsed at the edge. Only the fields
 * the card prints are required; everything else in the files is ignored, so a newer report
 * with extra fields still renders.
 */

const interval = z.tuple([z.number(), z.number()]);
const rate = z.looseObject({ count: z.int(), n: z.int(), estimate: z.number(), ci: interval });
const aucCi = z.looseObject({ estimate: z.number(), ci: interval, method: z.string() });
const proportion = z.union([
  z.looseObject({ estimate: z.number(), ci: interval, successes: z.int(), total: z.int() }),
  z.looseObject({ estimate: z.null(), ci: z.null(), note: z.string() }),
]);

export const validationReportSchema = z.looseObject({
  schema: z.literal('radiolens.validation-report/1'),
  model: z.looseObject({ id: z.string(), version: z.string() }),
  dataset: z.looseObject({ source: z.string().nullable(), cases: z.int() }),
  settings: z.looseObject({ level: z.number() }),
  labels: z.array(
    z.looseObject({
      id: z.string(),
      meaning: z.string(),
      threshold: z.number(),
      cases: z.int(),
      positives: z.int(),
      negatives: z.int(),
      auc: z.looseObject({
        estimate: z.number(),
        ci: interval,
        method: z.string(),
        bootstrapCi: interval,
      }),
      operatingPoint: z.looseObject({
        threshold: z.number(),
        confusion: z.looseObject({
          truePositives: z.int(),
          falsePositives: z.int(),
          trueNegatives: z.int(),
          falseNegatives: z.int(),
        }),
        sensitivity: proportion,
        specificity: proportion,
        ppv: proportion,
        npv: proportion,
      }),
      calibration: z
        .looseObject({
          brier: z.number(),
          ece: z.number(),
          mce: z.number(),
          consistency: z
            .looseObject({ medianEce: z.number(), upperEce: z.number(), resamples: z.int() })
            .optional(),
        })
        .nullable(),
    }),
  ),
});
export type ValidationEvidence = z.infer<typeof validationReportSchema>;

const meanCi = z.looseObject({ mean: z.number(), ci: interval });
export const faithfulnessReportSchema = z.looseObject({
  schema: z.literal('radiolens.faithfulness-report/1'),
  model: z.looseObject({ id: z.string(), version: z.string() }),
  label: z.string(),
  dataset: z.string(),
  settings: z.looseObject({
    step: z.number(),
    randomOrders: z.int(),
    baseline: z.union([
      z.looseObject({ kind: z.literal('blur'), sigma: z.number() }),
      z.looseObject({ kind: z.literal('mean') }),
    ]),
    selection: z.string(),
  }),
  summary: z.looseObject({
    images: z.int(),
    gradCam: z.looseObject({ deletion: meanCi, insertion: meanCi }),
    random: z.looseObject({ deletion: meanCi, insertion: meanCi }),
    difference: z.looseObject({ deletion: meanCi, insertion: meanCi }),
    gradCamBetter: z.looseObject({ deletion: z.int(), insertion: z.int() }),
  }),
});
export type FaithfulnessEvidence = z.infer<typeof faithfulnessReportSchema>;

export const oodReportSchema = z.looseObject({
  schema: z.literal('radiolens.ood-report/1'),
  model: z.looseObject({ id: z.string(), version: z.string() }),
  variants: z.array(
    z.looseObject({
      name: z.string(),
      fitSources: z.array(z.string()),
      fitCount: z.int(),
      percentile: z.number(),
      thresholdSource: z.string(),
      threshold: z.number(),
      sets: z.array(
        z.looseObject({
          name: z.string(),
          expect: z.enum(['in-distribution', 'out-of-distribution']),
          images: z.int(),
          decoded: z.int(),
          flagged: z.int(),
          rate: z.number(),
          ci: interval,
          duplicates: z.int(),
          undecodable: z.array(z.looseObject({ path: z.string(), problem: z.string() })),
          refused: z
            .array(z.looseObject({ path: z.string(), kind: z.string(), reason: z.string() }))
            .optional(),
          details: z.array(
            z.looseObject({
              path: z.string(),
              kind: z.string(),
              distance: z.number(),
              flagged: z.boolean(),
            }),
          ),
        }),
      ),
      origin: z.enum(['fitted', 'given']).optional(),
      errors: z
        .looseObject({
          reference: z.string(),
          label: z.string(),
          images: z.int(),
          patients: z.int().nullable(),
          threshold: z.number(),
          errors: z.int(),
          flagged: rate,
          unflagged: rate,
          aucForError: aucCi.nullable(),
          aucForErrorNote: z.string().optional(),
          aurc: z.number(),
          aurcRandom: z.number(),
          modelAuc: z.looseObject({
            all: aucCi.nullable(),
            unflagged: aucCi.nullable(),
            difference: aucCi.nullable(),
          }),
        })
        .optional(),
      detection: z
        .array(
          z.looseObject({
            kind: z.string(),
            name: z.string(),
            flagged: rate,
            refused: rate.optional(),
            stopped: rate.optional(),
            auc: aucCi.nullable(),
          }),
        )
        .optional(),
      notMeasured: z.array(z.string()).optional(),
    }),
  ),
});
export type OodEvidence = z.infer<typeof oodReportSchema>;

const estimate = z.looseObject({ estimate: z.number(), ci: interval });
const wilsonRate = z.looseObject({
  estimate: z.number(),
  ci: interval,
  successes: z.int(),
  total: z.int(),
});
const shares = z
  .looseObject({ images: z.int(), model: estimate, random: estimate, centre: estimate })
  .nullable();
const target = z
  .looseObject({
    target: z.number(),
    estimate: z.number(),
    met: z.boolean(),
    metByLowerBound: z.boolean(),
  })
  .nullable();

export const localisationReportSchema = z.looseObject({
  schema: z.literal('radiolens.localisation-report/1'),
  model: z.looseObject({ id: z.string(), version: z.string() }),
  label: z.string(),
  dataset: z.string(),
  regions: z.string().nullable(),
  lungFields: z.string().nullable(),
  settings: z.looseObject({ borderBand: z.number(), centreSigma: z.number(), level: z.number() }),
  targets: z.looseObject({ hitRateOverRandom: target, peaksInLungs: target }),
  summary: z.looseObject({
    images: z.int(),
    patients: z.int().nullable(),
    emptyHeatmaps: z.int(),
    pointing: z
      .looseObject({
        images: z.int(),
        model: wilsonRate,
        random: estimate,
        centre: wilsonRate,
        modelOverRandom: estimate,
      })
      .nullable(),
    energyInRegion: shares,
    energyInLungs: shares,
    peakInLungs: z
      .looseObject({ peaks: z.int(), model: wilsonRate, random: estimate, centre: wilsonRate })
      .nullable(),
    peakInBorder: z
      .looseObject({ peaks: z.int(), model: wilsonRate, random: estimate, centre: wilsonRate })
      .nullable(),
  }),
});
export type LocalisationEvidence = z.infer<typeof localisationReportSchema>;

export const robustnessReportSchema = z.looseObject({
  schema: z.literal('radiolens.robustness-report/1'),
  model: z.looseObject({ id: z.string(), version: z.string() }),
  label: z.string(),
  threshold: z.number(),
  dataset: z.string(),
  defaultWindow: z.string(),
  settings: z.looseObject({ level: z.number(), clusteredBy: z.string().nullable() }),
  targets: z.looseObject({ maxFlipShare: z.number(), maxMeanAbsoluteChange: z.number() }),
  perturbations: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      images: z.int(),
      meanAbsoluteChange: estimate,
      meanChange: estimate,
      largestChange: z.looseObject({
        image: z.string(),
        reference: z.number(),
        changed: z.number(),
      }),
      flips: z.looseObject({
        count: z.int(),
        share: z.number(),
        ci: interval,
        toPositive: z.int(),
        toNegative: z.int(),
      }),
    }),
  ),
});
export type RobustnessEvidence = z.infer<typeof robustnessReportSchema>;

/** Read and check one evidence file; the error names the file and the command that makes it. */
export async function readEvidence<T>(
  path: string,
  schema: z.ZodType<T>,
  madeBy: string,
): Promise<T> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `cannot read ${path} — produce it with \`${madeBy}\``, {
      subject: path,
      cause,
    });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RadiolensError('E_BAD_INPUT', `${path} is not JSON — produce it with \`${madeBy}\``, {
      subject: path,
      cause,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '$'}: ${i.message}`);
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${path} is not what \`${madeBy}\` writes (${issues.join('; ')})`,
      { subject: path },
    );
  }
  return parsed.data;
}

/** A named evidence file: `name=path` on the command line, or the file name as the name. */
export function namedPath(spec: string): { name: string; path: string } {
  const eq = spec.indexOf('=');
  if (eq > 0) return { name: spec.slice(0, eq), path: spec.slice(eq + 1) };
  return { name: basename(spec).replace(/\.json$/, ''), path: spec };
}
