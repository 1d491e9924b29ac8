/**
 * What `radiolens cluster status` shows (issue #17): every node and worker with its lease and
 * last beat, the queue's depth by state and the age of its oldest waiting job, and the
 * outbox's backlog. One read-only snapshot on the database's clock.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { databaseNow, query, type PgPool } from './connection.js';
import { listNodes, type NodeRow } from './nodeLease.js';
import { schemaVersion } from './migrations.js';

export interface ClusterStatus {
  /** The database clock when the status was read (ms since the epoch). */
  readonly at: number;
  readonly schemaVersion: number;
  readonly nodes: readonly (NodeRow & { readonly state: 'live' | 'expired' | 'stopped' })[];
  readonly jobs: {
    readonly queued: number;
    readonly running: number;
    readonly done: number;
    readonly failed: number;
    /** Milliseconds the oldest queued job has waited since it was enqueued, or null. */
    readonly oldestQueuedAgeMs: number | null;
    /** Running jobs whose lease has run out (their worker is gone; the next claim takes them). */
    readonly expiredLeases: number;
  };
  readonly outbox: {
    readonly pending: number;
    readonly failing: number;
    readonly delivered: number;
    readonly failed: number;
    /** Milliseconds the oldest pending entry has waited since it was added, or null. */
    readonly oldestPendingAgeMs: number | null;
  };
}

export async function readClusterStatus(pool: PgPool): Promise<ClusterStatus> {
  const at = await databaseNow(pool);
  const version = await schemaVersion(pool);
  if (version === 0) {
    throw new RadiolensError(
      'E_DATABASE',
      'this database holds no Radiolens cluster (no schema migrations) — check the database name in the URL; a node creates the schema when it first starts with --database',
    );
  }
  const nodes = (await listNodes(pool)).map((node) => ({
    ...node,
    state:
      node.stoppedAt !== null
        ? ('stopped' as const)
        : node.leaseExpiresAt > at
          ? ('live' as const)
          : ('expired' as const),
  }));
  const jobs = await query<{
    queued: string;
    running: string;
    done: string;
    failed: string;
    oldest: string | null;
    expired: string;
  }>(
    pool,
    'reading the queue',
    `SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
            count(*) FILTER (WHERE state = 'running') AS running,
            count(*) FILTER (WHERE state = 'done') AS done,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            min(created_at) FILTER (WHERE state = 'queued') AS oldest,
            count(*) FILTER (WHERE state = 'running' AND lease_expires_at <= $1) AS expired
     FROM jobs`,
    [at],
  );
  const outbox = await query<{
    pending: string;
    failing: string;
    delivered: string;
    failed: string;
    oldest: string | null;
  }>(
    pool,
    'reading the outbox',
    `SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
            count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS failing,
            count(*) FILTER (WHERE state = 'delivered') AS delivered,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            min(created_at) FILTER (WHERE state = 'pending') AS oldest
     FROM outbox`,
  );
  const j = jobs.rows[0]!;
  const o = outbox.rows[0]!;
  const age = (oldest: string | null): number | null =>
    oldest === null ? null : Math.max(0, at - Number(oldest));
  return {
    at,
    schemaVersion: version,
    nodes,
    jobs: {
      queued: Number(j.queued),
      running: Number(j.running),
      done: Number(j.done),
      failed: Number(j.failed),
      oldestQueuedAgeMs: age(j.oldest),
      expiredLeases: Number(j.expired),
    },
    outbox: {
      pending: Number(o.pending),
      failing: Number(o.failing),
      delivered: Number(o.delivered),
      failed: Number(o.failed),
      oldestPendingAgeMs: age(o.oldest),
    },
  };
}

function seconds(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The status as a text table for operators. */
export function formatClusterStatus(status: ClusterStatus): string {
  const rows = status.nodes.map((n) => [
    n.nodeId,
    n.role,
    n.state,
    `${n.host}:${n.pid}`,
    `${seconds(status.at - n.heartbeatAt)} ago`,
    n.state === 'live' ? `${seconds(n.leaseExpiresAt - status.at)} left` : '-',
  ]);
  const header = ['node', 'role', 'state', 'host:pid', 'last beat', 'lease'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const { jobs, outbox } = status;
  return [
    `schema version ${status.schemaVersion}; database clock ${new Date(status.at).toISOString()}`,
    '',
    line(header),
    ...rows.map(line),
    ...(rows.length === 0 ? ['(no node has joined)'] : []),
    '',
    `jobs    queued ${jobs.queued}  running ${jobs.running} (${jobs.expiredLeases} with an expired lease)  done ${jobs.done}  failed ${jobs.failed}  oldest queued ${seconds(jobs.oldestQueuedAgeMs)}`,
    `outbox  pending ${outbox.pending} (${outbox.failing} retrying)  delivered ${outbox.delivered}  failed ${outbox.failed}  oldest pending ${seconds(outbox.oldestPendingAgeMs)}`,
    '',
  ].join('\n');
}
