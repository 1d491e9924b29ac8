/**
 * One training or fine-tuning run, as recorded in the runs folder (ADR 0075): what was run
 * (parameters, dataset version, parent model), what it produced (model id@version, artefact
 * hashes) and how it went (metrics per epoch or iteration, summary metrics, timing). Parsed
 * with a strict schema at the edge, like the model manifest.
 */
import { z } from 'zod';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case sha256 hex digest');
const modelRef = z.strictObject({ id: z.string().min(1), version: z.string().min(1) });
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const RUN_SCHEMA = 'radiolens-run/1';

export const runRecordSchema = z.strictObject({
  schema: z.literal(RUN_SCHEMA),
  /** <UTC timestamp>-<8 hex of the record's content hash>, e.g. 20261128T111500Z-1a2b3c4d */
  id: z.string().regex(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/, 'expected <yyyymmddThhmmssZ>-<8 hex>'),
  kind: z.enum(['train', 'finetune']),
  /** ISO 8601; null when the source did not record it (imported runs). */
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationSeconds: z.number().nonnegative().nullable(),
  recipe: z.string().min(1),
  parameters: z.record(z.string(), z.unknown()),
  dataset: z.strictObject({ id: z.string().min(1), version: z.string().min(1) }),
  parentModel: modelRef.nullable(),
  model: modelRef.nullable(),
  /** Per epoch (train) or per Newton iteration / grid point (finetune). */
  history: z.array(z.record(z.string(), scalar)),
  /** Final numbers worth listing (test AUC, tuning AUC, …). */
  metrics: z.record(z.string(), z.number()),
  /** sha256 per produced file. */
  artefacts: z.record(z.string(), sha256Hex),
  /** Where an imported run came from (the source file's path as given and its sha256). */
  importedFrom: z
    .strictObject({ path: z.string().min(1), sha256: sha256Hex, importedAt: z.string() })
    .optional(),
});

export type RunRecord = z.infer<typeof runRecordSchema>;
export type RunKind = RunRecord['kind'];
