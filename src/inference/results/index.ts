/**
 * Results layer (ARCHITECTURE.md layer 4): turns an analysis into objects that go back into the
 * source study and the EHR — DICOM SR (TID 1500), a Secondary Capture overlay and a FHIR R4
 * Bundle — each with deterministic identifiers so a retried job never duplicates.
 */
export type {
  AlgorithmIdentity,
  AnalysisRecord,
  CodedConcept,
  ContributingAlgorithm,
  DicomDataset,
  DisplayImage,
  FindingExplanation,
  FindingResult,
  Heatmap,
  ImageRegion,
  SourceImage,
} from './types.js';
export {
  writeMeasurementReport,
  COMPREHENSIVE_SR_STORAGE,
  type MeasurementReport,
} from './measurementReport.js';
export {
  writeSecondaryCapture,
  SECONDARY_CAPTURE_IMAGE_STORAGE,
  type SecondaryCapture,
  type SecondaryCaptureInput,
} from './secondaryCapture.js';
export {
  renderOverlayRgb,
  findingLabel,
  DEFAULT_BANNER,
  DEFAULT_LEGEND,
  type OverlayInput,
  type OverlayRgb,
} from './overlay.js';
export {
  writeParametricMap,
  PARAMETRIC_MAP_STORAGE,
  type ParametricMap,
  type ParametricMapInput,
} from './parametricMap.js';
export {
  buildFhirBundle,
  deriveUuid,
  isAbsoluteUri,
  issuerSystem,
  type FhirBundleOptions,
} from './fhirBundle.js';
export { checkCopiedAttributes } from './commonModules.js';
export {
  resultSeriesUid,
  resultInstanceUid,
  trackingUid,
  deviceObserverUid,
} from './resultUids.js';
export { resultSeriesNumber, resultSeriesDescription } from './resultSeries.js';
export { modelName, shortened, withIntactSuffix } from './fitting.js';
export {
  heatmapRegion,
  wholeImageRegion,
  REGION_LEVEL,
  MAX_REGION_FRACTION,
} from './findingRegion.js';
export { VIRIDIS_RGB, viridis } from './colormap.js';
export {
  dicomArtifacts,
  sortArtifacts,
  MEDIA_TYPE,
  type ArtifactKind,
  type DicomArtifactIdentity,
  type HeatmapArtifactInfo,
  type ResultArtifact,
} from './artifacts.js';
export {
  encodeHeatmapPng,
  HEATMAP_PNG_FULL_SCALE,
  type HeatmapPng,
  type HeatmapRowSource,
} from './heatmapPng.js';
