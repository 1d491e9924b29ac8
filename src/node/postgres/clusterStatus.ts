/**
 * What `radiolens cluster status` shows (issue #17): every node and worker with its lease and
 * last beat, the queue's depth by state and the age of its oldest waiting job, the outbox's
 * backlog, and retention (ADR 0189): the age of the oldest done job and delivered entry, how
 * far each ingest node has read, and the latest prune with the policy it ran by; studies split
 * across ingest nodes that wait for a part (ADR 0192). One read-only snapshot on the database's
 * clock.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { databaseNow, query, type PgPool } from './connection.js';
import { listNodes, type NodeRow } from './nodeLease.js';
import { schemaVersion } from './migrations.js';
import { latestPruneRun, type PruneRun } from './retention.js';

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
    /** Milliseconds since the oldest done job was completed (retention removes it), or null. */
    readonly oldestDoneAgeMs: number | null;
  };
  readonly outbox: {
    readonly pending: number;
    readonly failing: number;
    readonly delivered: number;
    readonly failed: number;
    /** Milliseconds the oldest pending entry has waited since it was added, or null. */
    readonly oldestPendingAgeMs: number | null;
    /** Milliseconds since the oldest delivered entry was delivered, or null. */
    readonly oldestDeliveredAgeMs: number | null;
  };
  /** The latest prune (who, when, by which policy in days, what it removed), or null. */
  readonly retention: PruneRun | null;
  /**
   * Studies split across ingest nodes (ADR 0192; absent before schema 6): parts still arriving
   * at a node, and studies with a stable part that no job covers yet — waiting for another
   * node's part — with how long the oldest has waited.
   */
  readonly studies?: {
    readonly partsArriving: number;
    readonly waiting: number;
    readonly oldestWaitingAgeMs: number | null;
  };
}

/** Study parts (schema 6): each count walks a partial index of migration 6, not the table. */
async function studyParts(pool: PgPool, at: number): Promise<ClusterStatus['studies']> {
  const ready = `stable_for >= last_received_at AND (assembled_for IS NULL OR assembled_for < stable_for)`;
  const result = await query<{ arriving: string; waiting: string; oldest: string | null }>(
    pool,
    'reading study parts',
    `SELECT
       (SELECT count(*) FROM study_parts
        WHERE stable_for IS NULL OR stable_for < last_received_at) AS arriving,
       (SELECT count(DISTINCT study_instance_uid) FROM study_parts WHERE ${ready}) AS waiting,
       (SELECT min(updated_at) FROM study_parts WHERE ${ready}) AS oldest`,
  );
  const row = result.rows[0]!;
  return {
    partsArriving: Number(row.arriving),
    waiting: Number(row.waiting),
    oldestWaitingAgeMs: row.oldest === null ? null : Math.max(0, at - Number(row.oldest)),
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
    oldest_done: string | null;
  }>(
    pool,
    'reading the queue',
    `SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
            count(*) FILTER (WHERE state = 'running') AS running,
            count(*) FILTER (WHERE state = 'done') AS done,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            min(created_at) FILTER (WHERE state = 'queued') AS oldest,
            count(*) FILTER (WHERE state = 'running' AND lease_expires_at <= $1) AS expired,
            (SELECT min(completed_at) FROM jobs WHERE state = 'done') AS oldest_done
     FROM jobs`,
    [at],
  );
  const outbox = await query<{
    pending: string;
    failing: string;
    delivered: string;
    failed: string;
    oldest: string | null;
    oldest_delivered: string | null;
  }>(
    pool,
    'reading the outbox',
    `SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
            count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS failing,
            count(*) FILTER (WHERE state = 'delivered') AS delivered,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            min(created_at) FILTER (WHERE state = 'pending') AS oldest,
            (SELECT min(delivered_at) FROM outbox WHERE state = 'delivered') AS oldest_delivered
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
      oldestDoneAgeMs: age(j.oldest_done),
    },
    outbox: {
      pending: Number(o.pending),
      failing: Number(o.failing),
      delivered: Number(o.delivered),
      failed: Number(o.failed),
      oldestPendingAgeMs: age(o.oldest),
      oldestDeliveredAgeMs: age(o.oldest_delivered),
    },
    retention: await latestPruneRun(pool),
    ...(version >= 6 ? { studies: await studyParts(pool, at) } : {}),
  };
}

function seconds(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 2 * 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

/** The retention lines: the latest prune and its policy, or that none ran yet. */
function retentionLines(status: ClusterStatus): string[] {
  const run = status.retention;
  if (run === null) {
    return [
      'retention  no prune has run yet (each ingest node tries a minute after start, then every retention.intervalMinutes; radiolens cluster prune)',
    ];
  }
  const p = run.policy;
  const unread = Object.entries(run.removedUnread)
    .map(([node, u]) => `${node} ${u.jobs}`)
    .join(', ');
  return [
    `retention  done jobs ${p['doneJobsDays']} d, delivered ${p['deliveredOutboxDays']} d, failed jobs ${p['failedJobsDays']} d, unread ${p['unreadJobsDays']} d; failed outbox entries kept until requeued`,
    `           last prune ${seconds(status.at - run.finishedAt)} ago by ${run.nodeId}: removed ${run.removed.doneJobs} done jobs, ${run.removed.failedJobs} failed jobs, ${run.removed.deliveredOutbox} delivered entries${unread === '' ? '' : `; removed unread: ${unread}`}`,
  ];
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
    n.resultsReadTo === null ? '-' : `${seconds(status.at - n.resultsReadTo)} ago`,
  ]);
  const header = ['node', 'role', 'state', 'host:pid', 'last beat', 'lease', 'results read to'];
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
    `jobs    queued ${jobs.queued}  running ${jobs.running} (${jobs.expiredLeases} with an expired lease)  done ${jobs.done}  failed ${jobs.failed}  oldest queued ${seconds(jobs.oldestQueuedAgeMs)}  oldest done ${seconds(jobs.oldestDoneAgeMs)}`,
    `outbox  pending ${outbox.pending} (${outbox.failing} retrying)  delivered ${outbox.delivered}  failed ${outbox.failed}  oldest pending ${seconds(outbox.oldestPendingAgeMs)}  oldest delivered ${seconds(outbox.oldestDeliveredAgeMs)}`,
    ...(status.studies === undefined
      ? []
      : [
          `studies parts arriving ${status.studies.partsArriving}  waiting for another node's part ${status.studies.waiting}  oldest waiting ${seconds(status.studies.oldestWaitingAgeMs)}`,
        ]),
    ...retentionLines(status),
    '',
  ].join('\n');
}
