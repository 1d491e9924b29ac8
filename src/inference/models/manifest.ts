import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';
import { SEMVER_PATTERN } from './semver.js';

/**
 * The model card (manifest.json) of a model package — ARCHITECTURE.md "The model package
 * contract", ADR 0030. Parsed once at the edge with a strict schema: unknown fields are
 * refused, because a typo in a safety-relevant field (a threshold, an intended-use list) must
 * not be silently ignored.
 */

const nonEmpty = z.string().min(1);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case sha256 hex digest');
const semver = z.string().regex(SEMVER_PATTERN, 'expected a semantic version such as 1.2.0');
/** Ids become directory names in the registry, so keep them to a portable alphabet. */
const modelId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'expected lower-case letters, digits, ".", "_" or "-"');
/** DICOM code string (VR CS): upper case, digits, space, underscore, at most 16 characters. */
const codeString = z.string().regex(/^[A-Z0-9 _]{1,16}$/, 'expected a DICOM code string (CS)');

const codedConcept = z.strictObject({
  /** Coding Scheme Designator as DICOM writes it (PS3.16 Section 8). */
  scheme: z.enum(['SCT', 'RADLEX']),
  value: nonEmpty,
  meaning: nonEmpty,
});

const label = z.strictObject({
  id: modelId,
  code: codedConcept,
  /** Operating point: a probability at or above it is reported as "present". */
  threshold: z.number().min(0).max(1),
  alertLevel: z.enum(['none', 'routine', 'urgent']),
});

const photometric = z.enum([
  'MONOCHROME1',
  'MONOCHROME2',
  'RGB',
  'YBR_FULL',
  'YBR_FULL_422',
  'PALETTE COLOR',
]);

const intendedUse = z
  .strictObject({
    summary: nonEmpty,
    modalities: z.array(codeString).min(1),
    bodyParts: z.array(codeString).min(1),
    /** Empty: the model is not specific to a view. */
    viewPositions: z.array(codeString),
    photometric: z.array(photometric).min(1),
    minRows: z.int().positive(),
    minColumns: z.int().positive(),
    bitsStored: z.strictObject({ min: z.int().min(1).max(32), max: z.int().min(1).max(32) }),
    notFor: z.array(nonEmpty),
    /**
     * Attributes whose absence is tolerated (the image is accepted with a warning). Legacy and
     * secondary-capture radiographs often lack Body Part Examined or View Position; the model's
     * maker decides whether the model is safe to run on them (ADR 0034). Default: none.
     */
    allowMissing: z.array(z.enum(['BodyPartExamined', 'ViewPosition'])).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.bitsStored.min > value.bitsStored.max) {
      ctx.addIssue({ code: 'custom', path: ['bitsStored'], message: 'min is greater than max' });
    }
  });

const normalisation = z.discriminatedUnion('kind', [
  /** Pixel values scaled to [0, 1] after windowing. */
  z.strictObject({ kind: z.literal('unit') }),
  /** [0, 1] values then (x - mean[c]) / std[c] per channel (ImageNet-style). */
  z.strictObject({
    kind: z.literal('meanStd'),
    mean: z.array(z.number()).min(1),
    std: z.array(z.number().positive()).min(1),
  }),
]);

const windowing = z.discriminatedUnion('kind', [
  /**
   * The image's own Window Center & Width or VOI LUT; an image without one gets `fallback`
   * (default percentile: 0.5th–99.5th percentile; ADRs 0020, 0027). Declare the fallback that
   * matches how the training images were scaled.
   */
  z.strictObject({
    kind: z.literal('voiLut'),
    fallback: z.enum(['percentile', 'minMax', 'storedRange']).optional(),
  }),
  /** Ignore the image's own window: its minimum to its maximum. */
  z.strictObject({ kind: z.literal('minMax') }),
  /** Ignore the image's own window: the low-th to the high-th percentile of its values. */
  z.strictObject({
    kind: z.literal('percentile'),
    low: z.number().min(0).max(100),
    high: z.number().min(0).max(100),
  }),
]);

/**
 * What part of the image the network sees (ADR 0160). Absent: the whole image. `lungField`:
 * the lung field found by a segmentation package (`model`, task 'segmentation'), cropped with
 * its margin and stretched to the input size — the procedure of training/LUNG_FIELD.md, steps
 * 1–7 (inference/lungField). An image whose lung field is not plausible is not scored.
 */
const inputRegion = z.strictObject({
  kind: z.literal('lungField'),
  model: z.strictObject({ id: modelId, version: semver }),
  /**
   * LUNG_FIELD.md step 2b (ADR 0165): keep only lung that the model also finds with `inset` of
   * the width and height cut off each side. Absent: the whole image's maps alone (2.0.x).
   */
  edgeGuard: z.strictObject({ inset: z.number().gt(0).lt(0.25) }).optional(),
});

const input = z
  .strictObject({
    width: z.int().positive(),
    height: z.int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    resize: z.enum(['stretch', 'letterbox']),
    normalisation,
    /** How stored values become display values before normalisation. Absent: voiLut. */
    windowing: windowing.optional(),
    region: inputRegion.optional(),
    inputName: nonEmpty,
  })
  .superRefine((value, ctx) => {
    if (value.normalisation.kind === 'meanStd') {
      for (const key of ['mean', 'std'] as const) {
        if (value.normalisation[key].length !== value.channels) {
          ctx.addIssue({
            code: 'custom',
            path: ['normalisation', key],
            message: `needs one value per channel (${value.channels})`,
          });
        }
      }
    }
  });

const outputs = z.strictObject({
  /**
   * Classification: the [N, labels] scores. Segmentation (ADR 0160): the [N, labels, h, w]
   * probability maps, one channel per label in manifest order.
   */
  scores: nonEmpty,
  /** Applied by the runner to the scores output; 'none' means it already holds probabilities. */
  activation: z.enum(['sigmoid', 'softmax', 'none']),
  /** The last convolutional feature map [N, K, h, w], needed for exact Grad-CAM and head tuning. */
  features: nonEmpty.optional(),
});

const explanation = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('cam'),
    /** ONNX initializer holding the linear head's weights. */
    headWeight: nonEmpty,
    /** 'classByChannel' = [C, K] (PyTorch Linear, Gemm transB=1); 'channelByClass' = [K, C]. */
    headWeightLayout: z.enum(['classByChannel', 'channelByClass']),
    headBias: nonEmpty,
  }),
  z.strictObject({
    method: z.literal('occlusion'),
    /** Side of the square patch, in model-input pixels. */
    patch: z.int().positive(),
    stride: z.int().positive(),
    /** Value the patch is filled with, in normalised input units. Default 0. */
    baseline: z.number().optional(),
  }),
  /** Segmentation packages only: the probability maps are their own explanation. */
  z.strictObject({ method: z.literal('none') }),
]);

const lineage = z.strictObject({
  trainingDataset: z
    .strictObject({ id: nonEmpty, version: nonEmpty.optional(), sha256: sha256Hex.optional() })
    .refine((d) => d.version !== undefined || d.sha256 !== undefined, {
      message: 'needs a version or a sha256 so the exact dataset can be found again',
    })
    .optional(),
  recipe: nonEmpty.optional(),
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  parent: z.strictObject({ id: modelId, version: semver }).optional(),
});

const validationResult = z
  .strictObject({
    dataset: nonEmpty,
    datasetVersion: nonEmpty.optional(),
    /** The label id the result is for; absent for model-wide metrics. */
    label: nonEmpty.optional(),
    metric: nonEmpty,
    value: z.number(),
    ci: z
      .strictObject({ lower: z.number(), upper: z.number(), level: z.number().gt(0).lt(1) })
      .optional(),
    n: z.int().nonnegative().optional(),
    subgroup: nonEmpty.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.ci !== undefined && !(value.ci.lower <= value.value && value.value <= value.ci.upper)) {
      ctx.addIssue({ code: 'custom', path: ['ci'], message: 'value lies outside its interval' });
    }
  });

/** Relative POSIX paths inside the package; no escaping it, no hidden tricks. */
const relativePath = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[^\\\0]+$/, 'expected a relative path inside the package')
  .refine((p) => p !== 'manifest.json', 'manifest.json cannot list its own hash');

/**
 * Out-of-distribution check shipped with the model (ADR 0080): a statistics file of the
 * pooled features of in-distribution images, and the distance above which an image is flagged.
 */
const ood = z.strictObject({
  file: relativePath,
  method: z.literal('mahalanobis-ledoit-wolf'),
  threshold: z.number().positive(),
  percentile: z.number().gt(0).lt(100),
});

/**
 * Post-market monitoring (ADR 0087): the drift reference, a file of the package holding the
 * input, output and feedback statistics of the images the model was validated on.
 */
const monitoring = z.strictObject({
  reference: relativePath,
});

/** A proportion: a sensitivity, a calibration error, an AUC margin. */
const proportion = z.number().min(0).max(1);

/**
 * The kinds of modification a change-control plan can allow (ADR 0035). A modification the
 * gate finds between two versions that is not one of these (a wider intended use, other
 * labels, another manufacturer, a changed plan) is never allowed by a plan: it needs a new
 * review, not a promotion.
 */
export const ALLOWABLE_MODIFICATIONS = [
  'operating-point',
  'head-refit',
  'network-retrain',
  'architecture',
  'input-preprocessing',
  'explanation',
  'ood-statistics',
  'monitoring-reference',
  'intended-use-narrowing',
] as const;

const acceptanceLabel = z.strictObject({
  /** The model's label this row is about. */
  label: modelId,
  /** The dataset label (instance label in the dataset manifest) holding the truth, 1 or 0. */
  truth: nonEmpty,
  /** AUC non-inferiority against the active model, paired DeLong: lower bound > -margin. */
  aucNonInferiorityMargin: z.number().min(0).max(0.5),
  /** At the candidate's operating point: the estimate and its lower confidence bound. */
  sensitivity: z.strictObject({ minimum: proportion, minimumLowerBound: proportion }),
  specificity: z.strictObject({ minimum: proportion }).optional(),
  /** Expected calibration error over equal-width bins. */
  calibration: z.strictObject({
    maximumEce: proportion,
    bins: z.int().min(2).max(100),
  }),
  /** No subgroup's AUC below the active model's in that subgroup by more than maxAucDrop. */
  subgroups: z.strictObject({
    columns: z.array(nonEmpty),
    maxAucDrop: z.number().min(0).max(1),
    /** Smaller subgroups are reported as not assessable, not judged. */
    minCasesPerClass: z.int().min(2),
  }),
});

/**
 * The Predetermined Change Control Plan (FDA guidance on PCCPs for AI-enabled device
 * software functions): what may change in a successor of this version, and the evidence a
 * successor must show before `radiolens models promote` makes it active (ADR 0035).
 */
const changeControl = z.strictObject({
  /** Identifies the plan and its approval, e.g. "PCCP-CXR-1, AI governance committee 2026-11-30". */
  plan: nonEmpty,
  allowedModifications: z
    .array(z.strictObject({ kind: z.enum(ALLOWABLE_MODIFICATIONS), description: nonEmpty }))
    .min(1),
  acceptance: z.strictObject({
    /** The locked test dataset: a `radiolens dataset` version (its manifest's sha256). */
    testDataset: z.strictObject({ name: nonEmpty, version: sha256Hex }),
    /** Two-sided confidence level of every interval the protocol uses. */
    level: z.number().gt(0.5).lt(1),
    /**
     * The dataset label naming each image's patient (a pseudonym): when set, the AUC
     * comparison and the sensitivity bound respect patients (Obuchowski's clustered DeLong,
     * a patient bootstrap; ADR 0057), since a patient's images are not independent.
     */
    patient: nonEmpty.optional(),
    /** Fewest of the test images the candidate must analyse (the rest refused as not intended). */
    minimumAnalysedFraction: proportion,
    labels: z.array(acceptanceLabel).min(1),
  }),
});

export const modelManifestSchema = z
  .strictObject({
    id: modelId,
    version: semver,
    name: nonEmpty,
    /**
     * classification: labels are findings, scored per image. segmentation (ADR 0160): labels
     * are the channels of a probability map (e.g. right and left lung), each label's threshold
     * the probability at which a pixel belongs to it; such a package serves other models (a
     * lung field) and is never chosen as a study's finding model.
     */
    task: z.enum(['classification', 'segmentation']),
    manufacturer: nonEmpty,
    intendedUse,
    limitations: z.array(nonEmpty),
    input,
    outputs,
    labels: z.array(label).min(1),
    explanation,
    lineage,
    validation: z.array(validationResult),
    ood: ood.optional(),
    monitoring: monitoring.optional(),
    changeControl: changeControl.optional(),
    files: z.record(relativePath, sha256Hex),
  })
  .superRefine((value, ctx) => {
    if (value.files['model.onnx'] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'must list model.onnx' });
    }
    if (value.ood !== undefined && value.files[value.ood.file] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ood', 'file'], message: 'must be listed in files' });
    }
    if (value.monitoring !== undefined && value.files[value.monitoring.reference] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'reference'],
        message: 'must be listed in files',
      });
    }
    value.changeControl?.acceptance.labels.forEach((row, i) => {
      if (!value.labels.some((l) => l.id === row.label)) {
        ctx.addIssue({
          code: 'custom',
          path: ['changeControl', 'acceptance', 'labels', i, 'label'],
          message: `the model has no label ${row.label}`,
        });
      }
      if (row.sensitivity.minimumLowerBound > row.sensitivity.minimum) {
        ctx.addIssue({
          code: 'custom',
          path: ['changeControl', 'acceptance', 'labels', i, 'sensitivity'],
          message: 'the minimum lower bound cannot exceed the minimum estimate',
        });
      }
    });
    if (value.explanation.method === 'cam' && value.outputs.features === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['outputs', 'features'],
        message: "explanation method 'cam' needs the feature-map output",
      });
    }
    if (value.task === 'segmentation') {
      if (value.explanation.method !== 'none') {
        ctx.addIssue({
          code: 'custom',
          path: ['explanation', 'method'],
          message: "a segmentation model's explanation is 'none' (its maps are the output)",
        });
      }
      for (const key of ['changeControl', 'ood'] as const) {
        if (value[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'not defined for segmentation models' });
        }
      }
      if (value.input.region !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['input', 'region'],
          message: 'a segmentation model sees the whole image',
        });
      }
    } else if (value.explanation.method === 'none') {
      ctx.addIssue({
        code: 'custom',
        path: ['explanation', 'method'],
        message: "a classification model needs an explanation ('cam' or 'occlusion')",
      });
    }
    const ids = value.labels.map((l) => l.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) {
        ctx.addIssue({ code: 'custom', path: ['labels', i, 'id'], message: `duplicate label id ${id}` });
      }
    });
    if (value.outputs.activation === 'softmax' && value.labels.length < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['outputs', 'activation'],
        message: 'softmax over a single label is always 1; use sigmoid',
      });
    }
  });

export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ModelLabel = ModelManifest['labels'][number];
export type ModelExplanation = ModelManifest['explanation'];
export type ModelIntendedUse = ModelManifest['intendedUse'];
export type ModelInputSpec = ModelManifest['input'];
export type ModelInputRegion = NonNullable<ModelInputSpec['region']>;
export type ChangeControlPlan = NonNullable<ModelManifest['changeControl']>;
export type AcceptanceCriteria = ChangeControlPlan['acceptance']['labels'][number];
export type AllowableModification = (typeof ALLOWABLE_MODIFICATIONS)[number];

export interface ManifestIssue {
  /** JSONPath of the offending value, e.g. $.labels[0].code.scheme */
  path: string;
  message: string;
}

export type ManifestValidation =
  | { ok: true; manifest: ModelManifest }
  | { ok: false; issues: ManifestIssue[] };

/** Check an already-parsed JSON value against the manifest schema, collecting every problem. */
export function validateManifest(json: unknown): ManifestValidation {
  const result = modelManifestSchema.safeParse(json);
  if (result.success) return { ok: true, manifest: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({
      path: jsonPath(issue.path),
      message: issueMessage(issue),
    })),
  };
}

/** Parse manifest.json text; throws E_MANIFEST_INVALID listing every problem with its path. */
export function parseManifest(text: string, source = 'manifest.json'): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `${source} is not valid JSON (${(error as Error).message}) — fix the file`,
      { subject: source, cause: error },
    );
  }
  const result = validateManifest(json);
  if (!result.ok) {
    const list = result.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `${source} has ${result.issues.length} problem(s): ${list} — fix the manifest and re-package the model`,
      { subject: source },
    );
  }
  return result.manifest;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')} (the manifest schema is strict)`;
  }
  // A bad record key (a file path): say what is wrong with the key, not just "invalid key".
  if (issue.code === 'invalid_key') {
    return `invalid file path: ${issue.issues.map((i) => i.message).join('; ')}`;
  }
  return issue.message;
}

function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}
