/**
 * Where a job worker keeps a job's results until they are delivered, and how the job's
 * completion and its outbox entries are written with them (ADR 0193). Two ways, chosen once
 * per worker:
 *
 * - in its folder (`resultsInFolder`): the files stay in `<dataDir>/results/<job id>`, the
 *   outbox entries name them by path and are written before the completion (ADR 0112; a
 *   re-run finds them there and adds none);
 * - in the shared database (`resultsInDatabase`): the files, the completion and the entries
 *   are one transaction, and the folder is only the analysis's scratch space.
 */
import { rm } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import {
  readResultFolder,
  type OutboxItem,
  type OutboxPort,
  type ResultFilesPort,
} from '../delivery/index.js';
import type { ClaimedJob, JobQueuePort } from '../queue/index.js';

/** Where an analysis's summary and DICOM results lie, as the job's result says (ADR 0186). */
export type ResultLocation =
  | { readonly summary: string; readonly results: readonly string[] }
  | { readonly files: 'database'; readonly summary: string; readonly results: readonly string[] };

export interface ResultKeeping {
  /** Whether a job's results folder is kept after the job (its files are the results). */
  readonly keepsFolder: boolean;
  /** Before the analysis writes into the job's folder. */
  prepare(outDir: string): Promise<void>;
  /** The job's outbox entries before its completion; returns how many are new. */
  queue(items: readonly OutboxItem[]): Promise<number>;
  /** Where the summary and the DICOM results (paths in `outDir`) are found by others. */
  locate(outDir: string, summary: string, results: readonly string[]): ResultLocation;
  /** Completes the job with its result (and, where they go with it, files and entries). */
  complete(
    claimed: ClaimedJob,
    result: Record<string, unknown>,
    items: readonly OutboxItem[],
    outDir: string,
  ): Promise<boolean>;
}

/** The name of a file inside a job's results folder, as the database keeps it. */
function resultName(outDir: string, file: string): string {
  return relative(outDir, file).split(sep).join('/');
}

/**
 * The outbox items naming each output by (job id, name) in the database instead of by path
 * (ADR 0193); `file` keeps where the worker wrote it, for the operator.
 */
export function inDatabase(
  items: readonly OutboxItem[],
  jobId: number,
  outDir: string,
): OutboxItem[] {
  return items.map((item) => ({
    ...item,
    payload: { ...item.payload, result: { jobId, name: resultName(outDir, item.payload.file) } },
  }));
}

/**
 * Results kept in the job's folder, named by absolute path (a node's own folder, or a folder
 * every host of the cluster mounts at the same path). `onQueued` wakes the deliverer.
 */
export function resultsInFolder(
  jobs: JobQueuePort,
  outbox: OutboxPort,
  onQueued: () => void,
): ResultKeeping {
  return {
    keepsFolder: true,
    prepare: () => Promise.resolve(),
    async queue(items) {
      const queued = await outbox.enqueue(items);
      if (items.length > 0) onQueued();
      return queued;
    },
    locate: (_outDir, summary, results) => ({ summary, results }),
    complete: (claimed, result) => jobs.complete(claimed, result),
  };
}

/** Results committed into the shared database with the job's completion (ADR 0193). */
export function resultsInDatabase(files: ResultFilesPort, onQueued: () => void): ResultKeeping {
  return {
    keepsFolder: false,
    // Whatever an earlier attempt of the job left there (a process stopped mid-job) is not
    // this attempt's: every file of the folder is committed.
    prepare: (outDir) => rm(outDir, { recursive: true, force: true }),
    // Written with the completion, not before it.
    queue: (items) => Promise.resolve(items.length),
    locate: (outDir, summary, results) => ({
      files: 'database',
      summary: resultName(outDir, summary),
      results: results.map((path) => resultName(outDir, path)),
    }),
    async complete(claimed, result, items, outDir) {
      const written = await readResultFolder(outDir).catch((error: unknown) => {
        // Nothing written (no analysable image): no files, the job completes all the same.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      });
      const completed = await files.complete(
        claimed,
        result,
        written,
        inDatabase(items, claimed.job.id, outDir),
      );
      if (completed && items.length > 0) onQueued();
      return completed;
    },
  };
}
