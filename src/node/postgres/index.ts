/**
 * The node's coordination on a shared PostgreSQL database (ADRs 0180–0182): a pool with coded
 * errors, versioned migrations applied at start, the job queue and the outbox behind the same
 * ports as the embedded SQLite ones, and the node lease that replaces the data-directory lock
 * when several nodes share one database; the membership (lease beat, counts for /health) that
 * `radiolens serve --database` and `radiolens worker` hold, `cluster status`, retention of
 * finished jobs and delivered outbox entries (ADR 0189); one job per study across ingest nodes
 * (study parts and their assembly, ADR 0192); the reading room's users, sessions, answers,
 * audit chain and study-key secret (ADR 0188), and its login throttle (ADR 0194).
 */
export {
  openPostgresPool,
  redactUrl,
  databaseError,
  connectionLost,
  inTransaction,
  databaseNow,
  type PgPool,
  type PgClient,
  type PostgresOptions,
} from './connection.js';
export {
  migrate,
  schemaVersion,
  migrationChecksum,
  MIGRATIONS,
  MIGRATION_LOCK_KEY,
  type Migration,
  type MigrationResult,
} from './migrations.js';
export {
  PgJobQueue,
  type PgJobQueueOptions,
  type FailedJob,
  type FinishedJobs,
  type ReadPosition,
} from './pgJobQueue.js';
export { PgOutbox, type PgOutboxOptions } from './pgOutbox.js';
export { PgResultFiles } from './pgResultFiles.js';
export {
  NodeLease,
  reclaimStaleNodes,
  listNodes,
  type NodeLeaseOptions,
  type NodeRole,
  type NodeRow,
  type Reclaimed,
} from './nodeLease.js';
export {
  ClusterMember,
  type ClusterEvent,
  type ClusterMemberOptions,
  type ClusterSnapshot,
} from './clusterMember.js';
export {
  pruneCluster,
  latestPruneRun,
  recordResultsRead,
  recordedResultsRead,
  missedResults,
  DEFAULT_PRUNE_POLICY,
  RETENTION_DEFAULT_DAYS,
  PRUNE_LOCK_KEY,
  type PrunePolicy,
  type PruneOptions,
  type PruneReport,
  type PruneRun,
  type UnreadJobs,
} from './retention.js';
export {
  StudyAssembly,
  assembledInstances,
  pruneStudyParts,
  ASSEMBLY_LOCK_CLASS,
  type ArrivingPart,
  type StablePart,
  type AssembledPart,
  type Assembly,
  type PartFacts,
  type StudyAssemblyOptions,
  type StudyPartSource,
} from './studyAssembly.js';
export { readClusterStatus, formatClusterStatus, type ClusterStatus } from './clusterStatus.js';
export { PgUserStore, PgSessionStore } from './pgUsers.js';
export { PgFeedbackStore } from './pgFeedback.js';
export { PgAuditChain } from './pgAuditChain.js';
export { sharedSecret, STUDY_KEY_SECRET } from './sharedSecrets.js';
export {
  PgLoginThrottle,
  LOGIN_THROTTLE_SECRET,
  type PgLoginThrottleOptions,
} from './pgLoginThrottle.js';
