/**
 * StudyStabilityTimer: a study is "stable" once no instance of it has arrived for a quiet
 * period. Everything is derived from the index (last receipt per study) plus a table of
 * studies already declared stable, so a restart neither loses nor repeats a declaration
 * (ADR 0092). A study that receives more instances after being declared becomes pending
 * again and is declared again after a new quiet period.
 */
import { NOT_A_RESULT, type InstanceStore } from './instanceStore.js';

export interface StableStudy {
  readonly studyInstanceUid: string;
  /** The last receipt time the declaration covers. */
  readonly lastReceivedAt: number;
  readonly instanceCount: number;
}

export interface StudyStabilityOptions {
  /** Quiet period in milliseconds since the study's last instance. */
  readonly quietPeriodMs: number;
  /** Upper bound between checks; defaults to the quiet period, at most 1 s. */
  readonly maxPollMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/**
 * Called for each study that became stable. The declaration is recorded only after the
 * handler resolves: a crash in between calls it again after restart, so it must be
 * idempotent (enqueueing a job by key is).
 */
export type StableStudyHandler = (study: StableStudy) => void | Promise<void>;

export class StudyStabilityTimer {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: InstanceStore,
    private readonly options: StudyStabilityOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Studies whose quiet period has passed and that are not declared for their last receipt. */
  dueStudies(): StableStudy[] {
    return this.undeclaredStudies({ quietSince: this.now() - this.options.quietPeriodMs });
  }

  /**
   * Studies not declared for their newest receipt, quiet or not — all of them, or those of
   * `studyInstanceUids` — as the declaration would count them: what an ingest node of a
   * cluster reports as its parts still arriving (ADR 0192).
   */
  pendingStudies(studyInstanceUids?: readonly string[]): StableStudy[] {
    if (studyInstanceUids === undefined) return this.undeclaredStudies({});
    const found: StableStudy[] = [];
    // Well under SQLite's limit of bound parameters per statement.
    for (let at = 0; at < studyInstanceUids.length; at += 500) {
      found.push(...this.undeclaredStudies({ only: studyInstanceUids.slice(at, at + 500) }));
    }
    return found;
  }

  /**
   * The one query behind dueStudies and pendingStudies, so that a declaration and a cluster's
   * part report count a study's instances alike: studies whose newest receipt is not declared,
   * optionally only those quiet since `quietSince` and only those of `only`, oldest first.
   */
  private undeclaredStudies(filter: {
    readonly quietSince?: number;
    readonly only?: readonly string[];
  }): StableStudy[] {
    const { quietSince, only } = filter;
    const rows = this.store.db
      .prepare(
        `SELECT i.study_instance_uid AS s, MAX(i.last_received_at) AS t,
           COUNT(DISTINCT i.sop_instance_uid) AS n
         FROM instances i LEFT JOIN study_stability d ON d.study_instance_uid = i.study_instance_uid
         WHERE ${NOT_A_RESULT}
           ${only === undefined ? '' : `AND i.study_instance_uid IN (${only.map(() => '?').join(', ')})`}
         GROUP BY i.study_instance_uid, d.stable_for_last_received_at
         HAVING (d.stable_for_last_received_at IS NULL
             OR d.stable_for_last_received_at < MAX(i.last_received_at))
           ${quietSince === undefined ? '' : 'AND MAX(i.last_received_at) <= ?'}
         ORDER BY t`,
      )
      .all(...(only ?? []), ...(quietSince === undefined ? [] : [quietSince])) as {
      s: string;
      t: number;
      n: number;
    }[];
    return rows.map((r) => ({ studyInstanceUid: r.s, lastReceivedAt: r.t, instanceCount: r.n }));
  }

  /** Records that a study was declared stable for its receipts up to lastReceivedAt. */
  markDeclared(study: StableStudy): void {
    this.store.db
      .prepare(
        `INSERT INTO study_stability (study_instance_uid, stable_for_last_received_at, declared_at)
         VALUES (?, ?, ?)
         ON CONFLICT (study_instance_uid) DO UPDATE SET
           stable_for_last_received_at = MAX(stable_for_last_received_at, excluded.stable_for_last_received_at),
           declared_at = excluded.declared_at`,
      )
      .run(study.studyInstanceUid, study.lastReceivedAt, this.now());
  }

  /** Milliseconds until the earliest pending study becomes due; undefined if none pending. */
  private nextDueInMs(): number | undefined {
    const row = this.store.db
      .prepare(
        `SELECT MIN(t) AS t FROM (
           SELECT MAX(i.last_received_at) AS t, d.stable_for_last_received_at AS declared
           FROM instances i LEFT JOIN study_stability d ON d.study_instance_uid = i.study_instance_uid
           WHERE ${NOT_A_RESULT}
           GROUP BY i.study_instance_uid, d.stable_for_last_received_at)
         WHERE declared IS NULL OR declared < t`,
      )
      .get() as { t: number | null };
    if (row.t === null) return undefined;
    return Math.max(0, row.t + this.options.quietPeriodMs - this.now());
  }

  /** Runs one check: declares every due study through the handler, in order. */
  async check(onStable: StableStudyHandler): Promise<StableStudy[]> {
    const due = this.dueStudies();
    for (const study of due) {
      await onStable(study);
      this.markDeclared(study);
    }
    return due;
  }

  /**
   * Checks now and then again whenever the next study could become due (at most every
   * maxPollMs, since new instances may arrive from other processes). Handler errors are
   * passed to onError and the study is retried on the next check.
   */
  start(onStable: StableStudyHandler, onError: (error: unknown) => void): void {
    if (this.running) return;
    this.running = true;
    const maxPoll = this.options.maxPollMs ?? Math.min(this.options.quietPeriodMs, 1000);
    const tick = (): void => {
      this.timer = undefined;
      this.checking = this.check(onStable)
        .then(
          () => undefined,
          (error: unknown) => onError(error),
        )
        .then(() => {
          if (!this.running) return;
          const next = this.nextDueInMs();
          const wait = Math.max(5, Math.min(maxPoll, next ?? maxPoll));
          this.timer = setTimeout(tick, wait);
        });
    };
    tick();
  }

  /** Stops checking; resolves after a check in progress has finished. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.checking;
  }
}
