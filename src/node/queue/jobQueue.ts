/**
 * JobQueue: a durable job queue in the node database (ADR 0093). A job is enqueued once per
 * key (study + model id@version); a worker claims it with a lease it must renew; a lease that
 * expires (worker crashed or was SIGKILLed) puts the job back for another worker. Only the
 * holder of the current lease can complete or fail a job, so a job is completed exactly once
 * even when a presumed-dead worker wakes up later.
 */
import { randomUUID } from 'node:crypto';
import { openNodeDatabase, type NodeDatabase } from '../store/index.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface NewJob {
  /** Idempotency key; by convention `${studyInstanceUid}|${modelId}@${modelVersion}`. */
  readonly key: string;
  readonly studyInstanceUid: string;
  /** `id@version` of the model the job runs. */
  readonly model: string;
  /** Anything else the worker needs; stored as JSON. */
  readonly payload?: Record<string, unknown>;
  /** Attempts before the job is given up as failed; default 5. */
  readonly maxAttempts?: number;
}

export interface Job {
  readonly id: number;
  readonly key: string;
  readonly studyInstanceUid: string;
  readonly model: string;
  readonly payload: Record<string, unknown>;
  readonly state: JobState;
  /** Claims so far, including the current one. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly availableAt: number;
  readonly workerId: string | null;
  readonly leaseExpiresAt: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly completedAt: number | null;
  readonly result: Record<string, unknown> | null;
}

/** A claimed job and the lease token that proves the claim. */
export interface ClaimedJob {
  readonly job: Job;
  readonly lease: string;
}

export interface JobQueueOptions {
  /** How long a claim lasts without a heartbeat; default 30 s. */
  readonly leaseMs?: number;
  /** First retry delay; doubled each attempt; default 1 s. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay; default 10 min. */
  readonly backoffMaxMs?: number;
  readonly now?: () => number;
}

/**
 * The queue's defaults, shared by every backend (SQLite here, PostgreSQL in node/postgres) so
 * that they keep one contract: the same lease, the same retries.
 */
export const JOB_QUEUE_DEFAULTS = {
  leaseMs: 30_000,
  backoffBaseMs: 1000,
  backoffMaxMs: 600_000,
  maxAttempts: 5,
} as const;

/** The wait before a failed job's next try: doubled per attempt from base, capped at max. */
export function jobRetryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (attempts - 1));
}

/**
 * How a failure counts (ADR 0187): `counted` — the job's own attempt failed, retried with
 * backoff until maxAttempts; `uncounted` — something the job depends on is away (the shared
 * DICOM store is unreachable), retried after the longest backoff without using up an attempt,
 * so a store down for an hour fails no study; `final` — retrying cannot help (the study is
 * not in the store), failed at once.
 */
export type JobFailure = 'counted' | 'uncounted' | 'final';

/**
 * The state and availability after a failure: the one rule both backends apply. `attempts`
 * is the row's count including the attempt that failed.
 */
export function afterJobFailure(
  row: { attempts: number; maxAttempts: number },
  how: JobFailure,
  now: number,
  backoff: { baseMs: number; maxMs: number },
): { state: 'failed' } | { state: 'queued'; attempts: number; availableAt: number } {
  if (how === 'final' || (how === 'counted' && row.attempts >= row.maxAttempts)) {
    return { state: 'failed' };
  }
  if (how === 'uncounted') {
    return {
      state: 'queued',
      attempts: Math.max(row.attempts - 1, 0),
      availableAt: now + jobRetryDelay(row.maxAttempts, backoff.baseMs, backoff.maxMs),
    };
  }
  return {
    state: 'queued',
    attempts: row.attempts,
    availableAt: now + jobRetryDelay(row.attempts, backoff.baseMs, backoff.maxMs),
  };
}

export function jobKey(studyInstanceUid: string, modelId: string, modelVersion: string): string {
  return `${studyInstanceUid}|${modelId}@${modelVersion}`;
}

interface JobRow {
  id: number;
  key: string;
  study_instance_uid: string;
  model: string;
  payload: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
  available_at: number;
  worker_id: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  completed_at: number | null;
  result: string | null;
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    key: row.key,
    studyInstanceUid: row.study_instance_uid,
    model: row.model,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    availableAt: row.available_at,
    workerId: row.worker_id,
    leaseExpiresAt: row.lease_expires_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    result: row.result === null ? null : (JSON.parse(row.result) as Record<string, unknown>),
  };
}

export function ensureQueueSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS jobs (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL UNIQUE,
      study_instance_uid TEXT NOT NULL,
      model TEXT NOT NULL,
      payload TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL,
      available_at INTEGER NOT NULL,
      worker_id TEXT,
      lease_token TEXT,
      lease_expires_at INTEGER,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      completed_at INTEGER,
      result TEXT
    );
    CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (state, available_at);
    -- Retention (ADR 0189) removes done jobs by age without a scan.
    CREATE INDEX IF NOT EXISTS jobs_done ON jobs (completed_at) WHERE state = 'done';
  `);
}

export class JobQueue {
  private readonly now: () => number;
  private readonly leaseMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  constructor(
    readonly db: NodeDatabase,
    options: JobQueueOptions = {},
    private readonly ownsDatabase = false,
  ) {
    this.now = options.now ?? Date.now;
    this.leaseMs = options.leaseMs ?? JOB_QUEUE_DEFAULTS.leaseMs;
    this.backoffBaseMs = options.backoffBaseMs ?? JOB_QUEUE_DEFAULTS.backoffBaseMs;
    this.backoffMaxMs = options.backoffMaxMs ?? JOB_QUEUE_DEFAULTS.backoffMaxMs;
    ensureQueueSchema(db);
  }

  /** Opens the queue in the node database of dataDir (the same file as the instance store). */
  static open(dataDir: string, options: JobQueueOptions = {}): JobQueue {
    return new JobQueue(openNodeDatabase(dataDir), options, true);
  }

  /**
   * Adds a job unless one with the same key exists (in any state). Returns the job and
   * whether this call created it.
   */
  enqueue(job: NewJob): { job: Job; created: boolean } {
    const now = this.now();
    const result = this.db
      .prepare(
        `INSERT INTO jobs (key, study_instance_uid, model, payload, state, max_attempts,
           available_at, created_at)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
      )
      .run(
        job.key,
        job.studyInstanceUid,
        job.model,
        JSON.stringify(job.payload ?? {}),
        job.maxAttempts ?? JOB_QUEUE_DEFAULTS.maxAttempts,
        now,
        now,
      );
    const row = this.db.prepare('SELECT * FROM jobs WHERE key = ?').get(job.key) as JobRow;
    return { job: toJob(row), created: result.changes === 1 };
  }

  /**
   * Claims the oldest job that is ready, or whose lease has expired. Returns undefined when
   * there is none. A job whose lease expired on its last allowed attempt is marked failed.
   */
  claim(workerId: string): ClaimedJob | undefined {
    const claim = this.db.transaction((): ClaimedJob | undefined => {
      const now = this.now();
      for (;;) {
        const row = this.db
          .prepare(
            `SELECT * FROM jobs
             WHERE (state = 'queued' AND available_at <= ?)
                OR (state = 'running' AND lease_expires_at <= ?)
             ORDER BY available_at, id LIMIT 1`,
          )
          .get(now, now) as JobRow | undefined;
        if (row === undefined) return undefined;
        if (row.state === 'running' && row.attempts >= row.max_attempts) {
          this.db
            .prepare(
              `UPDATE jobs SET state = 'failed', lease_token = NULL, lease_expires_at = NULL,
                 last_error = ? WHERE id = ?`,
            )
            .run(`lease of worker ${row.worker_id ?? '?'} expired on the last attempt`, row.id);
          continue;
        }
        const lease = randomUUID();
        this.db
          .prepare(
            `UPDATE jobs SET state = 'running', attempts = attempts + 1, worker_id = ?,
               lease_token = ?, lease_expires_at = ? WHERE id = ?`,
          )
          .run(workerId, lease, now + this.leaseMs, row.id);
        const claimed = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(row.id) as JobRow;
        return { job: toJob(claimed), lease };
      }
    });
    // IMMEDIATE: take the write lock before reading, so two processes never claim one job.
    return claim.immediate();
  }

  /** Extends the lease; false when it is no longer held (expired and claimed by another). */
  heartbeat(claimed: ClaimedJob): boolean {
    const now = this.now();
    const result = this.db
      .prepare(
        `UPDATE jobs SET lease_expires_at = ?
         WHERE id = ? AND lease_token = ? AND state = 'running'`,
      )
      .run(now + this.leaseMs, claimed.job.id, claimed.lease);
    return result.changes === 1;
  }

  /**
   * Marks the job done. Returns false, changing nothing, when the lease is no longer held:
   * another worker owns the job now and will complete it, and the caller must discard
   * (not deliver) its own result.
   */
  complete(claimed: ClaimedJob, result: Record<string, unknown> = {}): boolean {
    const changes = this.db
      .prepare(
        `UPDATE jobs SET state = 'done', completed_at = ?, result = ?, lease_token = NULL,
           lease_expires_at = NULL WHERE id = ? AND lease_token = ? AND state = 'running'`,
      )
      .run(this.now(), JSON.stringify(result), claimed.job.id, claimed.lease).changes;
    return changes === 1;
  }

  /**
   * Records a failure: the job is retried after an exponential backoff
   * (base × 2^(attempts−1), capped), or marked failed after maxAttempts; `how` says whether
   * the attempt counts at all (afterJobFailure). Returns the state it went to, or undefined
   * when the lease was no longer held.
   */
  fail(
    claimed: ClaimedJob,
    error: string,
    how: JobFailure = 'counted',
  ): 'queued' | 'failed' | undefined {
    const fail = this.db.transaction((): 'queued' | 'failed' | undefined => {
      const row = this.db
        .prepare(`SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'`)
        .get(claimed.job.id, claimed.lease) as JobRow | undefined;
      if (row === undefined) return undefined;
      const next = afterJobFailure(
        { attempts: row.attempts, maxAttempts: row.max_attempts },
        how,
        this.now(),
        { baseMs: this.backoffBaseMs, maxMs: this.backoffMaxMs },
      );
      if (next.state === 'failed') {
        this.db
          .prepare(
            `UPDATE jobs SET state = 'failed', last_error = ?, lease_token = NULL,
               lease_expires_at = NULL WHERE id = ?`,
          )
          .run(error, row.id);
        return 'failed';
      }
      this.db
        .prepare(
          `UPDATE jobs SET state = 'queued', last_error = ?, available_at = ?, attempts = ?,
             lease_token = NULL, lease_expires_at = NULL, worker_id = NULL WHERE id = ?`,
        )
        .run(error, next.availableAt, next.attempts, row.id);
      return 'queued';
    });
    return fail.immediate();
  }

  /**
   * Gives a claimed job back without counting the attempt: a graceful shutdown that could not
   * finish it in time. It is ready again at once. Returns false when the lease was no longer
   * held (another worker owns the job).
   */
  release(claimed: ClaimedJob): boolean {
    const changes = this.db
      .prepare(
        `UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), available_at = ?,
           worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
         WHERE id = ? AND lease_token = ? AND state = 'running'`,
      )
      .run(this.now(), claimed.job.id, claimed.lease).changes;
    return changes === 1;
  }

  /**
   * Expires every lease at once. Only for a node that holds its data directory's lock at
   * start-up: then no live worker can hold a lease, so waiting for them to run out would only
   * delay the jobs a crashed predecessor left running. Returns how many were expired; their
   * next claim counts as a new attempt, as after a lease timeout.
   */
  expireAllLeases(): number {
    return this.db
      .prepare(
        `UPDATE jobs SET lease_expires_at = ? WHERE state = 'running' AND lease_expires_at > ?`,
      )
      .run(this.now(), this.now()).changes;
  }

  /**
   * Retention (ADR 0189): removes up to `limit` jobs done before `before` (ms), oldest first;
   * returns how many. One short transaction per call: the caller loops. Failed jobs are never
   * removed: the worklist lists them from here. A study declared stable again after its job
   * was removed would be analysed again; stability is declared once per content, long before.
   */
  pruneDone(before: number, limit: number): number {
    return this.db
      .prepare(
        `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
           WHERE state = 'done' AND completed_at < ? ORDER BY completed_at LIMIT ?)`,
      )
      .run(before, limit).changes;
  }

  get(key: string): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE key = ?').get(key) as JobRow | undefined;
    return row === undefined ? undefined : toJob(row);
  }

  /** Jobs by state, for health endpoints and tests. */
  counts(): Record<JobState, number> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as {
      state: JobState;
      n: number;
    }[];
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  close(): void {
    if (this.ownsDatabase) this.db.close();
  }
}
