import { RadiolensError } from '../../foundation/core/index.js';
import { exactGradCam, type BatchScorer, type CamHead } from '../../inference/explain/index.js';
import type { FeatureMap, ModelRunner } from '../../inference/models/index.js';
import { seededRandom } from '../validation/index.js';
import { baselineImage, type FaithfulnessBaseline } from './baseline.js';
import { areaUnderCurve, perturbationCurves, randomOrder, saliencyOrder } from './curves.js';

export interface FaithfulnessOptions {
  labelIndex?: number;
  step?: number;
  /** Random orders averaged per image for the baseline; default 3. */
  randomOrders?: number;
  seed?: number;
  baseline?: FaithfulnessBaseline;
}

/** Deletion and insertion AUC of one image, for Grad-CAM's order and for random orders. */
export interface ImageFaithfulness {
  image: string;
  score: number;
  gradCam: { deletion: number; insertion: number };
  /** Mean over the random orders. */
  random: { deletion: number; insertion: number };
}

/**
 * Faithfulness of exact Grad-CAM for one preprocessed input: does removing what the heatmap
 * marks first lower the score faster than removing pixels at random, and does revealing it
 * first raise the score faster? The heatmap is computed at the model-input resolution (the
 * feature map bilinearly resampled over the whole input), so the perturbation acts on exactly
 * the pixels the network sees.
 */
export async function imageFaithfulness(
  runner: Pick<ModelRunner, 'run'>,
  camHead: CamHead,
  image: string,
  input: { data: Float32Array; channels: number; width: number; height: number },
  options: FaithfulnessOptions = {},
): Promise<ImageFaithfulness> {
  const labelIndex = options.labelIndex ?? 0;
  const random = seededRandom(options.seed ?? 1);
  const plain = await runner.run([input.data]);
  const features: FeatureMap | undefined = plain.features?.[0];
  if (features === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'faithfulness: the model gives no feature map, so there is no exact Grad-CAM to measure',
    );
  }
  const cam = exactGradCam(features, camHead.weightsFor(labelIndex), {
    width: input.width,
    height: input.height,
  });
  const baseline = baselineImage(
    input.data,
    input.channels,
    input.width,
    input.height,
    options.baseline ?? { kind: 'blur', sigma: input.width / 16 },
  );
  const scorer: BatchScorer = (batch) => runner.run(batch);
  const curveOptions = {
    labelIndex,
    ...(options.step === undefined ? {} : { step: options.step }),
  };
  const auc = async (order: Int32Array): Promise<{ deletion: number; insertion: number }> => {
    const curves = await perturbationCurves(scorer, input, baseline, order, curveOptions);
    return {
      deletion: areaUnderCurve(curves.fractions, curves.deletion),
      insertion: areaUnderCurve(curves.fractions, curves.insertion),
    };
  };
  const gradCam = await auc(saliencyOrder(cam.data, random));
  const orders = options.randomOrders ?? 3;
  let deletion = 0;
  let insertion = 0;
  for (let r = 0; r < orders; r++) {
    const result = await auc(randomOrder(input.width * input.height, random));
    deletion += result.deletion / orders;
    insertion += result.insertion / orders;
  }
  return { image, score: plain.scores[0]![labelIndex]!, gradCam, random: { deletion, insertion } };
}

export interface MeanWithCi {
  mean: number;
  /** Normal-approximation 95% interval of the mean. */
  ci: [number, number];
}

export interface FaithfulnessSummary {
  images: number;
  gradCam: { deletion: MeanWithCi; insertion: MeanWithCi };
  random: { deletion: MeanWithCi; insertion: MeanWithCi };
  /** Paired per-image differences, Grad-CAM minus random. */
  difference: { deletion: MeanWithCi; insertion: MeanWithCi };
  /** Images where Grad-CAM beat random: lower deletion AUC, higher insertion AUC. */
  gradCamBetter: { deletion: number; insertion: number };
}

export function summariseFaithfulness(results: readonly ImageFaithfulness[]): FaithfulnessSummary {
  if (results.length === 0)
    throw new RadiolensError('E_BAD_INPUT', 'faithfulness: no images measured');
  const of = (pick: (r: ImageFaithfulness) => number): MeanWithCi => meanWithCi(results.map(pick));
  return {
    images: results.length,
    gradCam: { deletion: of((r) => r.gradCam.deletion), insertion: of((r) => r.gradCam.insertion) },
    random: { deletion: of((r) => r.random.deletion), insertion: of((r) => r.random.insertion) },
    difference: {
      deletion: of((r) => r.gradCam.deletion - r.random.deletion),
      insertion: of((r) => r.gradCam.insertion - r.random.insertion),
    },
    gradCamBetter: {
      deletion: results.filter((r) => r.gradCam.deletion < r.random.deletion).length,
      insertion: results.filter((r) => r.gradCam.insertion > r.random.insertion).length,
    },
  };
}

function meanWithCi(values: readonly number[]): MeanWithCi {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  const half = 1.959963984540054 * Math.sqrt(variance / n);
  return { mean, ci: [mean - half, mean + half] };
}

export const FAITHFULNESS_REPORT_SCHEMA = 'radiolens.faithfulness-report/1';

export interface FaithfulnessReport {
  schema: typeof FAITHFULNESS_REPORT_SCHEMA;
  generatedAt: string;
  model: { id: string; version: string };
  label: string;
  dataset: string;
  settings: {
    step: number;
    randomOrders: number;
    seed: number;
    baseline: FaithfulnessBaseline;
    selection: string;
  };
  summary: FaithfulnessSummary;
  images: ImageFaithfulness[];
}
