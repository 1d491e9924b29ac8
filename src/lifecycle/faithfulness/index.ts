/**
 * Heatmap faithfulness (ADR 0081): deletion and insertion curves of exact Grad-CAM against
 * random pixel orders, summarised as areas under the curves.
 */
export { baselineImage, gaussianBlur, type FaithfulnessBaseline } from './baseline.js';
export {
  perturbationCurves,
  areaUnderCurve,
  saliencyOrder,
  randomOrder,
  type PerturbationCurves,
  type CurveOptions,
} from './curves.js';
export {
  imageFaithfulness,
  summariseFaithfulness,
  FAITHFULNESS_REPORT_SCHEMA,
  type FaithfulnessOptions,
  type ImageFaithfulness,
  type FaithfulnessSummary,
  type FaithfulnessReport,
  type MeanWithCi,
} from './measure.js';
