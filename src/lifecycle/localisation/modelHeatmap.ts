import { RadiolensError } from '../../foundation/core/index.js';
import {
  exactGradCam,
  occlusionSensitivity,
  type CamHead,
  type Heatmap,
} from '../../inference/explain/index.js';
import { type GreyImage } from '../../inference/imaging/index.js';
import { classifierInput, clipToBox, type LungSegmenter } from '../../inference/lungField/index.js';
import type { ModelPackage, ModelRunner } from '../../inference/models/index.js';

/** An image's score for one label and the heatmap that explains it, at the image's size. */
export interface ExplainedScore {
  score: number;
  heatmap: Heatmap;
}

/**
 * The model's heatmap for one label over the source image, computed the way the analysis
 * pipeline computes it (inference/analysis): the display-grey image through the package's
 * preprocessing, one forward pass, then exact Grad-CAM from the feature map and the head's
 * weights (ADR 0033) — or, for a package explained by occlusion, occlusion sensitivity —
 * resampled onto the image through the input placement, so letterbox padding is cropped away.
 * Only the target size differs: here the source's rows and columns, where the pipeline draws
 * on its (at most 1024-pixel) overlay image.
 */
export async function explainImage(
  pkg: ModelPackage,
  runner: Pick<ModelRunner, 'run'>,
  camHead: CamHead | null,
  grey: GreyImage,
  labelIndex: number,
  /** The lung segmentation a lung-field classifier needs (manifest input.region). */
  segmenter: LungSegmenter | null = null,
): Promise<ExplainedScore> {
  const spec = pkg.manifest.input;
  const prepared = await classifierInput(pkg, grey, segmenter);
  if (prepared.kind === 'refused') {
    throw new RadiolensError('E_NOT_IN_INTENDED_USE', `not analysed: ${prepared.reason}`);
  }
  const input = prepared.input;
  const output = await runner.run([input]);
  const score = output.scores[0]![labelIndex]!;
  const target = { width: grey.width, height: grey.height, placement: prepared.placement };
  const clip = (heatmap: Heatmap): Heatmap =>
    prepared.box === null ? heatmap : clipToBox(heatmap, prepared.box, grey);
  const explanation = pkg.manifest.explanation;
  if (explanation.method === 'cam') {
    const features = output.features?.[0];
    if (features === undefined || camHead === null) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${pkg.manifest.id}@${pkg.manifest.version} is explained by exact Grad-CAM but gives no feature map — fix outputs.features in its manifest`,
      );
    }
    return { score, heatmap: clip(exactGradCam(features, camHead.weightsFor(labelIndex), target)) };
  }
  if (explanation.method === 'none') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${pkg.manifest.id}@${pkg.manifest.version} is a ${pkg.manifest.task} model without a heatmap — name a classification model`,
    );
  }
  const heatmap = await occlusionSensitivity(
    (batch) => runner.run(batch),
    { data: input, channels: spec.channels, width: spec.width, height: spec.height },
    {
      patch: explanation.patch,
      stride: explanation.stride,
      ...(explanation.baseline === undefined ? {} : { baseline: explanation.baseline }),
    },
    { labelIndex, target },
  );
  return { score, heatmap: clip(heatmap) };
}
