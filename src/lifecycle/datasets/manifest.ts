/**
 * The dataset manifest (ADR 0067): everything that defines a de-identified dataset version —
 * each instance's content hash, its labels, and the de-identification profile used. It holds
 * no timestamps or paths, so the same inputs, labels and profile always give the same
 * version: the version is the SHA-256 of the manifest's canonical JSON.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';

export const MANIFEST_SCHEMA = 'radiolens.dataset/1';

const instanceSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  sopClassUid: z.string(),
  sopInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  studyInstanceUid: z.string(),
  modality: z.string(),
  labels: z.record(z.string(), z.string()),
});

export const manifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  name: z.string().min(1),
  deidentification: z.object({
    profile: z.string(),
    tableEdition: z.string(),
    options: z.array(z.string()),
    methodCodes: z.array(z.string()),
  }),
  instances: z.array(instanceSchema),
  excluded: z.object({ quarantined: z.number().int(), failed: z.number().int() }),
});

export type DatasetManifest = z.infer<typeof manifestSchema>;
export type DatasetInstance = z.infer<typeof instanceSchema>;

/** JSON with object keys sorted at every level, so equal manifests hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The dataset version: SHA-256 of the canonical manifest. */
export function datasetVersion(manifest: DatasetManifest): string {
  return createHash('sha256').update(canonicalJson(manifest)).digest('hex');
}

export function parseManifest(json: unknown, source: string): DatasetManifest {
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new RadiolensError(
      'E_DATASET_INVALID',
      `${source} is not a valid dataset manifest: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
      { subject: source },
    );
  }
  return parsed.data;
}
