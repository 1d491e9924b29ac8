/**
 * Post-market monitoring (ADRs 0087, 0088): drift of inputs, outputs and feedback against the
 * reference a model package carries, and the live performance of a model run in shadow mode.
 */
export {
  imagesOfAnalysis,
  readAnalysisFile,
  readAnalysisFolder,
  type AnalysedImage,
} from './analysisRecords.js';
export {
  ABSENT,
  monitoredFeatures,
  noTruth,
  type FeatureGroup,
  type MonitoredFeature,
  type TruthLookup,
} from './features.js';
export {
  buildDriftReference,
  loadPackageDriftReference,
  parseDriftReference,
  DRIFT_REFERENCE_FILE,
  DRIFT_REFERENCE_SCHEMA,
  type DriftReference,
  type ReferenceFeature,
} from './reference.js';
export { detectDrift, type DriftOptions, type DriftReport, type DriftTest } from './drift.js';
export { renderDriftHtml } from './driftHtml.js';
export {
  categoricalHomogeneity,
  fisherExact,
  holm,
  jensenShannonDistance,
  kolmogorovSmirnov,
  populationStabilityIndex,
  type CategoricalTestResult,
  type HolmDecision,
  type TestResult,
} from './statisticalTests.js';
export {
  readRadiologistAnswers,
  ACCESSION_COLUMN,
  STUDY_COLUMN,
  type RadiologistAnswers,
  type StudyAnswer,
} from './answers.js';
export {
  buildPilotReport,
  periodOf,
  pilotRocCurve,
  type PilotCase,
  type PilotLabelReport,
  type PilotPeriod,
  type PilotReport,
  type PilotStudy,
} from './pilot.js';
export { renderPilotHtml } from './pilotHtml.js';
export { selectWindow } from './window.js';
export { computeDriftReference, type ReferenceImagesRequest } from './computeReference.js';
