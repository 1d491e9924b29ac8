/**
 * The job queue as an asynchronous port (ADR 0180): what a worker needs from a queue,
 * whichever database holds it. The embedded SQLite queue (jobQueue.ts, synchronous) is
 * wrapped by sqliteJobQueuePort; the PostgreSQL queue (node/postgres) implements it
 * directly. One contract suite (test/support/queueContracts.ts) runs against both.
 */
import type { ClaimedJob, Job, JobFailure, JobQueue, JobState, NewJob } from './jobQueue.js';

export interface JobQueuePort {
  /** Adds a job unless one with the same key exists (in any state). */
  enqueue(job: NewJob): Promise<{ job: Job; created: boolean }>;
  /** The oldest ready job, or one whose lease expired; undefined when there is none. */
  claim(workerId: string): Promise<ClaimedJob | undefined>;
  /** Extends the lease; false when it is no longer held. */
  heartbeat(claimed: ClaimedJob): Promise<boolean>;
  /** Marks the job done; false (changing nothing) when the lease is no longer held. */
  complete(claimed: ClaimedJob, result?: Record<string, unknown>): Promise<boolean>;
  /**
   * Retry after backoff or give up after maxAttempts (`how`: whether the attempt counts, or
   * retrying cannot help; default counted); undefined when the lease is lost.
   */
  fail(
    claimed: ClaimedJob,
    error: string,
    how?: JobFailure,
  ): Promise<'queued' | 'failed' | undefined>;
  /** Gives a claimed job back without counting the attempt. */
  release(claimed: ClaimedJob): Promise<boolean>;
  get(key: string): Promise<Job | undefined>;
  counts(): Promise<Record<JobState, number>>;
  close(): Promise<void>;
}

/**
 * The embedded queue behind the port: every call runs synchronously; async so that a thrown
 * error becomes a rejection, as it would from the PostgreSQL queue.
 */
export function sqliteJobQueuePort(queue: JobQueue): JobQueuePort {
  return {
    enqueue: async (job) => queue.enqueue(job),
    claim: async (workerId) => queue.claim(workerId),
    heartbeat: async (claimed) => queue.heartbeat(claimed),
    complete: async (claimed, result) => queue.complete(claimed, result),
    fail: async (claimed, error, how) => queue.fail(claimed, error, how),
    release: async (claimed) => queue.release(claimed),
    get: async (key) => queue.get(key),
    counts: async () => queue.counts(),
    close: async () => queue.close(),
  };
}
