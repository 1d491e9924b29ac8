/**
 * An ingest node of a cluster learns of the analyses that worker processes ran on its studies
 * (ADR 0186): it reads the jobs completed in the shared PostgreSQL queue, and for each study of
 * its own index records the analysis in its analysis log (so its worklist, study context and
 * pilot report see it) and stores the clinical SR, SC and Parametric Map beside the originals
 * (so its DICOMweb and OHIF show them). The worker wrote where the analysis lies, by absolute
 * path on the shared storage, into the job's result. Jobs of its studies that failed for good
 * are copied into its ClusterFailures, so that its worklist lists them as the embedded node's
 * does (ADR 0189). Everything here is idempotent: a job seen twice is recorded once.
 *
 * After each pass the node tells the database how far it has read (`nodes.results_read_to`):
 * retention removes a finished job only once the node that enqueued it has read it, so a node
 * that was down for a week still finds every analysis of its studies when it comes back; one
 * that was down longer than the unread age is told at start what it missed (ADR 0189).
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { RadiolensError, describeError } from '../../foundation/core/index.js';
import { writeResultFolder, type ResultFile } from '../delivery/index.js';
import type { FailedJob, FinishedJobs, ReadPosition, UnreadJobs } from '../postgres/index.js';
import type { Job } from '../queue/index.js';
import type { InstanceStore } from '../store/index.js';
import type { AnalysisLog } from './analysisLog.js';
import type { ClusterFailures } from '../worklist/index.js';
import { isShadowJob } from './jobs.js';
import type { NodeLogger } from './log.js';

/**
 * What a worker writes into a completed job's result about its analysis (worker.ts): where the
 * summary and the DICOM results lie — absolute paths on the shared storage, or (`files:
 * 'database'`, ADR 0193) names among the job's result files in the database.
 */
interface JobAnalysis {
  readonly mode: 'clinical' | 'shadow';
  readonly accessionNumber: string | null;
  readonly inDatabase: boolean;
  readonly summary: string;
  readonly results: readonly string[];
}

function analysisOf(job: Job): JobAnalysis | null {
  const value = job.result?.['analysis'];
  if (typeof value !== 'object' || value === null) return null;
  const a = value as Record<string, unknown>;
  if (
    (a['mode'] !== 'clinical' && a['mode'] !== 'shadow') ||
    typeof a['summary'] !== 'string' ||
    !Array.isArray(a['results']) ||
    !a['results'].every((r) => typeof r === 'string')
  ) {
    return null;
  }
  return {
    mode: a['mode'],
    accessionNumber: typeof a['accessionNumber'] === 'string' ? a['accessionNumber'] : null,
    inDatabase: a['files'] === 'database',
    summary: a['summary'],
    results: a['results'] as string[],
  };
}

/** The path a copied file got, or a coded error when the job's files lack it. */
function pathOf(copied: ReadonlyMap<string, string>, name: string): string {
  const path = copied.get(name);
  if (path === undefined) {
    throw new RadiolensError('E_STORE', `the job's result files have no ${name}`);
  }
  return path;
}

export interface ClusterResultsOptions {
  /**
   * Jobs of the shared queue done and failed for good after two read positions (database
   * clock, ms), at most `limit` of each, in (time, id) order (PgJobQueue.finishedSince).
   */
  readonly finishedSince: (
    done: ReadPosition,
    failed: ReadPosition,
    limit: number,
  ) => Promise<FinishedJobs>;
  /** Records that every job finished before `readTo` was read (retention waits for it). */
  readonly recordReadTo?: (readTo: number) => Promise<void>;
  /** Jobs of this node retention removed before it read them; asked once, at the first pass. */
  readonly missed?: () => Promise<UnreadJobs | null>;
  /**
   * Every result file of a job in the shared database (PgResultFiles.list, ADR 0193): a job
   * whose worker kept its results there has them copied into this node's results folder.
   */
  readonly resultFiles?: (jobId: number) => Promise<ResultFile[]>;
  readonly store: InstanceStore;
  readonly analysisLog: AnalysisLog;
  readonly failures: ClusterFailures;
  readonly dataDir: string;
  readonly logger: NodeLogger;
  /** A clinical result joined this node (the worklist's change notice). */
  readonly onResult: () => void;
  readonly intervalMs?: number;
  /** Jobs of each kind read per page; default 500. */
  readonly batch?: number;
}

/**
 * How far back a starting node looks, and how far behind the database clock a read counts as
 * complete: longer than any clock skew between hosts and than any wait between a job's
 * finishing time being read and its commit.
 */
const START_MARGIN_MS = 10 * 60_000;

/** How far the read position must move before it is written again. */
const RECORD_EVERY_MS = 60_000;

/**
 * How far behind the newest finishing time seen each pass reads again. A job's time is taken
 * when its row is written and the row is seen only at commit, so a job of another worker can
 * become visible with a time the reader has already passed (a commit waiting on a synchronous
 * replica, a transaction of fail()); reading back this far, and skipping what is already
 * recorded, finds it. Costs one re-read of the last minute's finished jobs per pass.
 */
const LATE_COMMIT_MS = 60_000;

/** Pages read in one pass at most; the next pass goes on (a backlog after a node was away). */
const MAX_PAGES = 20;

export class ClusterResults {
  private watermark: number;
  private failedWatermark: number;
  /** Every job finished before this was read (what the database was last told). */
  private readTo = 0;
  /** The earliest job of this node's studies that could not be recorded (kept unread). */
  private unjoinedAt = Number.POSITIVE_INFINITY;
  private askedMissed = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<number> | undefined;

  constructor(private readonly options: ClusterResultsOptions) {
    this.watermark = Math.max(0, options.analysisLog.latestCompletedAt() - START_MARGIN_MS);
    this.failedWatermark = Math.max(0, options.failures.latestFailedAt() - START_MARGIN_MS);
  }

  start(): void {
    const interval = this.options.intervalMs ?? 2_000;
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /**
   * One pass: every job done or failed since the watermarks; returns how many joined this
   * node (analyses and failures).
   */
  async poll(): Promise<number> {
    const batch = this.options.batch ?? 500;
    let joined = 0;
    try {
      if (!this.askedMissed && this.options.missed !== undefined) {
        const missed = await this.options.missed();
        this.askedMissed = true;
        if (missed !== null) {
          this.options.logger.error('cluster-results-missed', {
            jobs: missed.jobs,
            from: new Date(missed.from).toISOString(),
            to: new Date(missed.to).toISOString(),
            action:
              'retention removed these finished jobs of this node before it read them (it was away longer than retention.unreadJobsDays); their analyses are not on this worklist — re-send the studies to analyse them again',
          });
        }
      }
    } catch (error) {
      this.options.logger.warn('cluster-results-unreachable', { error: describeError(error) });
      return 0;
    }
    let done: ReadPosition = { at: this.watermark - LATE_COMMIT_MS, id: 0 };
    let failed: ReadPosition = { at: this.failedWatermark - LATE_COMMIT_MS, id: 0 };
    for (let page = 0; page < MAX_PAGES; page++) {
      let finished: FinishedJobs;
      try {
        finished = await this.options.finishedSince(done, failed, batch);
      } catch (error) {
        // The database is away: the next pass catches up from the same watermark.
        this.options.logger.warn('cluster-results-unreachable', { error: describeError(error) });
        return joined;
      }
      for (const job of finished.done) {
        const at = job.completedAt ?? done.at;
        this.watermark = Math.max(this.watermark, at);
        done = { at, id: job.id };
        if (await this.join(job)) joined += 1;
      }
      for (const job of finished.failed) {
        this.failedWatermark = Math.max(this.failedWatermark, job.failedAt);
        failed = { at: job.failedAt, id: job.id };
        if (this.joinFailure(job)) joined += 1;
      }
      await this.recordReadTo(finished, batch);
      if (finished.done.length < batch && finished.failed.length < batch) break;
    }
    return joined;
  }

  /**
   * Everything finished before the earlier of the two read positions has been seen: a kind
   * read whole (fewer than a batch) is read up to the database clock less the margin, one cut
   * off by the batch only up to the last job it returned.
   */
  private async recordReadTo(finished: FinishedJobs, batch: number): Promise<void> {
    const { recordReadTo } = this.options;
    if (recordReadTo === undefined) return;
    const complete = finished.at - START_MARGIN_MS;
    const done =
      finished.done.length < batch ? complete : (finished.done.at(-1)?.completedAt ?? complete);
    const failed =
      finished.failed.length < batch ? complete : (finished.failed.at(-1)?.failedAt ?? complete);
    const readTo = Math.min(done, failed, this.unjoinedAt);
    // Retention counts in days: a write a minute is plenty, not one every pass.
    if (readTo < this.readTo + RECORD_EVERY_MS) return;
    try {
      await recordReadTo(readTo);
      this.readTo = readTo;
    } catch (error) {
      // Retention waits a little longer; the next pass says it again.
      this.options.logger.warn('cluster-results-unreachable', { error: describeError(error) });
    }
  }

  /** A failure of this node's study joins its worklist, as a failed job does on its own. */
  private joinFailure(job: FailedJob): boolean {
    const { failures, store } = this.options;
    if (failures.has(job.id)) return false;
    if (store.studyInstances(job.studyInstanceUid).length === 0) return false;
    const shadow = isShadowJob(job.payload);
    failures.record({
      jobId: job.id,
      studyInstanceUid: job.studyInstanceUid,
      model: job.model,
      shadow,
      lastError: job.lastError,
      failedAt: job.failedAt,
    });
    this.options.logger.warn('cluster-job-failed', {
      jobId: job.id,
      model: job.model,
      ...(shadow ? { shadow: true } : {}),
    });
    if (!shadow) this.options.onResult();
    return true;
  }

  private async join(job: Job): Promise<boolean> {
    const analysis = analysisOf(job);
    const model = job.result?.['model'];
    if (analysis === null || typeof model !== 'string') return false;
    const { store, analysisLog } = this.options;
    if (analysisLog.has(job.id)) return false;
    // Only this node's studies: another ingest node's studies are on its own worklist.
    if (store.studyInstances(job.studyInstanceUid).length === 0) return false;
    let summary = analysis.summary;
    try {
      let results = analysis.results;
      if (analysis.inDatabase) {
        const copied = await this.copyResultFiles(job.id);
        summary = pathOf(copied, analysis.summary);
        results = analysis.results.map((name) => pathOf(copied, name));
      }
      for (const path of results) {
        await store.storeResult(await readFile(path), {
          source: `result of job ${job.id}`,
          jobId: job.id,
        });
      }
    } catch (error) {
      // The result files are not readable here (shared storage not mounted at the same path):
      // say so; the job is retried on the next pass, as it is not yet in the log.
      this.options.logger.warn('cluster-result-unreadable', {
        jobId: job.id,
        error: describeError(error),
      });
      // Not recorded: retention must keep it (it is not read as far as this node goes).
      if (job.completedAt !== null) this.unjoinedAt = Math.min(this.unjoinedAt, job.completedAt);
      return false;
    }
    analysisLog.record({
      jobId: job.id,
      studyInstanceUid: job.studyInstanceUid,
      accessionNumber: analysis.accessionNumber,
      model,
      mode: analysis.mode,
      completedAt: job.completedAt ?? Date.now(),
      summaryPath: relative(this.options.dataDir, summary),
    });
    if (analysis.mode === 'clinical') this.options.onResult();
    return true;
  }

  /**
   * A job's result files from the database into this node's own results folder
   * (`<data>/results/<job id>`, where its own workers put theirs): the summary, the heatmap
   * PNGs it names and the DICOM results, as the worker wrote them. Their paths by name.
   */
  private async copyResultFiles(jobId: number): Promise<Map<string, string>> {
    const { resultFiles } = this.options;
    if (resultFiles === undefined) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `job ${jobId} keeps its results in the database and this node does not read them there`,
      );
    }
    const files = await resultFiles(jobId);
    if (files.length === 0) {
      throw new RadiolensError(
        'E_STORE',
        `job ${jobId} has no result files in the database (retention removed them) — re-send the study to analyse it again`,
      );
    }
    return writeResultFolder(join(this.options.dataDir, 'results', String(jobId)), files);
  }
}
