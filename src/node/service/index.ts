/**
 * The DICOM node (`radiolens serve`, issue #3; ADRs 0110–0114): configuration, routing,
 * jobs from stable studies, workers, the HTTP listener, structured logs and the service
 * that ties them together.
 */
export {
  loadNodeConfig,
  parseAllowFlag,
  nodeConfigFileSchema,
  routeRuleSchema,
  DEFAULTS,
  type NodeConfig,
  type NodeConfigFile,
  type NodeFlags,
  type RouteRule,
  type AllowedCallerConfig,
  HTTP_TOKEN_ENV,
  HARDENING_DEFAULTS,
} from './config.js';
export {
  routeStudy,
  ruleMatches,
  studyFacts,
  AUTO_MODEL,
  type RouteDecision,
  type StudyFacts,
} from './routing.js';
export {
  StudyJobScheduler,
  studyJobKey,
  isShadowJob,
  parseModelRef,
  type StudyJobSchedulerOptions,
} from './jobs.js';
export {
  AnalysisLog,
  readAnalysisLog,
  ensureAnalysisLogSchema,
  type AnalysisLogEntry,
  type AnalysisMode,
} from './analysisLog.js';
export {
  DriftSchedule,
  type DriftCheck,
  type DriftCheckOutcome,
  type DriftHealth,
  type DriftModelState,
  type DriftScheduleOptions,
} from './driftSchedule.js';
export { JobWorker, outboxItemsFor, TEST_DELAY_ENV, type JobWorkerOptions } from './worker.js';
export {
  NodeHttpServer,
  type HealthReport,
  type StowHandler,
  type NodeHttpOptions,
} from './http.js';
export {
  createLogger,
  uidTag,
  scrub,
  type NodeLogger,
  type LogLevel,
  type LogFields,
} from './log.js';
export {
  decideHttpAccess,
  describeHttpAccess,
  sha256OfToken,
  type HttpAccessPolicy,
  type HttpAccessDecision,
} from './httpAccess.js';
export { RateLimitedLog, LOG_LEVEL_ENV } from './log.js';
export { RadiolensNode, type NodeStartOptions, type NodeListeners } from './service.js';
export { clusterConfigOf, DATABASE_URL_ENV, type ClusterConfig } from './config.js';
export {
  loadWorkerConfig,
  WORKER_DEFAULTS,
  type WorkerConfig,
  type WorkerFlags,
} from './workerConfig.js';
export { RadiolensWorker, type WorkerHealth } from './workerNode.js';
export {
  embeddedReadingRoom,
  sharedReadingRoom,
  type ReadingRoomState,
} from './readingRoomState.js';
