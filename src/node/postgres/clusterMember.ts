/**
 * One process's membership of a cluster on PostgreSQL (issue #17, ADRs 0182–0184): the pool,
 * the schema migrated, the node lease taken, the shared job queue and outbox, and a beat every
 * third of the lease that renews it, gives back the work of nodes whose lease ran out, and
 * reads the queue and outbox counts for /health (which must answer without a round trip to
 * the database). `radiolens serve --database` and `radiolens worker` both use it.
 */
import { describeError } from '../../foundation/core/index.js';
import type { OutboxCounts } from '../delivery/index.js';
import type { JobState } from '../queue/index.js';
import { openPostgresPool, redactUrl, type PgPool } from './connection.js';
import { migrate } from './migrations.js';
import { NodeLease, reclaimStaleNodes, type NodeRole } from './nodeLease.js';
import { PgJobQueue } from './pgJobQueue.js';
import { PgResultFiles } from './pgResultFiles.js';
import { PgOutbox, type PgOutboxOptions } from './pgOutbox.js';

export type ClusterEvent =
  | { type: 'joined'; nodeId: string; role: NodeRole; database: string; migrated: number[] }
  | { type: 'reclaimed'; nodes: string[]; jobs: number; outboxClaims: number }
  | { type: 'beat-failed'; error: string }
  | { type: 'beat-recovered'; downMs: number }
  | { type: 'lease-lost'; nodeId: string };

export interface ClusterMemberOptions {
  readonly databaseUrl: string;
  readonly nodeId: string;
  readonly role: NodeRole;
  /** The node lease; renewed every third of it. */
  readonly nodeLeaseMs: number;
  /** The job lease of the queue (workers heartbeat every third of it). */
  readonly jobLeaseMs: number;
  readonly outbox?: Omit<PgOutboxOptions, 'nodeId' | 'now'>;
  /** Connections this process may open; default 10. */
  readonly maxConnections?: number;
  readonly onEvent?: (event: ClusterEvent) => void;
  /** Called once when the lease was taken by another process: stop taking work. */
  readonly onLeaseLost?: () => void;
}

/** What /health says about the database, from the last beat. */
export interface ClusterSnapshot {
  readonly nodeId: string;
  readonly role: NodeRole;
  /** The URL without its password. */
  readonly database: string;
  /** When the database last answered (ms since the epoch, this host's clock), or null. */
  readonly lastBeatAt: number | null;
  readonly leaseLost: boolean;
  /** Why the last beat failed, or null when it succeeded. */
  readonly error: string | null;
  readonly queue: Readonly<Record<JobState, number>> | null;
  readonly outbox: OutboxCounts | null;
}

export class ClusterMember {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private lastBeatAt: number | null = null;
  /** performance.now() of the last renewal that succeeded. */
  private renewedAt = performance.now();
  /** performance.now() since when every beat has reached the database. */
  private connectedSince = performance.now();
  private failingSince: number | null = null;
  private error: string | null = null;
  private leaseLost = false;
  private counts: { queue: Record<JobState, number>; outbox: OutboxCounts } | null = null;
  private stopped = false;

  private constructor(
    readonly pool: PgPool,
    readonly lease: NodeLease,
    readonly queue: PgJobQueue,
    readonly outbox: PgOutbox,
    private readonly options: ClusterMemberOptions,
  ) {
    this.resultFiles = new PgResultFiles(pool, queue, outbox);
  }

  /** Result files committed with their jobs (ADR 0193). */
  readonly resultFiles: PgResultFiles;

  /**
   * Connects, migrates (safe when several start at once, ADR 0181) and takes the node lease;
   * E_DATABASE when the database cannot be reached or the node id is held by a live process.
   */
  static async start(options: ClusterMemberOptions): Promise<ClusterMember> {
    const pool = openPostgresPool(options.databaseUrl, {
      maxConnections: options.maxConnections ?? 10,
      applicationName: `radiolens-${options.role}:${options.nodeId}`.slice(0, 63),
    });
    try {
      const migrated = await migrate(pool);
      const lease = await NodeLease.acquire(pool, {
        nodeId: options.nodeId,
        role: options.role,
        leaseMs: options.nodeLeaseMs,
      });
      const queue = new PgJobQueue(pool, { leaseMs: options.jobLeaseMs, nodeId: options.nodeId });
      const outbox = new PgOutbox(pool, { ...options.outbox, nodeId: options.nodeId });
      const member = new ClusterMember(pool, lease, queue, outbox, options);
      member.emit({
        type: 'joined',
        nodeId: options.nodeId,
        role: options.role,
        database: redactUrl(options.databaseUrl),
        migrated: migrated.applied,
      });
      await member.beat();
      member.schedule();
      return member;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.beating = this.beat().finally(() => this.schedule());
      },
      Math.max(100, Math.floor(this.options.nodeLeaseMs / 3)),
    );
  }

  /** Renew, reclaim the work of stale nodes, read the counts; never throws. */
  private async beat(): Promise<void> {
    if (this.leaseLost || this.stopped) return;
    try {
      const asked = performance.now();
      if (!(await this.lease.renew())) {
        this.leaseLost = true;
        this.emit({ type: 'lease-lost', nodeId: this.options.nodeId });
        this.options.onLeaseLost?.();
        return;
      }
      this.renewedAt = asked;
      if (this.failingSince !== null) this.connectedSince = asked;
      // Others are declared dead only by a node that has itself reached the database for a
      // whole lease: after an outage of the database every lease looks expired, and the live
      // nodes need one renewal period to say so; reclaiming at once would take their jobs and
      // sends in flight and have them done twice.
      if (performance.now() - this.connectedSince >= this.options.nodeLeaseMs) {
        const reclaimed = await reclaimStaleNodes(this.pool);
        if (reclaimed.nodes.length > 0) this.emit({ type: 'reclaimed', ...reclaimed });
      }
      this.counts = { queue: await this.queue.counts(), outbox: await this.outbox.counts() };
      this.lastBeatAt = Date.now();
      if (this.failingSince !== null) {
        this.emit({ type: 'beat-recovered', downMs: Date.now() - this.failingSince });
      }
      this.failingSince = null;
      this.error = null;
    } catch (error) {
      const message = describeError(error).slice(0, 300);
      if (this.failingSince === null) {
        this.failingSince = Date.now();
        this.emit({ type: 'beat-failed', error: message });
      }
      this.error = message;
    }
  }

  /**
   * Whether this process may claim work now: its lease was renewed less than two thirds of
   * a lease ago (this host's monotonic clock, counted from before the renewal was asked). A
   * node cut off from the database for longer may already count as stale elsewhere, and a job
   * it claimed on its return could be reclaimed under it before its next renewal.
   */
  leaseHeld(): boolean {
    return (
      !this.leaseLost &&
      !this.stopped &&
      performance.now() - this.renewedAt < (this.options.nodeLeaseMs * 2) / 3
    );
  }

  snapshot(): ClusterSnapshot {
    return {
      nodeId: this.options.nodeId,
      role: this.options.role,
      database: redactUrl(this.options.databaseUrl),
      lastBeatAt: this.lastBeatAt,
      leaseLost: this.leaseLost,
      error: this.error,
      queue: this.counts?.queue ?? null,
      outbox: this.counts?.outbox ?? null,
    };
  }

  /** Stops beating, gives the lease back (and any work still held), closes the pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.beating;
    if (!this.leaseLost) await this.lease.release().catch(() => false);
    await this.pool.end().catch(() => undefined);
  }

  private emit(event: ClusterEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A faulty listener must not stop the beat.
    }
  }
}
