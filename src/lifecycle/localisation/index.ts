/**
 * Localisation, measured (issue #11, ADR 0084): where a model's heatmap lies — the pointing
 * game and energy share against annotated regions, energy and peaks inside the lung field,
 * peaks in the border band — next to a uniformly random and a centre-weighted heatmap.
 */
export {
  boxesToMask,
  readMaskFile,
  areaShare,
  requireSameSize,
  type Box,
  type RegionMask,
} from './regions.js';
export { boxesFromCsv, masksFrom, type RegionSource } from './annotations.js';
export {
  lungFieldFromMasks,
  lungFieldFromProbabilities,
  type LungFieldSource,
} from './lungField.js';
export { explainImage, type ExplainedScore } from './modelHeatmap.js';
export {
  BORDER_BAND,
  CENTRE_SIGMA,
  borderBandShare,
  centreWeightedMap,
  energyShare,
  inBorderBand,
  localiseImage,
  peakOf,
  type ImageLocalisation,
  type Point,
} from './measure.js';
export {
  summariseLocalisation,
  type LocalisationSummary,
  type Rate,
  type SharesOf,
} from './summary.js';
export { runLocalisation, type LocalisationItem, type LocalisationRun } from './run.js';
export {
  buildLocalisationReport,
  renderLocalisationHtml,
  LOCALISATION_REPORT_SCHEMA,
  LOCALISATION_TARGETS,
  type LocalisationReport,
  type TargetCheck,
} from './report.js';
