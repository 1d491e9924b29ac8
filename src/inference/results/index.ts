/**
 * Results layer (ARCHITECTURE.md layer 4): turns an analysis into objects that go back into the
 * source study and the EHR — DICOM SR (TID 1500), a Secondary Capture overlay and a FHIR R4
 * Bundle — each with deterministic identifiers so a retried job never duplicates.
 */
export type {
  AlgorithmIdentity,
  AnalysisRecord,
  CodedConcept,
  DicomDataset,
  DisplayImage,
  FindingResult,
  Heatmap,
  SourceImage,
} from './types.js';
export {
  writeMeasurementReport,
  COMPREHENSIVE_SR_STORAGE,
  SR_SERIES_NUMBER,
  type MeasurementReport,
} from './measurementReport.js';
export {
  writeSecondaryCapture,
  SECONDARY_CAPTURE_IMAGE_STORAGE,
  SC_SERIES_NUMBER,
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
  buildFhirBundle,
  deriveUuid,
  isAbsoluteUri,
  issuerSystem,
  type FhirBundleOptions,
} from './fhirBundle.js';
export {
  resultSeriesUid,
  resultInstanceUid,
  trackingUid,
  deviceObserverUid,
} from './resultUids.js';
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
export { encodeHeatmapPng, HEATMAP_PNG_FULL_SCALE, type HeatmapPng } from './heatmapPng.js';
