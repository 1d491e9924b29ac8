import { dirname, join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import {
  exactGradCam,
  exactGradCamRows,
  type FeatureMapInput,
  type Heatmap,
  type ModelInputPlacement,
} from '../explain/index.js';
import { inputPlacement, toModelInput, type GreySource } from '../imaging/index.js';
import { checkLungFieldUse, loadModelPackage, type ModelPackage } from '../models/index.js';
import type { LungSegmenter, SegmentedLungs } from './lungSegmenter.js';
import {
  heatmapInLungMask,
  lungFieldPlacement,
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
 * The tensor a classifier package asks for, from an image's display grey at full resolution
 * (held, or rows re-made from the stored values: only the crop's pixels are read; ADR 0164).
 * Whole-image classifiers: resize (stretch or letterbox) as the manifest says. Lung-field
 * classifiers (input.region, ADR 0161): segment the lungs, refuse the image when its lung
 * field is not plausible, else crop the lung field and stretch it (LUNG_FIELD.md steps 1–7).
 * `lungs` may hold an already-made segmentation of this image (the analysis pipeline batches
 * them); else `segmenter` makes one. A segmenter given to a whole-image classifier still
 * segments, so its heatmaps can be placed relative to the lungs.
 */
export async function classifierInput(
  pkg: ModelPackage,
  grey: GreySource,
  segmenter: LungSegmenter | null,
  lungs: SegmentedLungs | null = null,
): Promise<ClassifierInput> {
  const spec = pkg.manifest.input;
  const region = spec.region;
  const segmented =
    lungs ??
    (segmenter === null
      ? null
      : ((await segmenter.segment([grey], { edgeGuardInset: region?.edgeGuard?.inset }))[0] ??
        null));
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
    // The crop resized in place (no copy of most of a 4-Mpx image): cropGrey's values.
    input: toModelInput(grey, { ...spec, resize: 'stretch' }, box),
    placement: lungFieldPlacement(box, grey.width, grey.height, spec.width, spec.height),
    box,
    lungs: segmented,
  };
}

/**
 * Exact Grad-CAM of a prepared input over an image of the given size (the source's, or the
 * overlay's), with no heat outside a lung-field crop (LUNG_FIELD.md step 9). For a crop only
 * the pixels inside it are computed: the same map, bit for bit, as clipToBox(exactGradCam(…)),
 * without resampling the rest of the image only to zero it (ADR 0163).
 */
export function heatmapOver(
  prepared: Pick<Extract<ClassifierInput, { kind: 'input' }>, 'placement' | 'box'>,
  features: FeatureMapInput,
  weights: Float32Array,
  size: { width: number; height: number },
  source: { width: number; height: number },
): Heatmap {
  const target = { ...size, placement: prepared.placement };
  const box = prepared.box;
  if (box === null) return exactGradCam(features, weights, target);
  const rows = exactGradCamRows(features, weights, target);
  const { width, height } = size;
  const [x0, x1] = insideSpan(width, box.left, box.right, source.width);
  const [y0, y1] = insideSpan(height, box.top, box.bottom, source.height);
  const data = new Float32Array(width * height);
  let max = 0;
  for (let y = y0; y < y1; y++) {
    const row = data.subarray(y * width, (y + 1) * width);
    rows.row(y, row, x0, x1);
    for (let x = x0; x < x1; x++) if (row[x]! > max) max = row[x]!;
  }
  return { width, height, data, max };
}

/**
 * The pixels [first, end) of a map `size` wide whose centres lie in [low, high) of a source
 * `sourceSize` wide — zeroOutsideBox's rule; centres grow with the index, so they are a run.
 */
function insideSpan(size: number, low: number, high: number, sourceSize: number): [number, number] {
  const inside = (i: number): boolean => {
    const centre = ((i + 0.5) * sourceSize) / size;
    return centre >= low && centre < high;
  };
  let first = 0;
  while (first < size && !inside(first)) first++;
  let end = first;
  while (end < size && inside(end)) end++;
  return [first, end];
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

/**
 * Where a heatmap's energy lies relative to the lung mask, at the heatmap's size (step 8's
 * mask, evaluated only where the heatmap has heat: the same numbers as the whole mask).
 */
export function heatmapLungShare(
  heatmap: { width: number; height: number; data: Float32Array },
  probabilities: LungProbabilities,
): HeatmapInLungs {
  return heatmapInLungMask(heatmap, probabilities);
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
