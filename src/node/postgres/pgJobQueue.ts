/**
 * The job queue on PostgreSQL (ADR 0180), with the semantics of the embedded one (ADR 0093):
 * enqueue once per key, claim with a lease token, heartbeat, complete or fail only with the
 * current lease, an expired lease puts the job back, exponential backoff, maxAttempts.
 *
 * Claims take the row with `FOR UPDATE SKIP LOCKED`: concurrent claimers on any host each lock
 * a different row instead of queueing behind one, and a row is never handed out twice because
 * the state change commits with the lock. Times are ms on the database clock unless a clock
 * is injected (tests), so that hosts with drifting clocks agree on when a lease expires.
 */
import { randomUUID } from 'node:crypto';
import {
  JOB_QUEUE_DEFAULTS,
  afterJobFailure,
  type ClaimedJob,
  type JobFailure,
  type Job,
  type JobQueueOptions,
  type JobQueuePort,
  type JobState,
  type NewJob,
} from '../queue/index.js';
import { databaseNow, inTransaction, query, type PgPool, type PgQueryable } from './connection.js';

export interface PgJobQueueOptions extends JobQueueOptions {
  /** The node (process) whose workers claim here; recorded so a stale node's jobs come back. */
  readonly nodeId?: string;
}

interface PgJobRow {
  id: string;
  key: string;
  study_instance_uid: string;
  model: string;
  payload: Record<string, unknown>;
  state: JobState;
  attempts: number;
  max_attempts: number;
  available_at: string;
  worker_id: string | null;
  lease_token: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
  result: Record<string, unknown> | null;
  failed_at: string | null;
}

/** A job that failed for good, with when (database clock, ms; migration 5). */
export type FailedJob = Job & { readonly failedAt: number };

/**
 * One read of what finished since two times (ADR 0189): jobs done since one, jobs failed for
 * good since the other, oldest first, and the database clock when the read began.
 */
/**
 * Where a reader of finished jobs has got to: rows ordered by (time, id) after this one. The id
 * breaks ties of jobs finished in the same millisecond, so a page never ends inside them.
 */
export interface ReadPosition {
  readonly at: number;
  readonly id: number;
}

export interface FinishedJobs {
  readonly at: number;
  readonly done: Job[];
  readonly failed: FailedJob[];
}

/** `$1` if a clock is injected (tests), else the database clock, in ms. Evaluated once per statement via a CTE. */
const CLOCK_MS = `COALESCE($1::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)`;

const numberOrNull = (value: string | null): number | null =>
  value === null ? null : Number(value);

function toJob(row: PgJobRow): Job {
  return {
    id: Number(row.id),
    key: row.key,
    studyInstanceUid: row.study_instance_uid,
    model: row.model,
    payload: row.payload,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    availableAt: Number(row.available_at),
    workerId: row.worker_id,
    leaseExpiresAt: numberOrNull(row.lease_expires_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    completedAt: numberOrNull(row.completed_at),
    result: row.result,
  };
}

export class PgJobQueue implements JobQueuePort {
  private readonly injectedNow: (() => number) | undefined;
  private readonly leaseMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly nodeId: string | null;

  /** `pool` must be migrated (migrate()); the queue does not own it and close() leaves it open. */
  constructor(
    readonly pool: PgPool,
    options: PgJobQueueOptions = {},
  ) {
    this.injectedNow = options.now;
    this.leaseMs = options.leaseMs ?? JOB_QUEUE_DEFAULTS.leaseMs;
    this.backoffBaseMs = options.backoffBaseMs ?? JOB_QUEUE_DEFAULTS.backoffBaseMs;
    this.backoffMaxMs = options.backoffMaxMs ?? JOB_QUEUE_DEFAULTS.backoffMaxMs;
    this.nodeId = options.nodeId ?? null;
  }

  private async now(db: PgQueryable): Promise<number> {
    return this.injectedNow?.() ?? databaseNow(db);
  }

  async enqueue(job: NewJob): Promise<{ job: Job; created: boolean }> {
    const now = await this.now(this.pool);
    // One statement: insert, or return the existing row; `created` tells them apart.
    const result = await query<PgJobRow & { created: boolean }>(
      this.pool,
      'enqueueing a job',
      `WITH inserted AS (
         INSERT INTO jobs (key, study_instance_uid, model, payload, state, max_attempts,
           available_at, created_at, origin_node)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6, $7)
         ON CONFLICT (key) DO NOTHING
         RETURNING *, true AS created)
       SELECT * FROM inserted
       UNION ALL
       SELECT *, false AS created FROM jobs WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [
        job.key,
        job.studyInstanceUid,
        job.model,
        JSON.stringify(job.payload ?? {}),
        job.maxAttempts ?? JOB_QUEUE_DEFAULTS.maxAttempts,
        now,
        // The ingest node whose study it is: retention keeps the job until that node has read
        // its outcome (ADR 0189).
        this.nodeId,
      ],
    );
    const row = result.rows[0];
    if (row !== undefined) return { job: toJob(row), created: row.created };
    // The conflicting row was committed by another transaction after this statement's
    // snapshot was taken: it exists, this statement just could not see it.
    const existing = await this.get(job.key);
    if (existing === undefined) throw new Error(`job ${job.key} neither inserted nor found`);
    return { job: existing, created: false };
  }

  /**
   * Two statements, each its own transaction, the clock read inside them (no round trip of
   * its own): first the jobs whose lease ran out on their last attempt are failed, then the
   * oldest due job is taken. A row another claimer holds is skipped by both, never waited on.
   */
  async claim(workerId: string): Promise<ClaimedJob | undefined> {
    const now = this.injectedNow?.() ?? null;
    await query(
      this.pool,
      'failing jobs whose last lease expired',
      `WITH clock AS MATERIALIZED (SELECT ${CLOCK_MS} AS now),
       exhausted AS (
         SELECT jobs.id FROM jobs, clock
         WHERE state = 'running' AND lease_expires_at <= clock.now AND attempts >= max_attempts
         FOR UPDATE OF jobs SKIP LOCKED)
       UPDATE jobs SET state = 'failed', lease_token = NULL, lease_expires_at = NULL,
         failed_at = clock.now,
         last_error = 'lease of worker ' || COALESCE(worker_id, '?') || ' expired on the last attempt'
       FROM exhausted, clock WHERE jobs.id = exhausted.id`,
      [now],
    );
    const lease = randomUUID();
    const claimed = await query<PgJobRow>(
      this.pool,
      'claiming a job',
      `WITH clock AS MATERIALIZED (SELECT ${CLOCK_MS} AS now),
       candidate AS (
         SELECT jobs.id FROM jobs, clock
         WHERE (state = 'queued' AND available_at <= clock.now)
            OR (state = 'running' AND lease_expires_at <= clock.now AND attempts < max_attempts)
         ORDER BY available_at, id LIMIT 1
         FOR UPDATE OF jobs SKIP LOCKED)
       UPDATE jobs SET state = 'running', attempts = attempts + 1, worker_id = $2,
         node_id = $3, lease_token = $4, lease_expires_at = clock.now + $5
       FROM candidate, clock WHERE jobs.id = candidate.id
       RETURNING jobs.*`,
      [now, workerId, this.nodeId, lease, this.leaseMs],
    );
    const row = claimed.rows[0];
    return row === undefined ? undefined : { job: toJob(row), lease };
  }

  async heartbeat(claimed: ClaimedJob): Promise<boolean> {
    const now = await this.now(this.pool);
    const result = await query(
      this.pool,
      'renewing a job lease',
      `UPDATE jobs SET lease_expires_at = $3
       WHERE id = $1 AND lease_token = $2 AND state = 'running'`,
      [claimed.job.id, claimed.lease, now + this.leaseMs],
    );
    return result.rowCount === 1;
  }

  /**
   * Jobs done and jobs failed for good after two read positions (database clock, ms), at most
   * `limit` of each, in (time, id) order: a reader pages on from the last row it got. What an
   * ingest node reads to learn of analyses other processes ran, and of failures (ADRs 0186,
   * 0189).
   */
  async finishedSince(
    done: ReadPosition,
    failed: ReadPosition,
    limit = 500,
  ): Promise<FinishedJobs> {
    const at = await databaseNow(this.pool);
    const doneRows = await this.finishedAfter('done', done, limit);
    const failedRows = await this.finishedAfter('failed', failed, limit);
    return {
      at,
      done: doneRows.map(toJob),
      failed: failedRows.map((row) => ({ ...toJob(row), failedAt: Number(row.failed_at) })),
    };
  }

  /** Rows of one finished state after a read position, by the time that state was reached. */
  private async finishedAfter(
    state: 'done' | 'failed',
    after: ReadPosition,
    limit: number,
  ): Promise<PgJobRow[]> {
    const time = state === 'done' ? 'completed_at' : 'failed_at';
    // The state is written into the statement, not bound, so that the planner matches the
    // partial indexes jobs_completed and jobs_failed (migrations 3 and 5).
    const result = await query<PgJobRow>(
      this.pool,
      `reading ${state} jobs`,
      `SELECT * FROM jobs WHERE state = '${state}' AND (${time}, id) > ($1, $2)
       ORDER BY ${time}, id LIMIT $3`,
      [after.at, after.id, limit],
    );
    return result.rows;
  }

  async complete(claimed: ClaimedJob, result: Record<string, unknown> = {}): Promise<boolean> {
    return this.completeOn(this.pool, claimed, result);
  }

  /**
   * complete() on a given connection: inside a transaction of the caller's, the job's result
   * files and outbox entries commit with it or not at all (ADR 0193).
   */
  async completeOn(
    db: PgQueryable,
    claimed: ClaimedJob,
    result: Record<string, unknown> = {},
  ): Promise<boolean> {
    // The completion time is the clock of the UPDATE itself, not one read a round trip
    // earlier: readers of completed jobs page by it, and a time taken long before the row
    // commits is a time they may already have passed (ClusterResults reads back a margin).
    const updated = await query(
      db,
      'completing a job',
      `UPDATE jobs SET state = 'done',
         completed_at = COALESCE($3::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint),
         result = $4, lease_token = NULL, lease_expires_at = NULL
       WHERE id = $1 AND lease_token = $2 AND state = 'running'`,
      [claimed.job.id, claimed.lease, this.injectedNow?.() ?? null, JSON.stringify(result)],
    );
    return updated.rowCount === 1;
  }

  async fail(
    claimed: ClaimedJob,
    error: string,
    how: JobFailure = 'counted',
  ): Promise<'queued' | 'failed' | undefined> {
    return inTransaction(this.pool, 'recording a failed job', async (client) => {
      const found = await query<PgJobRow>(
        client,
        'recording a failed job',
        `SELECT * FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE`,
        [claimed.job.id, claimed.lease],
      );
      const row = found.rows[0];
      if (row === undefined) return undefined;
      const now = await this.now(client);
      const next = afterJobFailure(
        { attempts: row.attempts, maxAttempts: row.max_attempts },
        how,
        now,
        { baseMs: this.backoffBaseMs, maxMs: this.backoffMaxMs },
      );
      if (next.state === 'failed') {
        await query(
          client,
          'recording a failed job',
          `UPDATE jobs SET state = 'failed', last_error = $2, lease_token = NULL,
             lease_expires_at = NULL, failed_at = $3 WHERE id = $1`,
          [row.id, error, now],
        );
        return 'failed';
      }
      await query(
        client,
        'recording a failed job',
        `UPDATE jobs SET state = 'queued', last_error = $2, available_at = $3, attempts = $4,
           lease_token = NULL, lease_expires_at = NULL, worker_id = NULL, node_id = NULL
         WHERE id = $1`,
        [row.id, error, next.availableAt, next.attempts],
      );
      return 'queued';
    });
  }

  async release(claimed: ClaimedJob): Promise<boolean> {
    const now = await this.now(this.pool);
    const result = await query(
      this.pool,
      'releasing a job',
      `UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), available_at = $3,
         worker_id = NULL, node_id = NULL, lease_token = NULL, lease_expires_at = NULL
       WHERE id = $1 AND lease_token = $2 AND state = 'running'`,
      [claimed.job.id, claimed.lease, now],
    );
    return result.rowCount === 1;
  }

  async get(key: string): Promise<Job | undefined> {
    const result = await query<PgJobRow>(
      this.pool,
      'reading a job',
      'SELECT * FROM jobs WHERE key = $1',
      [key],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toJob(row);
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    const result = await query<{ state: JobState; n: number }>(
      this.pool,
      'counting jobs',
      'SELECT state, count(*)::integer AS n FROM jobs GROUP BY state',
    );
    for (const row of result.rows) counts[row.state] = row.n;
    return counts;
  }

  /** The pool belongs to whoever opened it; nothing to close here. */
  async close(): Promise<void> {}
}
