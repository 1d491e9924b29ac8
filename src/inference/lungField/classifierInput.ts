import { dirname, join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import {
  exactGradCam,
  type FeatureMapInput,
  type Heatmap,
  type ModelInputPlacement,
} from '../explain/index.js';
import { inputPlacement, toModelInput, type GreyImage } from '../imaging/index.js';
import { checkLungFieldUse, loadModelPackage, type ModelPackage } from '../models/index.js';
import type { LungSegmenter, SegmentedLungs } from './lungSegmenter.js';
import {
  cropGrey,
  heatmapInLungs,
  lungFieldPlacement,
  lungMaskAt,
  zeroOutsideBox,
  type HeatmapInLungs,
  type LungField,
  type LungProbabilities,
  type SourceBox,
} from './procedure.js';

/** A classifier's input for one image, and how its heatmaps map back onto the image. */
export type ClassifierInput =
  | {
      kind: 'input';
      input: Float32Array;
      /** Where the source image lies relative to the input (a crop: beyond it on every side). */
      placement: ModelInputPlacement;
      /** The lung-field crop, for lung-field classifiers: heat outside it is zeroed. */
      box: SourceBox | null;
      /** The lung segmentation of the image, when one was made. */
      lungs: SegmentedLungs | null;
    }
  | {
      kind: 'refused';
      /** LungFieldReasonCode values, for analysis.json. */
      codes: string[];
      /** The sentence for the record, the SR's caveats and the FHIR bundle. */
      reason: string;
      lungs: SegmentedLungs;
    };

/**
 * The tensor a classifier package asks for, from an image's display grey at full resolution.
 * Whole-image classifiers: resize (stretch or letterbox) as the manifest says. Lung-field
 * classifiers (input.region, ADR 0161): segment the lungs, refuse the image when its lung
 * field is not plausible, else crop the lung field and stretch it (LUNG_FIELD.md steps 1–7).
 * `lungs` may hold an already-made segmentation of this image (the analysis pipeline batches
 * them); else `segmenter` makes one. A segmenter given to a whole-image classifier still
 * segments, so its heatmaps can be placed relative to the lungs.
 */
export async function classifierInput(
  pkg: ModelPackage,
  grey: GreyImage,
  segmenter: LungSegmenter | null,
  lungs: SegmentedLungs | null = null,
): Promise<ClassifierInput> {
  const spec = pkg.manifest.input;
  const region = spec.region;
  const segmented =
    lungs ?? (segmenter === null ? null : ((await segmenter.segment([grey]))[0] ?? null));
  if (region === undefined) {
    return {
      kind: 'input',
      input: toModelInput(grey, spec),
      placement: {
        ...inputPlacement(grey.width, grey.height, spec),
        inputWidth: spec.width,
        inputHeight: spec.height,
      },
      box: null,
      lungs: segmented,
    };
  }
  if (segmented === null) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${pkg.manifest.id}@${pkg.manifest.version} sees the lung field found by ${region.model.id}@${region.model.version}; run it with that segmentation package`,
    );
  }
  const use = checkLungFieldUse(pkg.manifest, segmented.field);
  if (!use.ok) {
    return { kind: 'refused', codes: use.codes, reason: use.reasons.join('; '), lungs: segmented };
  }
  const box = segmented.field.box!;
  return {
    kind: 'input',
    input: toModelInput(cropGrey(grey, box), { ...spec, resize: 'stretch' }),
    placement: lungFieldPlacement(box, grey.width, grey.height, spec.width, spec.height),
    box,
    lungs: segmented,
  };
}

/**
 * Exact Grad-CAM of a prepared input over an image of the given size (the source's, or the
 * overlay's), with no heat outside a lung-field crop (LUNG_FIELD.md step 9).
 */
export function heatmapOver(
  prepared: Extract<ClassifierInput, { kind: 'input' }>,
  features: FeatureMapInput,
  weights: Float32Array,
  size: { width: number; height: number },
  source: { width: number; height: number },
): Heatmap {
  const heatmap = exactGradCam(features, weights, { ...size, placement: prepared.placement });
  return prepared.box === null ? heatmap : clipToBox(heatmap, prepared.box, source);
}

/** Zero a heatmap outside a lung-field crop and recompute its maximum. */
export function clipToBox(
  heatmap: Heatmap,
  box: SourceBox,
  source: { width: number; height: number },
): Heatmap {
  zeroOutsideBox(heatmap, box, source.width, source.height);
  let max = 0;
  for (const v of heatmap.data) if (v > max) max = v;
  return { ...heatmap, max };
}

/** Where a heatmap's energy lies relative to the lung mask, at the heatmap's size. */
export function heatmapLungShare(
  heatmap: { width: number; height: number; data: Float32Array },
  probabilities: LungProbabilities,
): HeatmapInLungs {
  return heatmapInLungs(heatmap, lungMaskAt(probabilities, heatmap.width, heatmap.height));
}

export type { LungField };

/**
 * The segmentation package a lung-field classifier names (manifest input.region), from the
 * same registry folder as the classifier (`<registry>/<id>/<version>`), hash-verified; null for
 * a whole-image classifier. Commands that score images without a registry at hand (validate,
 * robustness, the gate) find it this way.
 */
export async function regionPackageOf(pkg: ModelPackage): Promise<ModelPackage | null> {
  const region = pkg.manifest.input.region;
  if (region === undefined) return null;
  const dir = join(dirname(dirname(pkg.dir)), region.model.id, region.model.version);
  try {
    return await loadModelPackage(dir);
  } catch (error) {
    throw new RadiolensError(
      'E_MODEL_NOT_FOUND',
      `${pkg.manifest.id}@${pkg.manifest.version} sees the lung field of ${region.model.id}@${region.model.version}, which is not installed beside it (${dir}: ${(error as Error).message}) — install that package in the same registry`,
      { subject: dir, cause: error },
    );
  }
}
