/**
 * DICOMweb reads from the node's own store (ADR 0170): QIDO-RS search and WADO-RS retrieve
 * of instances, metadata, frames and bulk data, so that a viewer can read a study from
 * Radiolens alone. STOW-RS (writing) lives in ingest/stow.
 */
export {
  createDicomWebReadRoutes,
  matchReadRoute,
  type DicomWebAccess,
  type DicomWebReadOptions,
  type DicomWebReadRoutes,
} from './routes.js';
export { encodeDicomJson, type DicomJsonDataset, type DicomJsonAttribute } from './dicomJson.js';
export { DicomWebIndex } from './metadataIndex.js';
