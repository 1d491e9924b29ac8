/**
 * Clinical validation: ROC statistics with CIs, operating points, calibration, subgroups,
 * MRMC reader studies, and the validation report. Everything public lives here.
 */
export {
  chiSquareSurvival,
  fCdf,
  fQuantile,
  fSurvival,
  logGamma,
  normalCdf,
  normalQuantile,
  normalTwoSidedP,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
} from './distributions.js';
export {
  checkOutcomes,
  requireCasesPerClass,
  splitByClass,
  type BinaryOutcomes,
  type ClassScores,
} from './input.js';
export { normalDraw, seededRandom, type RandomSource } from './random.js';
export {
  aucWithDelong,
  delongComponents,
  delongCovariance,
  delongTest,
  empiricalAuc,
  midranks,
  rocCurve,
  type AucEstimate,
  type DelongComparison,
  type DelongComponents,
  type Interval,
  type RocPoint,
} from './roc.js';
export {
  bootstrapAucCi,
  bootstrapAucDifferenceCi,
  DEFAULT_BOOTSTRAP_SEED,
  percentileInterval,
  quantileSorted,
  rocConfidenceBand,
  stratifiedBootstrap,
  type BootstrapOptions,
  type RocBandPoint,
} from './bootstrap.js';
export {
  confusionAt,
  operatingPoint,
  selectThreshold,
  tuneOperatingPoint,
  wilsonInterval,
  type ConfusionMatrix,
  type OperatingPoint,
  type Proportion,
  type ThresholdTarget,
  type TunedOperatingPoint,
} from './operatingPoint.js';
export {
  calibration,
  type Calibration,
  type CalibrationConsistency,
  type ReliabilityBin,
} from './calibration.js';
export {
  ageBand,
  DEFAULT_AGE_EDGES,
  MISSING_SUBGROUP,
  subgroupAnalysis,
  subgroupMetrics,
  type AucSummary,
  type SubgroupAnalysis,
  type SubgroupColumn,
  type SubgroupMetrics,
  type SubgroupOptions,
  type SubgroupRow,
} from './subgroups.js';
export {
  mrmcAnalysis,
  type ModalityAucCi,
  type MrmcCovarianceMethod,
  type MrmcReading,
  type MrmcResult,
  type MrmcTest,
  type TimeSummary,
  type TimeToDiagnosis,
} from './mrmc.js';
export { escapeXml, reliabilityDiagramSvg, rocCurveSvg } from './svg.js';
export { compareModels, type ModelComparisonRow } from './compare.js';
export { renderReportHtml } from './reportHtml.js';
export { htmlPage, estimateHtml, percentHtml } from './htmlPage.js';
export {
  buildValidationReport,
  type LabelValidation,
  type ValidationLabel,
  type ValidationModel,
  type ValidationReportJson,
  type ValidationReportOptions,
  type ValidationRow,
} from './report.js';
export {
  MAX_AUTOMATIC_SUBGROUP_VALUES,
  PATIENT_COLUMNS,
  readValidationLabels,
  writeValidationReport,
  type LabelledImage,
} from './labelsCsv.js';
export {
  bootstrapMean,
  bootstrapMeanDifference,
  bootstrapRatio,
  bootstrapReplicates,
  type BootstrappedEstimate,
  type MeanBootstrapOptions,
} from './meanBootstrap.js';
export {
  clusterBootstrap,
  clusteredAuc,
  clusteredDelongTest,
  type ClusterBootstrap,
  type ClusteredAuc,
  type ClusteredComparison,
} from './clustered.js';
