/**
 * The node's durable instance store (ADRs 0090–0092): original bytes content-addressed on
 * disk, an index in the embedded SQLite node database, and study stability derived from it.
 */
export { openNodeDatabase, DATABASE_FILE_NAME, type NodeDatabase } from './database.js';
export { sha256Hex, objectRelativePath } from './objectFiles.js';
export {
  InstanceStore,
  type ReceivedFrom,
  type InstanceRecord,
  type StoreOutcome,
  type StoreResult,
  type StudySummary,
} from './instanceStore.js';
export {
  StudyStabilityTimer,
  type StableStudy,
  type StudyStabilityOptions,
  type StableStudyHandler,
} from './studyStability.js';
