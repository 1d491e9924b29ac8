/**
 * Out-of-distribution check (ADR 0080): is this image like the frontal chest radiographs the
 * model was fitted on? Mahalanobis distance of pooled features under a Ledoit–Wolf covariance.
 */
export {
  ledoitWolf,
  cholesky,
  invertSpd,
  mahalanobis,
  columnMeans,
  type ShrunkCovariance,
} from './covariance.js';
export {
  fitOodStatistics,
  oodFlag,
  percentileOf,
  parseOodStatistics,
  readOodStatistics,
  serialiseOodStatistics,
  writeOodStatistics,
  OOD_STATISTICS_SCHEMA,
  type OodStatistics,
  type OodFitOptions,
  type OodFlag,
} from './statistics.js';
export { loadPackageOodStatistics, oodFlagFor } from './packageStatistics.js';
export {
  extractPooledFeatures,
  globalAveragePool,
  readGreyImage,
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
} from './evaluate.js';
