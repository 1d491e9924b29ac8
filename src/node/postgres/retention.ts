/**
 * Retention of the shared queue and outbox (ADR 0189). Done jobs and delivered outbox entries
 * are removed once older than the policy's age, failed jobs after a longer one; failed outbox
 * entries are never removed here (a result that never reached the PACS or EHR stays until an
 * operator requeues it). A finished job is removed only once the ingest node that enqueued it
 * has read it (`nodes.results_read_to`, written by that node's ClusterResults), or once it is
 * older than the policy's unread age; such a job is counted per node in `prune_runs.unread`,
 * so that the node, when it comes back, can say what it missed. Study parts (ADR 0192) go
 * with the done jobs once assembled, after the unread age otherwise.
 *
 * Work goes in batches of a few thousand rows, each its own short statement walking an index
 * range (migrations 3 and 5) with keyset pagination, so no batch rescans rows kept earlier and
 * no lock is held for long; claims touch only queued and running rows and never wait on it.
 * One node prunes at a time: the one that gets a session advisory lock.
 */
import { createHash } from 'node:crypto';
import { databaseNow, query, type PgClient, type PgPool } from './connection.js';
import { pruneStudyParts } from './studyAssembly.js';

/** Ages in ms: rows finished longer ago than these are removed. */
export interface PrunePolicy {
  readonly doneJobsMs: number;
  readonly deliveredOutboxMs: number;
  readonly failedJobsMs: number;
  /** A finished job its ingest node has not read is kept this long, then removed and reported. */
  readonly unreadJobsMs: number;
}

const DAY_MS = 86_400_000;

/** The defaults in days (config `retention`, `radiolens cluster prune`). */
export const RETENTION_DEFAULT_DAYS = {
  doneJobsDays: 30,
  deliveredOutboxDays: 30,
  failedJobsDays: 90,
  unreadJobsDays: 90,
} as const;

export const DEFAULT_PRUNE_POLICY: PrunePolicy = {
  doneJobsMs: RETENTION_DEFAULT_DAYS.doneJobsDays * DAY_MS,
  deliveredOutboxMs: RETENTION_DEFAULT_DAYS.deliveredOutboxDays * DAY_MS,
  failedJobsMs: RETENTION_DEFAULT_DAYS.failedJobsDays * DAY_MS,
  unreadJobsMs: RETENTION_DEFAULT_DAYS.unreadJobsDays * DAY_MS,
};

/**
 * The advisory lock key of the pruner: the first 8 bytes of sha256('radiolens retention
 * prune') as a signed bigint, as for the migration lock (ADR 0181).
 */
export const PRUNE_LOCK_KEY = createHash('sha256')
  .update('radiolens retention prune')
  .digest()
  .readBigInt64BE(0);

export interface PruneOptions {
  readonly policy: PrunePolicy;
  /** Who prunes (recorded in prune_runs). */
  readonly nodeId: string;
  /** Rows per statement; default 5000 (measured: bench/retention.bench.ts). */
  readonly batchSize?: number;
  /** Count what would be removed, remove nothing, record nothing. */
  readonly dryRun?: boolean;
  /** The clock (tests); default the database's. */
  readonly now?: () => number;
}

/** Finished jobs of one ingest node that it had not read. */
export interface UnreadJobs {
  readonly jobs: number;
  /** Finish times (ms) of the oldest and newest of them. */
  readonly from: number;
  readonly to: number;
}

export interface PruneReport {
  /** False when another node held the prune lock (nothing was done). */
  readonly ran: boolean;
  readonly dryRun: boolean;
  /** The database clock the ages were counted from. */
  readonly at: number;
  readonly removed: {
    readonly doneJobs: number;
    readonly failedJobs: number;
    readonly deliveredOutbox: number;
    /** Study parts of ingest nodes (ADR 0192); absent on the embedded node. */
    readonly studyParts?: number;
  };
  /**
   * Result files removed from the database (ADR 0193) ahead of their jobs: those of done jobs
   * their ingest node has read and whose every outbox entry is delivered — how many jobs' files,
   * how many files and their bytes. Files of removed jobs go with them and are not counted.
   */
  readonly resultFiles: { readonly jobs: number; readonly files: number; readonly bytes: number };
  /** Jobs removed unread (older than the unread age), by ingest node. */
  readonly removedUnread: Readonly<Record<string, UnreadJobs>>;
  /** Jobs past their age kept because their ingest node has not read them, by node. */
  readonly keptUnread: Readonly<Record<string, UnreadJobs>>;
  readonly batches: number;
  readonly ms: number;
}

interface PassResult {
  removed: number;
  batches: number;
}

type UnreadTally = Map<string, { jobs: number; from: number; to: number }>;

function tally(
  into: UnreadTally,
  rows: readonly { node: string; n: string; from: string; to: string }[],
): void {
  for (const row of rows) {
    const known = into.get(row.node);
    const from = Number(row.from);
    const to = Number(row.to);
    into.set(row.node, {
      jobs: (known?.jobs ?? 0) + Number(row.n),
      from: Math.min(known?.from ?? from, from),
      to: Math.max(known?.to ?? to, to),
    });
  }
}

interface BatchRow {
  scanned: string;
  last_at: string | null;
  last_id: string | null;
  removed: string;
  removed_unread: { node: string; n: string; from: string; to: string }[];
  kept_unread: { node: string; n: string; from: string; to: string }[];
}

/**
 * One kind of finished job (done, by completed_at; failed, by failed_at), in batches. Each
 * batch scans the next `batch` rows past the cutoff in index order, judges each against its
 * ingest node's read position, and removes those that may go.
 */
async function pruneJobs(
  client: PgClient,
  kind: 'done' | 'failed',
  cutoff: number,
  unreadCutoff: number,
  batch: number,
  dryRun: boolean,
  removedUnread: UnreadTally,
  keptUnread: UnreadTally,
): Promise<PassResult> {
  const column = kind === 'done' ? 'completed_at' : 'failed_at';
  // A dry run judges the same rows and removes none.
  const remove = dryRun
    ? `removed AS (SELECT * FROM doomed)`
    : `locked AS (
         SELECT jobs.id FROM jobs JOIN doomed ON jobs.id = doomed.id
         WHERE jobs.state = $1 FOR UPDATE OF jobs SKIP LOCKED),
       removed AS (
         DELETE FROM jobs USING locked, doomed
         WHERE jobs.id = locked.id AND doomed.id = locked.id
         RETURNING doomed.*)`;
  let after: [number, number] = [-1, -1];
  let removed = 0;
  let batches = 0;
  for (;;) {
    const result = await query<BatchRow>(
      client,
      `pruning ${kind} jobs`,
      `WITH scanned AS (
         SELECT id, origin_node, ${column} AS at FROM jobs
         WHERE state = $1 AND ${column} < $2 AND (${column}, id) > ($4, $5)
         ORDER BY ${column}, id LIMIT $6),
       judged AS (
         SELECT scanned.*, (scanned.origin_node IS NOT NULL
             AND scanned.at >= COALESCE(nodes.results_read_to, 0)) AS unread
         FROM scanned LEFT JOIN nodes ON nodes.node_id = scanned.origin_node),
       doomed AS (SELECT * FROM judged WHERE NOT unread OR at < $3),
       ${remove}
       SELECT
         (SELECT count(*) FROM scanned) AS scanned,
         (SELECT at FROM scanned ORDER BY at DESC, id DESC LIMIT 1) AS last_at,
         (SELECT id FROM scanned ORDER BY at DESC, id DESC LIMIT 1) AS last_id,
         (SELECT count(*) FROM removed) AS removed,
         (SELECT COALESCE(json_agg(r), '[]') FROM (
            SELECT origin_node AS node, count(*) AS n, min(at) AS "from", max(at) AS "to"
            FROM removed WHERE unread GROUP BY origin_node) r) AS removed_unread,
         (SELECT COALESCE(json_agg(k), '[]') FROM (
            SELECT origin_node AS node, count(*) AS n, min(at) AS "from", max(at) AS "to"
            FROM judged WHERE unread AND at >= $3 GROUP BY origin_node) k) AS kept_unread`,
      [kind, cutoff, unreadCutoff, after[0], after[1], batch],
    );
    const row = result.rows[0]!;
    batches += 1;
    removed += Number(row.removed);
    tally(removedUnread, row.removed_unread);
    tally(keptUnread, row.kept_unread);
    if (Number(row.scanned) < batch || row.last_at === null || row.last_id === null) break;
    after = [Number(row.last_at), Number(row.last_id)];
  }
  return { removed, batches };
}

/** Delivered outbox entries delivered before `cutoff`, in batches. */
async function pruneDelivered(
  client: PgClient,
  cutoff: number,
  batch: number,
  dryRun: boolean,
): Promise<PassResult> {
  const remove = dryRun
    ? `removed AS (SELECT id FROM scanned)`
    : `locked AS (
         SELECT outbox.id FROM outbox JOIN scanned ON outbox.id = scanned.id
         WHERE outbox.state = 'delivered' FOR UPDATE OF outbox SKIP LOCKED),
       removed AS (DELETE FROM outbox USING locked WHERE outbox.id = locked.id RETURNING outbox.id)`;
  let after: [number, number] = [-1, -1];
  let removed = 0;
  let batches = 0;
  for (;;) {
    const result = await query<{
      scanned: string;
      last_at: string | null;
      last_id: string | null;
      removed: string;
    }>(
      client,
      'pruning delivered outbox entries',
      `WITH scanned AS (
         SELECT id, delivered_at AS at FROM outbox
         WHERE state = 'delivered' AND delivered_at < $1 AND (delivered_at, id) > ($2, $3)
         ORDER BY delivered_at, id LIMIT $4),
       ${remove}
       SELECT (SELECT count(*) FROM scanned) AS scanned,
         (SELECT at FROM scanned ORDER BY at DESC, id DESC LIMIT 1) AS last_at,
         (SELECT id FROM scanned ORDER BY at DESC, id DESC LIMIT 1) AS last_id,
         (SELECT count(*) FROM removed) AS removed`,
      [cutoff, after[0], after[1], batch],
    );
    const row = result.rows[0]!;
    batches += 1;
    removed += Number(row.removed);
    if (Number(row.scanned) < batch || row.last_at === null || row.last_id === null) break;
    after = [Number(row.last_at), Number(row.last_id)];
  }
  return { removed, batches };
}

/**
 * Result files whose job is done, read by the ingest node that enqueued it (or enqueued by
 * none), and whose every outbox entry is delivered: nothing will read them again (ADR 0193).
 * In batches of jobs, by job id. A failed entry keeps its job's files until it is requeued
 * and delivered; a job pruned as unread takes its files with it (ON DELETE CASCADE).
 */
async function pruneResultFiles(
  client: PgClient,
  batch: number,
  dryRun: boolean,
): Promise<PassResult & { jobs: number; files: number; bytes: number }> {
  const remove = dryRun
    ? `removed AS (SELECT f.job_id, f.size FROM result_files f JOIN judged ON f.job_id = judged.job_id)`
    : `removed AS (DELETE FROM result_files f USING judged WHERE f.job_id = judged.job_id
         RETURNING f.job_id, f.size)`;
  let after = -1;
  const total = { removed: 0, batches: 0, jobs: 0, files: 0, bytes: 0 };
  for (;;) {
    const result = await query<{
      scanned: string;
      last: string | null;
      jobs: string;
      files: string;
      bytes: string | null;
    }>(
      client,
      'pruning result files',
      `WITH scanned AS (
         SELECT DISTINCT job_id FROM result_files WHERE job_id > $1 ORDER BY job_id LIMIT $2),
       judged AS (
         SELECT scanned.job_id FROM scanned
         JOIN jobs ON jobs.id = scanned.job_id
         LEFT JOIN nodes ON nodes.node_id = jobs.origin_node
         WHERE jobs.state = 'done'
           AND (jobs.origin_node IS NULL OR jobs.completed_at < COALESCE(nodes.results_read_to, 0))
           AND NOT EXISTS (SELECT 1 FROM outbox
             WHERE outbox.result_job = scanned.job_id AND outbox.state <> 'delivered')),
       ${remove}
       SELECT (SELECT count(*) FROM scanned) AS scanned,
         (SELECT max(job_id) FROM scanned) AS last,
         (SELECT count(DISTINCT job_id) FROM removed) AS jobs,
         (SELECT count(*) FROM removed) AS files,
         (SELECT sum(size) FROM removed) AS bytes`,
      [after, batch],
    );
    const row = result.rows[0]!;
    total.batches += 1;
    total.jobs += Number(row.jobs);
    total.files += Number(row.files);
    total.bytes += Number(row.bytes ?? 0);
    if (Number(row.scanned) < batch || row.last === null) break;
    after = Number(row.last);
  }
  total.removed = total.files;
  return total;
}

const asRecord = (map: UnreadTally): Record<string, UnreadJobs> => Object.fromEntries(map);

const policyDays = (policy: PrunePolicy): Record<string, number> => ({
  doneJobsDays: policy.doneJobsMs / DAY_MS,
  deliveredOutboxDays: policy.deliveredOutboxMs / DAY_MS,
  failedJobsDays: policy.failedJobsMs / DAY_MS,
  unreadJobsDays: policy.unreadJobsMs / DAY_MS,
});

/** How long prune_runs rows are kept (they are one an hour at most). */
const PRUNE_RUNS_KEPT_MS = 365 * DAY_MS;

/**
 * Prunes the shared queue and outbox by the policy, unless another node holds the prune lock
 * (then `ran` is false). Records the run in prune_runs (not a dry run).
 */
export async function pruneCluster(pool: PgPool, options: PruneOptions): Promise<PruneReport> {
  const started = performance.now();
  const batch = options.batchSize ?? 5000;
  const dryRun = options.dryRun === true;
  const client = await pool.connect();
  let broken = false;
  try {
    const lock = await query<{ got: boolean }>(
      client,
      'taking the prune lock',
      'SELECT pg_try_advisory_lock($1) AS got',
      [PRUNE_LOCK_KEY.toString()],
    );
    const at = options.now?.() ?? (await databaseNow(client));
    const removedUnread: UnreadTally = new Map();
    const keptUnread: UnreadTally = new Map();
    if (lock.rows[0]?.got !== true) {
      return {
        ran: false,
        dryRun,
        at,
        removed: { doneJobs: 0, failedJobs: 0, deliveredOutbox: 0 },
        resultFiles: { jobs: 0, files: 0, bytes: 0 },
        removedUnread: {},
        keptUnread: {},
        batches: 0,
        ms: performance.now() - started,
      };
    }
    try {
      const { policy } = options;
      const unreadCutoff = at - policy.unreadJobsMs;
      const done = await pruneJobs(
        client,
        'done',
        at - policy.doneJobsMs,
        unreadCutoff,
        batch,
        dryRun,
        removedUnread,
        keptUnread,
      );
      const failed = await pruneJobs(
        client,
        'failed',
        at - policy.failedJobsMs,
        unreadCutoff,
        batch,
        dryRun,
        removedUnread,
        keptUnread,
      );
      const delivered = await pruneDelivered(client, at - policy.deliveredOutboxMs, batch, dryRun);
      // Parts of assembled studies go with the done jobs; a part never assembled (its node did
      // not come back) after the unread age (ADR 0192).
      const parts = await pruneStudyParts(client, {
        at,
        assembledMs: policy.doneJobsMs,
        anyMs: Math.max(policy.doneJobsMs, policy.unreadJobsMs),
        batch,
        dryRun,
      });
      // After the jobs: files of a job removed above went with it.
      const files = await pruneResultFiles(client, batch, dryRun);
      const removed = {
        doneJobs: done.removed,
        failedJobs: failed.removed,
        deliveredOutbox: delivered.removed,
        studyParts: parts.removed,
      };
      if (!dryRun) {
        const finished = options.now?.() ?? (await databaseNow(client));
        await query(
          client,
          'recording a prune run',
          `INSERT INTO prune_runs (node_id, started_at, finished_at, policy, removed, unread)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            options.nodeId,
            at,
            finished,
            JSON.stringify(policyDays(options.policy)),
            JSON.stringify(removed),
            JSON.stringify(asRecord(removedUnread)),
          ],
        );
        await query(client, 'pruning prune_runs', 'DELETE FROM prune_runs WHERE finished_at < $1', [
          at - PRUNE_RUNS_KEPT_MS,
        ]);
      }
      return {
        ran: true,
        dryRun,
        at,
        removed,
        resultFiles: { jobs: files.jobs, files: files.files, bytes: files.bytes },
        removedUnread: asRecord(removedUnread),
        keptUnread: asRecord(keptUnread),
        batches: done.batches + failed.batches + delivered.batches + parts.batches + files.batches,
        ms: performance.now() - started,
      };
    } finally {
      await query(client, 'releasing the prune lock', 'SELECT pg_advisory_unlock($1)', [
        PRUNE_LOCK_KEY.toString(),
      ]).catch(() => {
        // The connection is gone, and its session lock with it; do not reuse it.
        broken = true;
      });
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}

/** The latest prune run, for cluster status; null when none ran yet. */
export interface PruneRun {
  readonly nodeId: string;
  readonly finishedAt: number;
  /** The policy it pruned by, in days. */
  readonly policy: Readonly<Record<string, number>>;
  readonly removed: PruneReport['removed'];
  readonly removedUnread: Readonly<Record<string, UnreadJobs>>;
}

export async function latestPruneRun(pool: PgPool): Promise<PruneRun | null> {
  const result = await query<{
    node_id: string;
    finished_at: string;
    policy: Record<string, number>;
    removed: PruneReport['removed'];
    unread: Record<string, UnreadJobs>;
  }>(pool, 'reading prune runs', 'SELECT * FROM prune_runs ORDER BY id DESC LIMIT 1');
  const row = result.rows[0];
  if (row === undefined) return null;
  return {
    nodeId: row.node_id,
    finishedAt: Number(row.finished_at),
    policy: row.policy,
    removed: row.removed,
    removedUnread: row.unread,
  };
}

/**
 * An ingest node says it has read every job finished before `readTo` (database clock, ms):
 * from then on retention may remove them (ADR 0189). Never moves back.
 */
export async function recordResultsRead(
  pool: PgPool,
  nodeId: string,
  readTo: number,
): Promise<void> {
  await query(
    pool,
    'recording how far results were read',
    `UPDATE nodes SET results_read_to = GREATEST(COALESCE(results_read_to, 0), $2)
     WHERE node_id = $1`,
    [nodeId, readTo],
  );
}

/** How far an ingest node last said it has read (`recordResultsRead`); null before it said. */
export async function recordedResultsRead(pool: PgPool, nodeId: string): Promise<number | null> {
  const result = await query<{ results_read_to: string | null }>(
    pool,
    'reading how far results were read',
    'SELECT results_read_to FROM nodes WHERE node_id = $1',
    [nodeId],
  );
  const value = result.rows[0]?.results_read_to ?? null;
  return value === null ? null : Number(value);
}

/**
 * Jobs of this ingest node that retention removed before it read them (it was away longer
 * than the unread age): the runs since the position it had recorded.
 */
export async function missedResults(pool: PgPool, nodeId: string): Promise<UnreadJobs | null> {
  const result = await query<{ n: string | null; from: string | null; to: string | null }>(
    pool,
    'reading what retention removed unread',
    `SELECT sum((unread -> $1 ->> 'jobs')::bigint) AS n,
            min((unread -> $1 ->> 'from')::bigint) AS "from",
            max((unread -> $1 ->> 'to')::bigint) AS "to"
     FROM prune_runs
     WHERE unread ? $1 AND (unread -> $1 ->> 'to')::bigint >= COALESCE(
       (SELECT results_read_to FROM nodes WHERE node_id = $1), 0)`,
    [nodeId],
  );
  const row = result.rows[0];
  if (row === undefined || row.n === null) return null;
  return { jobs: Number(row.n), from: Number(row.from), to: Number(row.to) };
}
