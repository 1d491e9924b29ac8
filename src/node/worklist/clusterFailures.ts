/**
 * The ingest node's copy of the failed jobs of its studies on a shared queue (ADR 0189): on
 * the embedded node the worklist lists failed jobs from the local job table; on a shared
 * database that table is in PostgreSQL, so ClusterResults (service/) copies each of this
 * node's failures here and the worklist reads both. Kept for good, like the analysis log, so that retention
 * of the shared queue takes nothing off the worklist.
 */
import type { NodeDatabase } from '../store/index.js';

export interface ClusterFailure {
  readonly jobId: number;
  readonly studyInstanceUid: string;
  /** The job's model reference, as the job names it (`id` or `id@version`). */
  readonly model: string;
  readonly shadow: boolean;
  readonly lastError: string | null;
  /** When the job failed for good (database clock, ms). */
  readonly failedAt: number;
}

/** The table's name, which the worklist reads (worklistSource.ts). */
export const CLUSTER_FAILURES_TABLE = 'cluster_failed_jobs';

export function ensureClusterFailuresSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${CLUSTER_FAILURES_TABLE} (
      job_id INTEGER PRIMARY KEY,
      study_instance_uid TEXT NOT NULL,
      model TEXT NOT NULL,
      shadow INTEGER NOT NULL,
      last_error TEXT,
      failed_at INTEGER NOT NULL
    );
  `);
}

export class ClusterFailures {
  constructor(private readonly db: NodeDatabase) {
    ensureClusterFailuresSchema(db);
  }

  /** Idempotent per job. */
  record(failure: ClusterFailure): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO ${CLUSTER_FAILURES_TABLE}
           (job_id, study_instance_uid, model, shadow, last_error, failed_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        failure.jobId,
        failure.studyInstanceUid,
        failure.model,
        failure.shadow ? 1 : 0,
        failure.lastError,
        failure.failedAt,
      );
  }

  has(jobId: number): boolean {
    return (
      this.db.prepare(`SELECT 1 FROM ${CLUSTER_FAILURES_TABLE} WHERE job_id = ?`).get(jobId) !==
      undefined
    );
  }

  /** When the latest recorded failure happened (ms), 0 when none is. */
  latestFailedAt(): number {
    const row = this.db
      .prepare(`SELECT MAX(failed_at) AS at FROM ${CLUSTER_FAILURES_TABLE}`)
      .get() as { at: number | null };
    return row.at ?? 0;
  }
}
