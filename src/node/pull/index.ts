/**
 * Pulling studies from a PACS (ADRs 0105–0107): DIMSE C-FIND + C-GET or DICOMweb QIDO-RS +
 * WADO-RS, original bytes kept, committed only when the whole retrieval succeeded.
 */
export {
  pullStudies,
  studyLogRef,
  DEFAULT_CALLING_AE_TITLE,
  type PullOptions,
  type PullEvent,
  type PulledStudy,
} from './pullStudies.js';
export { parsePullSource, pullSourceLabel, type PullSource, type DicomPeer } from './source.js';
export { describeQuery, type StudyQuery, type StudyMatch } from './query.js';
export type { PullDestination } from './staging.js';
export { findStudiesDimse } from './dimseFind.js';
export { getStudyDimse, storageContextsFor, type GetOutcome } from './dimseGet.js';
export { findStudiesQido, retrieveStudyWado } from './dicomweb.js';
