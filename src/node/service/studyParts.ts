/**
 * An ingest node's side of one job per study across ingest nodes (ADR 0192), beside its
 * stability timer: it reports the parts of studies arriving at it (their first instance and
 * as they grow, at most every `reportEveryMs`, all in one statement), so that another node
 * whose own part went quiet waits for the study instead of enqueueing half of it; and it
 * sweeps for studies of which it holds a ready part that nobody will enqueue (the node that
 * would have died, or the others' nodes' leases expired).
 *
 * Best effort: while the database is away reports wait in memory and ingest goes on as before
 * (the stable declarations, which do need the database, wait in the local index, ADR 0183).
 */
import { describeError } from '../../foundation/core/index.js';
import type { ArrivingPart } from '../postgres/index.js';
import type { InstanceStore, StudyStabilityTimer } from '../store/index.js';
import type { NodeLogger } from './log.js';

export interface StudyPartReportsOptions {
  readonly store: InstanceStore;
  /** Where the parts not yet declared stable are counted, as their declaration will count them. */
  readonly timer: Pick<StudyStabilityTimer, 'pendingStudies'>;
  readonly report: (parts: readonly ArrivingPart[]) => Promise<void>;
  /** Assembles what no live node will (StudyJobScheduler.assembleUnfinished). */
  readonly sweep: () => Promise<number>;
  readonly logger: NodeLogger;
  /**
   * The least time between two reports; default 250 ms. A study's first instance after a
   * quiet spell is reported at once.
   */
  readonly reportEveryMs?: number;
  /** Default 2 s. */
  readonly sweepEveryMs?: number;
}

/** How long a report that failed (the database away) waits before the next try. */
const RETRY_MS = 2_000;

export class StudyPartReports {
  private readonly arrived = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private reporting: Promise<number> | undefined;
  private sweeping: Promise<number> | undefined;
  private reportFailing = false;
  private sweepFailing = false;
  private running = false;
  /** performance.now() when the last report began. */
  private reportedAt = 0;

  constructor(private readonly options: StudyPartReportsOptions) {}

  start(): void {
    this.running = true;
    this.reportedAt = performance.now();
    this.unsubscribe = this.options.store.onArrival((uid) => {
      this.arrived.add(uid);
      this.scheduleReport();
    });
    // What arrived before this start (or before a restart) and is not declared yet.
    for (const study of this.options.timer.pendingStudies()) {
      this.arrived.add(study.studyInstanceUid);
    }
    this.scheduleReport();
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, this.options.sweepEveryMs ?? 2_000);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    clearTimeout(this.reportTimer);
    clearInterval(this.sweepTimer);
    await Promise.all([this.reporting, this.sweeping]);
  }

  /**
   * A report as soon as a study arrives when none went out for `reportEveryMs`, else when that
   * has passed: the first instance of a study after a quiet spell is reported at once, a busy
   * node reports at most every `reportEveryMs`, all arrivals of the interval in one statement.
   */
  private scheduleReport(): void {
    if (!this.running || this.reportTimer !== undefined || this.reporting !== undefined) return;
    if (this.arrived.size === 0) return;
    const gap = this.reportFailing ? RETRY_MS : (this.options.reportEveryMs ?? 250);
    const wait = Math.max(0, this.reportedAt + gap - performance.now());
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.reportedAt = performance.now();
      this.reporting = this.flush().finally(() => {
        this.reporting = undefined;
        this.scheduleReport();
      });
    }, wait);
    this.reportTimer.unref();
  }

  /** Reports the parts that arrived since the last report; returns how many were reported. */
  async flush(): Promise<number> {
    if (this.arrived.size === 0) return 0;
    const uids = [...this.arrived];
    this.arrived.clear();
    const parts = this.options.timer.pendingStudies(uids).map((study) => ({
      studyInstanceUid: study.studyInstanceUid,
      instances: study.instanceCount,
      lastReceivedAt: study.lastReceivedAt,
    }));
    try {
      await this.options.report(parts);
    } catch (error) {
      // Kept for the next report; the newest counts are read again then.
      for (const uid of uids) this.arrived.add(uid);
      if (!this.reportFailing) {
        this.options.logger.warn('study-parts-unreported', {
          parts: parts.length,
          error: describeError(error),
        });
      }
      this.reportFailing = true;
      return 0;
    }
    if (this.reportFailing)
      this.options.logger.info('study-parts-reported', { parts: parts.length });
    this.reportFailing = false;
    return parts.length;
  }

  /** One sweep (see the class comment); returns the studies enqueued. */
  async sweep(): Promise<number> {
    try {
      const enqueued = await this.options.sweep();
      this.sweepFailing = false;
      return enqueued;
    } catch (error) {
      if (!this.sweepFailing) {
        this.options.logger.warn('study-assembly-unreachable', { error: describeError(error) });
      }
      this.sweepFailing = true;
      return 0;
    }
  }
}
