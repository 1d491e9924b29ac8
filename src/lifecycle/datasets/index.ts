/** Content-addressed, versioned, de-identified datasets (ADR 0067). */
export {
  createDataset,
  verifyDataset,
  contentAddressedSink,
  objectPath,
  type CreateDatasetRequest,
  type CreatedDataset,
} from './create.js';
export {
  canonicalJson,
  datasetVersion,
  parseManifest,
  MANIFEST_SCHEMA,
  type DatasetInstance,
  type DatasetManifest,
} from './manifest.js';
export { loadLabels, type LabelTable } from './labels.js';
