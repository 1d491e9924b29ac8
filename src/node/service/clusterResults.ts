/**
 * An ingest node of a cluster learns of the analyses that worker processes ran on its studies
 * (ADR 0186): it reads the jobs completed in the shared PostgreSQL queue, and for each study of
 * its own index records the analysis in its analysis log (so its worklist, study context and
 * pilot report see it) and stores the clinical SR, SC and Parametric Map beside the originals
 * (so its DICOMweb and OHIF show them). The worker wrote where the analysis lies, by absolute
 * path on the shared storage, into the job's result. Everything here is idempotent: a job seen
 * twice is recorded once.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { describeError } from '../../foundation/core/index.js';
import type { Job } from '../queue/index.js';
import type { InstanceStore } from '../store/index.js';
import type { AnalysisLog } from './analysisLog.js';
import type { NodeLogger } from './log.js';

/** What a worker writes into a completed job's result about its analysis (worker.ts). */
interface JobAnalysis {
  readonly mode: 'clinical' | 'shadow';
  readonly accessionNumber: string | null;
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
    summary: a['summary'],
    results: a['results'] as string[],
  };
}

export interface ClusterResultsOptions {
  /** Completed jobs of the shared queue since a time (database clock, ms). */
  readonly completedSince: (sinceMs: number) => Promise<Job[]>;
  readonly store: InstanceStore;
  readonly analysisLog: AnalysisLog;
  readonly dataDir: string;
  readonly logger: NodeLogger;
  /** A clinical result joined this node (the worklist's change notice). */
  readonly onResult: () => void;
  readonly intervalMs?: number;
}

/** How far back a starting node looks: longer than any clock skew between hosts. */
const START_MARGIN_MS = 10 * 60_000;

export class ClusterResults {
  private watermark: number;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<number> | undefined;

  constructor(private readonly options: ClusterResultsOptions) {
    this.watermark = Math.max(0, options.analysisLog.latestCompletedAt() - START_MARGIN_MS);
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

  /** One pass: every job completed since the watermark; returns how many joined this node. */
  async poll(): Promise<number> {
    let joined = 0;
    let jobs: Job[];
    try {
      jobs = await this.options.completedSince(this.watermark);
    } catch (error) {
      // The database is away: the next pass catches up from the same watermark.
      this.options.logger.warn('cluster-results-unreachable', { error: describeError(error) });
      return 0;
    }
    for (const job of jobs) {
      if (job.completedAt !== null) this.watermark = Math.max(this.watermark, job.completedAt);
      if (await this.join(job)) joined += 1;
    }
    return joined;
  }

  private async join(job: Job): Promise<boolean> {
    const analysis = analysisOf(job);
    const model = job.result?.['model'];
    if (analysis === null || typeof model !== 'string') return false;
    const { store, analysisLog } = this.options;
    if (analysisLog.has(job.id)) return false;
    // Only this node's studies: another ingest node's studies are on its own worklist.
    if (store.studyInstances(job.studyInstanceUid).length === 0) return false;
    try {
      for (const path of analysis.results) {
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
      return false;
    }
    analysisLog.record({
      jobId: job.id,
      studyInstanceUid: job.studyInstanceUid,
      accessionNumber: analysis.accessionNumber,
      model,
      mode: analysis.mode,
      completedAt: job.completedAt ?? Date.now(),
      summaryPath: relative(this.options.dataDir, analysis.summary),
    });
    if (analysis.mode === 'clinical') this.options.onResult();
    return true;
  }
}
