/**
 * The shared DICOM store of a cluster (ADR 0187): Orthanc with its PostgreSQL plugins, written
 * by STOW-RS at ingest and read by WADO-RS in the workers, instead of a shared folder.
 */
export {
  SHARED_STORE_URL_ENV,
  parseSharedStore,
  sharedSourceFor,
  sharedSourceOf,
  sharedStoreHeaders,
  sharedStoreLabel,
  type SharedStore,
  type SharedStudySource,
} from './sharedStore.js';
export { storeStudy, type StoredStudy, type StudyInstanceFile } from './storeStudy.js';
export { fetchStudy, type FetchedStudy } from './fetchStudy.js';
