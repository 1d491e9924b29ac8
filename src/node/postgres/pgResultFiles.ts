/**
 * Result files in the shared database (ADR 0193, migration 7): what a worker without a shared
 * folder wrote for a job — SR, SC, Parametric Map, FHIR bundle, heatmap PNGs, analysis.json —
 * committed in the same transaction as the job's completion and its outbox entries. A
 * completion the queue refuses (the lease was lost: the job runs elsewhere, ADR 0185) rolls
 * back, so no file and no entry of it exists; a worker killed before it commits leaves nothing.
 * Senders read a file by (job id, name); an ingest node copies a job's files into its own data
 * directory. Retention removes them once read and delivered (retention.ts).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import {
  checkResultFileName,
  sha256Hex,
  type OutboxItem,
  type ResultFile,
  type ResultFileRef,
  type ResultFilesPort,
} from '../delivery/index.js';
import type { ClaimedJob } from '../queue/index.js';
import { inTransaction, query, type PgPool } from './connection.js';
import type { PgJobQueue } from './pgJobQueue.js';
import type { PgOutbox } from './pgOutbox.js';

interface FileRow {
  name: string;
  sha256: string;
  bytes: Buffer;
}

function checked(jobId: number, row: FileRow): Buffer {
  if (sha256Hex(row.bytes) !== row.sha256) {
    throw new RadiolensError(
      'E_DATABASE',
      `result file ${row.name} of job ${jobId} does not match the digest written with it — the row was altered; restore it from a backup or run the study again`,
    );
  }
  return row.bytes;
}

export class PgResultFiles implements ResultFilesPort {
  /** `pool` must be migrated; the queue and outbox are the ones on the same pool. */
  constructor(
    readonly pool: PgPool,
    private readonly queue: PgJobQueue,
    private readonly outbox: PgOutbox,
  ) {}

  async complete(
    claimed: ClaimedJob,
    result: Record<string, unknown>,
    files: readonly ResultFile[],
    items: readonly OutboxItem[],
  ): Promise<boolean> {
    for (const file of files) checkResultFileName(file.name);
    const jobId = claimed.job.id;
    return inTransaction(this.pool, 'completing a job with its result files', async (client) => {
      // The fenced UPDATE first: a late completion changes nothing and writes no file.
      if (!(await this.queue.completeOn(client, claimed, result))) return false;
      // A job completes once; rows of it can only be left by a test that wrote them by hand.
      await query(client, 'writing result files', 'DELETE FROM result_files WHERE job_id = $1', [
        jobId,
      ]);
      for (const file of files) {
        await query(
          client,
          'writing result files',
          `INSERT INTO result_files (job_id, name, size, sha256, bytes) VALUES ($1, $2, $3, $4, $5)`,
          [jobId, file.name, file.bytes.length, sha256Hex(file.bytes), file.bytes],
        );
      }
      await this.outbox.enqueueOn(client, items);
      return true;
    });
  }

  async read(ref: ResultFileRef): Promise<Buffer | undefined> {
    const result = await query<FileRow>(
      this.pool,
      'reading a result file',
      'SELECT name, sha256, bytes FROM result_files WHERE job_id = $1 AND name = $2',
      [ref.jobId, ref.name],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : checked(ref.jobId, row);
  }

  async list(jobId: number): Promise<ResultFile[]> {
    const result = await query<FileRow>(
      this.pool,
      'reading result files',
      'SELECT name, sha256, bytes FROM result_files WHERE job_id = $1 ORDER BY name',
      [jobId],
    );
    return result.rows.map((row) => ({
      name: checkResultFileName(row.name),
      bytes: checked(jobId, row),
    }));
  }
}
