/**
 * Durable job queue in the node database (ADR 0093): idempotent enqueue by key, leased
 * claims with heartbeats, retries with exponential backoff, lease expiry re-queues the jobs
 * of a dead worker, and only the current lease holder can complete a job.
 */
export {
  JobQueue,
  jobKey,
  JOB_QUEUE_DEFAULTS,
  jobRetryDelay,
  afterJobFailure,
  type JobFailure,
  ensureQueueSchema,
  type Job,
  type JobState,
  type NewJob,
  type ClaimedJob,
  type JobQueueOptions,
} from './jobQueue.js';
export { sqliteJobQueuePort, type JobQueuePort } from './jobQueuePort.js';
