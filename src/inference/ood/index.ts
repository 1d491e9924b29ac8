/**
 * Out-of-distribution check at inference time (ADR 0080): is this image like the frontal
 * chest radiographs the model was fitted on? Mahalanobis distance of pooled features under a
 * Ledoit–Wolf covariance, with the statistics a model package ships. Fitting them from image
 * lists and evaluating the flag live in lifecycle/ood.
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
export { oodCaveat, oodMeaningSchema, type OodMeaning } from './meaning.js';
export { globalAveragePool } from './pooling.js';
