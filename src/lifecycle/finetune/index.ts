/**
 * Local adaptation: head fine-tuning of a GAP + linear model on a site's labelled images
 * (ADRs 0070-0074). Everything public lives here.
 */
export {
  finetuneHead,
  FINETUNE_RECIPE,
  VERIFY_TOLERANCE,
  type FinetuneOptions,
  type FinetuneResult,
} from './finetune.js';
export { formatFinetuneSummary } from './summary.js';
export {
  fitLogisticRegression,
  balancedClassWeights,
  sigmoid,
  logLossOfLogit,
  solveSymmetric,
  type LogisticOptions,
  type LogisticFit,
  type LogisticIteration,
} from './logistic.js';
export {
  fitHead,
  logitOf,
  DEFAULT_L2_GRID,
  type HeadFit,
  type HeadCandidate,
  type LabelledFeatures,
} from './headFit.js';
export {
  splitByPatient,
  patientKey,
  DEFAULT_SPLIT_FRACTIONS,
  type PatientSplit,
  type SplitFractions,
  type SplitName,
} from './patientSplit.js';
export { siteDatasetVersion, type DatasetVersion } from './datasetVersion.js';
export { readLinearHead, headRow, replaceHeadRow, type LinearHead } from './head.js';
export { readSiteLabels, writeSiteLabels, type SiteImage, type SiteTable } from './siteData.js';
