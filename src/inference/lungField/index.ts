export {
  LUNG_GRID,
  LUNG_FIELD_RULE,
  lungFieldOf,
  largestComponent,
  boxToSource,
  cropGrey,
  lungMaskAt,
  heatmapInLungs,
  heatmapInLungMask,
  lungFieldPlacement,
  zeroOutsideBox,
  type LungField,
  type LungStatistics,
  type LungFieldReason,
  type LungFieldReasonCode,
  type LungProbabilities,
  type SourceBox,
  type HeatmapInLungs,
} from './procedure.js';
export { LungSegmenter, type SegmentedLungs, type SegmentOptions } from './lungSegmenter.js';
export { edgeGuardBox, guardEdges } from './edgeGuard.js';
export {
  classifierInput,
  heatmapOver,
  clipToBox,
  heatmapLungShare,
  regionPackageOf,
  type ClassifierInput,
} from './classifierInput.js';
