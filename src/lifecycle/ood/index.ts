/**
 * Fitting and evaluating the out-of-distribution check (ADR 0080): pooled features of image
 * lists, and how often the flag fires on sets of known origin. The check itself (statistics,
 * Mahalanobis distance, the flag) is inference/ood.
 */
export {
  extractPooledFeatures,
  readImageList,
  type ImageFeatures,
  type ImageList,
} from './features.js';
export {
  evaluateOodSet,
  wilson,
  OOD_REPORT_SCHEMA,
  type OodSetResult,
  type OodReport,
  type OodVariantResult,
} from './evaluate.js';
export {
  oodErrorAnalysis,
  oodDetection,
  type LabelledDistance,
  type OodErrorAnalysis,
  type OodDetection,
  type RateWithCi,
  type AucWithCi,
} from './errorAnalysis.js';
export { oodMeaningFrom, renderOodReportHtml } from './meaning.js';
