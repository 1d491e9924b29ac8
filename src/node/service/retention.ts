/**
 * Retention of finished jobs and delivered outbox entries (ADR 0189): the config file's
 * `retention` section and the schedule that prunes. On a shared database every ingest node
 * runs the schedule and the one that takes the prune lock does the work (node/postgres
 * retention.ts); on the embedded node it prunes its own SQLite queue and outbox.
 */
import { z } from 'zod';
import { describeError } from '../../foundation/core/index.js';
import type { Outbox } from '../delivery/index.js';
import {
  RETENTION_DEFAULT_DAYS,
  pruneCluster,
  type PrunePolicy,
  type PruneReport,
  type PgPool,
} from '../postgres/index.js';
import type { JobQueue } from '../queue/index.js';
import type { NodeLogger } from './log.js';

const days = (name: string) =>
  z.number().positive({ message: `${name} is a number of days above 0 (fractions allowed)` });

/** The config file's `retention` section. */
export const retentionSchema = z
  .object({
    /** Done jobs, once the ingest node that enqueued them has read them. */
    doneJobsDays: days('doneJobsDays').optional(),
    /** Outbox entries delivered to their destination. */
    deliveredOutboxDays: days('deliveredOutboxDays').optional(),
    /** Jobs that failed for good (kept longer: someone may still look into them). */
    failedJobsDays: days('failedJobsDays').optional(),
    /** A finished job its ingest node has not read (node away): kept this long, then reported. */
    unreadJobsDays: days('unreadJobsDays').optional(),
    intervalMinutes: z.number().positive({ message: 'intervalMinutes is above 0' }).optional(),
    batchSize: z
      .number()
      .int()
      .min(1, { message: 'batchSize is a whole number from 1 to 100000' })
      .max(100_000, { message: 'batchSize is a whole number from 1 to 100000' })
      .optional(),
  })
  .strict();

export interface RetentionConfig {
  readonly doneJobsDays: number;
  readonly deliveredOutboxDays: number;
  readonly failedJobsDays: number;
  readonly unreadJobsDays: number;
  readonly intervalMinutes: number;
  readonly batchSize: number;
}

export const RETENTION_DEFAULTS: RetentionConfig = {
  ...RETENTION_DEFAULT_DAYS,
  intervalMinutes: 60,
  batchSize: 5000,
};

export function retentionConfigOf(
  file: z.infer<typeof retentionSchema> | undefined,
): RetentionConfig {
  return { ...RETENTION_DEFAULTS, ...file };
}

const DAY_MS = 86_400_000;

export function prunePolicyOf(config: RetentionConfig): PrunePolicy {
  return {
    doneJobsMs: config.doneJobsDays * DAY_MS,
    deliveredOutboxMs: config.deliveredOutboxDays * DAY_MS,
    failedJobsMs: config.failedJobsDays * DAY_MS,
    unreadJobsMs: config.unreadJobsDays * DAY_MS,
  };
}

/** What one run removed, for the log. */
export type PruneSummary = Pick<PruneReport, 'ran' | 'removed' | 'removedUnread' | 'keptUnread'> &
  Partial<Pick<PruneReport, 'resultFiles'>>;

/** The prune of a shared database: whichever ingest node takes the lock does it. */
export function clusterPrune(
  pool: PgPool,
  nodeId: string,
  config: RetentionConfig,
): () => Promise<PruneSummary> {
  return () =>
    pruneCluster(pool, { policy: prunePolicyOf(config), nodeId, batchSize: config.batchSize });
}

/**
 * Calls a synchronous batch until it removes fewer than a batch, letting the event loop (and
 * ingest's writes) in between: SQLite has one writer, and each batch holds it only briefly.
 */
async function inBatches(
  batch: (limit: number) => number,
  config: RetentionConfig,
): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = batch(config.batchSize);
    total += removed;
    if (removed < config.batchSize) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * The prune of the embedded node: done jobs and delivered entries of its own SQLite. Failed
 * jobs stay: they are the worklist's record of a failed analysis there (ADR 0189).
 */
export function embeddedPrune(
  queue: JobQueue,
  outbox: Outbox,
  config: RetentionConfig,
  now: () => number = Date.now,
): () => Promise<PruneSummary> {
  return async () => {
    const policy = prunePolicyOf(config);
    const at = now();
    const doneJobs = await inBatches((n) => queue.pruneDone(at - policy.doneJobsMs, n), config);
    const deliveredOutbox = await inBatches(
      (n) => outbox.pruneDelivered(at - policy.deliveredOutboxMs, n),
      config,
    );
    return {
      ran: true,
      removed: { doneJobs, failedJobs: 0, deliveredOutbox },
      removedUnread: {},
      keptUnread: {},
    };
  };
}

/** Runs the prune a minute after start and then every `intervalMinutes`; never throws. */
export class RetentionSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly prune: () => Promise<PruneSummary>,
    private readonly options: {
      readonly intervalMinutes: number;
      readonly logger: NodeLogger;
      /** The first run after start; default one minute (start-up is busy enough). */
      readonly firstMs?: number;
    },
  ) {}

  start(): void {
    this.schedule(this.options.firstMs ?? 60_000);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMinutes * 60_000);
      });
    }, ms);
    this.timer.unref();
  }

  /** One run, logged: what was removed, and what was kept because a node has not read it. */
  async runOnce(): Promise<void> {
    const { logger } = this.options;
    try {
      const summary = await this.prune();
      if (!summary.ran) return;
      const { doneJobs, failedJobs, deliveredOutbox } = summary.removed;
      const files = summary.resultFiles;
      if (doneJobs + failedJobs + deliveredOutbox + (files?.files ?? 0) > 0) {
        logger.info('retention-pruned', {
          doneJobs,
          failedJobs,
          deliveredOutbox,
          // Result files of jobs read and delivered, ahead of their jobs (ADR 0193).
          ...(files === undefined || files.files === 0
            ? {}
            : { resultFiles: files.files, resultBytes: files.bytes }),
        });
      }
      for (const [node, unread] of Object.entries(summary.removedUnread)) {
        logger.error('retention-removed-unread', {
          node,
          jobs: unread.jobs,
          from: new Date(unread.from).toISOString(),
          to: new Date(unread.to).toISOString(),
        });
      }
      for (const [node, unread] of Object.entries(summary.keptUnread)) {
        logger.warn('retention-kept-unread', {
          node,
          jobs: unread.jobs,
          oldest: new Date(unread.from).toISOString(),
        });
      }
    } catch (error) {
      // The database is away, or a row was odd: the next run tries again.
      logger.warn('retention-failed', { error: describeError(error) });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
