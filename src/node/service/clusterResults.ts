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
 *
 * A job of its studies whose results it cannot take yet (a disk full, the shared storage not
 * mounted, the database away while copying its files) is kept and tried again, less often the
 * longer it fails, until it joins; until then the node's read position stays before it, so
 * retention keeps it, and a node restarted meanwhile reads again from there.
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
   * What the database was last told (`recordReadTo`), asked once, at the first pass: a job
   * this node had not joined before it stopped lies after it, though perhaps before the newest
   * analysis in its log.
   */
  readonly recordedReadTo?: () => Promise<number | null>;
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
  /** The clock for retrying unjoined jobs (ms); default Date.now. */
  readonly now?: () => number;
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

/**
 * An unjoined job is tried again after 2 s, then twice as long each time up to a minute: a
 * job's result files can be 16 MiB (ADR 0193), not to be read every pass while a disk is full.
 */
const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 60_000;

/**
 * Unjoined jobs kept in memory at most. Beyond it (the shared storage away for hours at a
 * large site) the rest are left to the read position, which stays before the earliest of
 * them: a restart of the node reads them again.
 */
const MAX_UNJOINED = 10_000;

/** A job of this node's studies that could not be joined yet, and when to try it again. */
interface Unjoined {
  readonly job: Job;
  readonly completedAt: number;
  failures: number;
  retryAt: number;
}

export class ClusterResults {
  private watermark: number;
  private failedWatermark: number;
  /** Every job finished before this was read (what the database was last told). */
  private readTo = 0;
  /** Jobs of this node's studies that could not be joined yet, by id. */
  private readonly unjoined = new Map<number, Unjoined>();
  /** The earliest unjoined job left out of `unjoined` (it was full), until a restart. */
  private overflowAt = Number.POSITIVE_INFINITY;
  private askedMissed = false;
  private askedReadTo = false;
  /** The clock of the retries (this host's). */
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<number> | undefined;

  constructor(private readonly options: ClusterResultsOptions) {
    this.watermark = Math.max(0, options.analysisLog.latestCompletedAt() - START_MARGIN_MS);
    this.failedWatermark = Math.max(0, options.failures.latestFailedAt() - START_MARGIN_MS);
    this.now = options.now ?? Date.now;
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
      if (!this.askedReadTo && this.options.recordedReadTo !== undefined) {
        const recorded = await this.options.recordedReadTo();
        this.askedReadTo = true;
        if (recorded !== null) this.watermark = Math.min(this.watermark, recorded);
      }
    } catch (error) {
      this.options.logger.warn('cluster-results-unreachable', { error: describeError(error) });
      return 0;
    }
    joined += await this.retryUnjoined();
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
        // Read again within the late-commit window: it has its own retry time.
        if (this.unjoined.has(job.id)) continue;
        if ((await this.join(job)) === 'joined') joined += 1;
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
    const readTo = Math.min(done, failed, this.unjoinedAt());
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

  /** The earliest job of this node's studies not joined yet: the database must keep it. */
  private unjoinedAt(): number {
    let earliest = this.overflowAt;
    for (const entry of this.unjoined.values()) earliest = Math.min(earliest, entry.completedAt);
    return earliest;
  }

  /** Every unjoined job whose retry time has come, once; returns how many joined. */
  private async retryUnjoined(): Promise<number> {
    let joined = 0;
    for (const entry of [...this.unjoined.values()]) {
      if (entry.retryAt > this.now()) continue;
      const outcome = await this.join(entry.job);
      // Joined, or no longer to be joined (another pass recorded it, the study left the index).
      if (outcome !== 'failed') this.unjoined.delete(entry.job.id);
      if (outcome === 'joined') joined += 1;
    }
    return joined;
  }

  /** Keeps a job that could not be joined for its next try, later each time it fails. */
  private keepUnjoined(job: Job): void {
    const now = this.now();
    const completedAt = job.completedAt ?? now;
    const entry = this.unjoined.get(job.id);
    if (entry !== undefined) {
      entry.failures += 1;
      entry.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (entry.failures - 1));
      return;
    }
    if (this.unjoined.size >= MAX_UNJOINED) {
      if (this.overflowAt === Number.POSITIVE_INFINITY) {
        this.options.logger.error('cluster-results-backlog', {
          unjoined: this.unjoined.size,
          action:
            'this node cannot take the results of its jobs (see cluster-result-unreadable); fix that, then restart the node: it reads the jobs it missed again',
        });
      }
      this.overflowAt = Math.min(this.overflowAt, completedAt);
      return;
    }
    this.unjoined.set(job.id, { job, completedAt, failures: 1, retryAt: now + RETRY_FIRST_MS });
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

  /**
   * A done job's analysis into this node's log and store: `skipped` when it is not this
   * node's to join (another node's study, recorded already, no analysis), `failed` when its
   * results could not be taken (kept for a retry).
   */
  private async join(job: Job): Promise<'joined' | 'skipped' | 'failed'> {
    const analysis = analysisOf(job);
    const model = job.result?.['model'];
    if (analysis === null || typeof model !== 'string') return 'skipped';
    const { store, analysisLog } = this.options;
    if (analysisLog.has(job.id)) return 'skipped';
    // Only this node's studies: another ingest node's studies are on its own worklist.
    if (store.studyInstances(job.studyInstanceUid).length === 0) return 'skipped';
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
      // The result files are not readable here (shared storage not mounted at the same path,
      // a full disk): say so and keep the job for its next try; retention keeps it meanwhile.
      this.keepUnjoined(job);
      this.options.logger.warn('cluster-result-unreadable', {
        jobId: job.id,
        failures: this.unjoined.get(job.id)?.failures ?? null,
        error: describeError(error),
      });
      return 'failed';
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
    return 'joined';
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
