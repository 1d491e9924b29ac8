/**
 * The database lease (ADR 0182): on a shared database, a node holds a row in `nodes` instead
 * of its data directory's lock file. The row carries a lease token and an expiry that the
 * node renews; a second process with the same node id is refused while the lease is live,
 * and may take over once it has expired. When a node's lease has expired (it crashed, hung or
 * lost its network), any live node reclaims its work: the leases of the jobs and the claims on
 * the outbox entries it held expire at once, so they run again without waiting out their own
 * (longer) timeouts.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RadiolensError } from '../../foundation/core/index.js';
import { databaseNow, inTransaction, query, type PgPool, type PgQueryable } from './connection.js';

export type NodeRole = 'serve' | 'worker';

export interface NodeLeaseOptions {
  readonly nodeId: string;
  readonly role: NodeRole;
  /** How long the lease lasts without a renewal; default 30 s (renew every third of it). */
  readonly leaseMs?: number;
  readonly now?: () => number;
  /** Recorded for operators (cluster status); default this host and process. */
  readonly host?: string;
  readonly pid?: number;
}

export interface NodeRow {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly leaseExpiresAt: number;
  readonly stoppedAt: number | null;
  /** An ingest node: every job finished before this was read by it (ADR 0189); else null. */
  readonly resultsReadTo: number | null;
}

interface PgNodeRow {
  node_id: string;
  role: NodeRole;
  host: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
  lease_expires_at: string;
  stopped_at: string | null;
  results_read_to: string | null;
}

function toNode(row: PgNodeRow): NodeRow {
  return {
    nodeId: row.node_id,
    role: row.role,
    host: row.host,
    pid: row.pid,
    startedAt: Number(row.started_at),
    heartbeatAt: Number(row.heartbeat_at),
    leaseExpiresAt: Number(row.lease_expires_at),
    stoppedAt: row.stopped_at === null ? null : Number(row.stopped_at),
    resultsReadTo: row.results_read_to === null ? null : Number(row.results_read_to),
  };
}

export interface Reclaimed {
  /** Nodes whose lease had expired and whose work was still held. */
  readonly nodes: string[];
  readonly jobs: number;
  readonly outboxClaims: number;
}

async function clock(db: PgQueryable, now: (() => number) | undefined): Promise<number> {
  return now?.() ?? databaseNow(db);
}

/**
 * Gives back the work the given nodes hold: their running jobs get an expired lease (the next
 * claim counts a new attempt, as after a lease timeout) and their outbox claims expire (the
 * next claim records the lost attempt). `whose` names the nodes in error messages.
 */
async function expireWorkOf(
  client: PgQueryable,
  nodeIds: readonly string[],
  now: number,
  whose: string,
): Promise<{ jobs: number; outboxClaims: number }> {
  const jobs = await query(
    client,
    `expiring the job leases of ${whose}`,
    `UPDATE jobs SET lease_expires_at = $2
     WHERE state = 'running' AND node_id = ANY ($1::text[]) AND lease_expires_at > $2`,
    [nodeIds, now],
  );
  const claims = await query(
    client,
    `expiring the outbox claims of ${whose}`,
    `UPDATE outbox SET claimed_until = $2
     WHERE state = 'pending' AND node_id = ANY ($1::text[]) AND claimed_until > $2`,
    [nodeIds, now],
  );
  return { jobs: jobs.rowCount ?? 0, outboxClaims: claims.rowCount ?? 0 };
}

/**
 * Gives back the work of every node whose lease has expired at `now`: running jobs it holds
 * get an expired lease (the next claim counts a new attempt, as after a lease timeout), and
 * its outbox claims expire (the next claim records the lost attempt).
 */
export async function reclaimStaleNodes(
  pool: PgPool,
  options: { now?: () => number } = {},
): Promise<Reclaimed> {
  return inTransaction(pool, 'reclaiming the work of stale nodes', async (client) => {
    const now = await clock(client, options.now);
    const stale = await query<{ node_id: string }>(
      client,
      'finding stale nodes',
      'SELECT node_id FROM nodes WHERE lease_expires_at <= $1',
      [now],
    );
    const ids = stale.rows.map((row) => row.node_id);
    if (ids.length === 0) return { nodes: [], jobs: 0, outboxClaims: 0 };
    const { jobs, outboxClaims } = await expireWorkOf(client, ids, now, 'stale nodes');
    return { nodes: jobs + outboxClaims === 0 ? [] : ids, jobs, outboxClaims };
  });
}

/** Every node row, newest heartbeat first (for cluster status). */
export async function listNodes(pool: PgPool): Promise<NodeRow[]> {
  const result = await query<PgNodeRow>(
    pool,
    'listing nodes',
    'SELECT * FROM nodes ORDER BY heartbeat_at DESC, node_id',
  );
  return result.rows.map(toNode);
}

export class NodeLease {
  private constructor(
    private readonly pool: PgPool,
    readonly nodeId: string,
    /** Fencing token: renew and release act only while this is still the row's token. */
    readonly token: string,
    readonly leaseMs: number,
    private readonly now: (() => number) | undefined,
  ) {}

  /**
   * Takes the lease for `nodeId`. Throws E_DATABASE (changing nothing) when another process
   * holds a live lease for the same id; takes over a stale one, first giving back the work
   * its previous holder left (it cannot be running: its lease ran out).
   */
  static async acquire(pool: PgPool, options: NodeLeaseOptions): Promise<NodeLease> {
    const leaseMs = options.leaseMs ?? 30_000;
    const token = randomUUID();
    await inTransaction(pool, `taking the lease of node ${options.nodeId}`, async (client) => {
      const now = await clock(client, options.now);
      const taken = await query<PgNodeRow>(
        client,
        `taking the lease of node ${options.nodeId}`,
        `INSERT INTO nodes (node_id, role, host, pid, lease_token, started_at, heartbeat_at,
           lease_expires_at, stopped_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, NULL)
         ON CONFLICT (node_id) DO UPDATE SET role = EXCLUDED.role, host = EXCLUDED.host,
           pid = EXCLUDED.pid, lease_token = EXCLUDED.lease_token,
           started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,
           lease_expires_at = EXCLUDED.lease_expires_at, stopped_at = NULL
         WHERE nodes.lease_expires_at <= $6
         RETURNING *`,
        [
          options.nodeId,
          options.role,
          options.host ?? hostname(),
          options.pid ?? process.pid,
          token,
          now,
          now + leaseMs,
        ],
      );
      if (taken.rowCount === 1) {
        // Whatever the previous holder of this id left running is no one's now.
        await expireWorkOf(client, [options.nodeId], now, 'the previous holder');
        return;
      }
      const holder = await query<PgNodeRow>(
        client,
        `reading node ${options.nodeId}`,
        'SELECT * FROM nodes WHERE node_id = $1',
        [options.nodeId],
      );
      const row = holder.rows[0];
      const who = row === undefined ? 'another process' : `${row.host} pid ${row.pid}`;
      const left = row === undefined ? '?' : Math.ceil((Number(row.lease_expires_at) - now) / 1000);
      throw new RadiolensError(
        'E_DATABASE',
        `node ${options.nodeId} is already running (${who}, lease valid ${left} s more) — stop it, or give this process another node id`,
      );
    });
    return new NodeLease(pool, options.nodeId, token, leaseMs, options.now);
  }

  /**
   * Extends the lease. False when it was lost (it expired and another process took the id):
   * the caller must stop taking work, as after losing its data directory lock.
   */
  async renew(): Promise<boolean> {
    const now = await clock(this.pool, this.now);
    const result = await query(
      this.pool,
      `renewing the lease of node ${this.nodeId}`,
      `UPDATE nodes SET heartbeat_at = $3, lease_expires_at = $4
       WHERE node_id = $1 AND lease_token = $2`,
      [this.nodeId, this.token, now, now + this.leaseMs],
    );
    return result.rowCount === 1;
  }

  /**
   * Ends the lease on a clean stop: the row stays (stopped_at set) for cluster status, and
   * any job or claim this node still held is given back at once. False when it was lost.
   */
  async release(): Promise<boolean> {
    return inTransaction(
      this.pool,
      `releasing the lease of node ${this.nodeId}`,
      async (client) => {
        const now = await clock(client, this.now);
        const result = await query(
          client,
          `releasing the lease of node ${this.nodeId}`,
          `UPDATE nodes SET lease_token = NULL, lease_expires_at = $3, stopped_at = $3
         WHERE node_id = $1 AND lease_token = $2`,
          [this.nodeId, this.token, now],
        );
        if (result.rowCount !== 1) return false;
        await expireWorkOf(client, [this.nodeId], now, 'a stopped node');
        return true;
      },
    );
  }
}
