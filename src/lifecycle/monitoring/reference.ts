/**
 * The drift reference a model package carries (ADR 0087): every monitored feature's values on
 * the images the model was validated on, computed through the same analysis pipeline that
 * records them in production. Each feature keeps its values image by image (a few hundred:
 * the exact empirical distribution, so no test needs binning) with the patient each image
 * belongs to as a small number (0, 1, 2 …, never an ID), so that a patient's repeated images
 * are not counted as independent evidence; categorical features also keep their counts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';
import type { ModelPackage } from '../../inference/models/index.js';
import type { AnalysedImage } from './analysisRecords.js';
import { monitoredFeatures, type TruthLookup } from './features.js';

export const DRIFT_REFERENCE_SCHEMA = 'radiolens.drift-reference/1';
export const DRIFT_REFERENCE_FILE = 'drift-reference.json';

const group = z.enum(['input', 'output', 'feedback']);
const clusters = z.array(z.int().nonnegative());
const featureSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('numeric'), group, values: z.array(z.number()), clusters }),
    z.strictObject({
      kind: z.literal('categorical'),
      group,
      counts: z.record(z.string(), z.int().nonnegative()),
      values: z.array(z.string()),
      clusters,
    }),
  ])
  .refine((f) => f.values.length === f.clusters.length, { message: 'one cluster per value' });

const referenceSchema = z.strictObject({
  schema: z.literal(DRIFT_REFERENCE_SCHEMA),
  /** The network the statistics belong to (the manifest cannot be named: it lists this file). */
  model: z.strictObject({
    id: z.string().min(1),
    version: z.string().min(1),
    modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  source: z.strictObject({
    /** What the images are, e.g. "cxr-site-nih test split (splits.json of 1.2.0)". */
    description: z.string().min(1),
    dataset: z.strictObject({ id: z.string().min(1), version: z.string().min(1) }),
    images: z.int().positive(),
    /** Images of the source the model did not analyse (outside its intended use), left out. */
    notAnalysed: z.int().nonnegative(),
    computedBy: z.string().min(1),
  }),
  features: z.record(z.string(), featureSchema),
});

export type DriftReference = z.infer<typeof referenceSchema>;
export type ReferenceFeature = DriftReference['features'][string];

export function parseDriftReference(json: unknown, source: string): DriftReference {
  const parsed = referenceSchema.safeParse(json);
  if (!parsed.success) {
    const list = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source} is not a drift reference (${list}) — recompute it with "radiolens monitor reference"`,
      { subject: source },
    );
  }
  return parsed.data;
}

/** The reference the package ships; E_BAD_INPUT naming the package when it has none. */
export async function loadPackageDriftReference(pkg: ModelPackage): Promise<DriftReference> {
  const file = pkg.manifest.monitoring?.reference;
  const name = `${pkg.manifest.id}@${pkg.manifest.version}`;
  if (file === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${name} carries no drift reference (manifest "monitoring") — compute one on its validation images with "radiolens monitor reference" and publish it in a new version of the package`,
      { subject: pkg.dir },
    );
  }
  const path = join(pkg.dir, file);
  const reference = parseDriftReference(JSON.parse(await readFile(path, 'utf8')), path);
  if (
    reference.model.id !== pkg.manifest.id ||
    reference.model.modelSha256 !== pkg.manifest.files['model.onnx']
  ) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${path} was computed for ${reference.model.id}@${reference.model.version} with another model.onnx than ${name} has — recompute it for this package`,
      { subject: path },
    );
  }
  return reference;
}

/** Summarise the analysed reference images into a reference. */
export function buildDriftReference(input: {
  model: { id: string; version: string; modelSha256: string };
  labels: readonly string[];
  images: readonly AnalysedImage[];
  truth: TruthLookup;
  source: Omit<DriftReference['source'], 'images'>;
}): DriftReference {
  if (input.images.length === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'drift reference: no analysed images — check the images and the model',
    );
  }
  // Patients become 0, 1, 2 … in order of appearance; an image without one is its own.
  const patients = new Map<string, number>();
  const clusterOf = input.images.map((image) => {
    const key = image.inputs?.patient ?? `image:${image.sopInstanceUid}`;
    let index = patients.get(key);
    if (index === undefined) {
      index = patients.size;
      patients.set(key, index);
    }
    return index;
  });
  const features: Record<string, ReferenceFeature> = {};
  for (const feature of monitoredFeatures(input.labels)) {
    if (feature.kind === 'numeric') {
      const pairs = input.images
        .map((image, i) => ({ value: feature.value(image, input.truth), cluster: clusterOf[i]! }))
        .filter(
          (p): p is { value: number; cluster: number } =>
            p.value !== null && Number.isFinite(p.value),
        )
        .sort((a, b) => a.value - b.value || a.cluster - b.cluster);
      features[feature.name] = {
        kind: 'numeric',
        group: feature.group,
        values: pairs.map((p) => p.value),
        clusters: pairs.map((p) => p.cluster),
      };
    } else {
      const pairs = input.images
        .map((image, i) => ({ value: feature.value(image, input.truth), cluster: clusterOf[i]! }))
        .filter((p): p is { value: string; cluster: number } => p.value !== null);
      const counts: Record<string, number> = {};
      for (const { value } of pairs) counts[value] = (counts[value] ?? 0) + 1;
      features[feature.name] = {
        kind: 'categorical',
        group: feature.group,
        counts,
        values: pairs.map((p) => p.value),
        clusters: pairs.map((p) => p.cluster),
      };
    }
  }
  return {
    schema: DRIFT_REFERENCE_SCHEMA,
    model: input.model,
    source: { ...input.source, images: input.images.length },
    features,
  };
}
