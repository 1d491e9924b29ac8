/**
 * Retention of the shared queue and outbox on a real PostgreSQL (ADR 0189): what is removed
 * and what is kept (young rows, queued work, failed outbox entries, finished jobs their ingest
 * node has not read), in batches smaller than the work; the report of jobs removed unread and
 * what the node is told when it comes back; one pruner at a time; `radiolens cluster prune`
 * and `cluster status`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { runCli } from '../../../test/support/index.js';
import { parseDestination } from '../delivery/index.js';
import {
  DEFAULT_PRUNE_POLICY,
  NodeLease,
  PRUNE_LOCK_KEY,
  PgJobQueue,
  PgOutbox,
  missedResults,
  pruneCluster,
  readClusterStatus,
  recordResultsRead,
  type PgPool,
} from './index.js';

const DAY = 86_400_000;

/** A job enqueued by `origin` (null: no ingest node recorded) and finished at `at`. */
async function finishedJob(
  pool: PgPool,
  key: string,
  origin: string | null,
  at: number,
  outcome: 'done' | 'failed',
): Promise<void> {
  const queue = new PgJobQueue(pool, {
    now: () => at,
    ...(origin === null ? {} : { nodeId: origin }),
  });
  await queue.enqueue({ key, studyInstanceUid: `1.2.${key.length}`, model: 'm@1', maxAttempts: 1 });
  const claimed = await queue.claim('w');
  assert.ok(claimed !== undefined && claimed.job.key === key);
  if (outcome === 'done') assert.ok(await queue.complete(claimed, {}));
  else assert.equal(await queue.fail(claimed, 'the study cannot be read'), 'failed');
}

async function keys(pool: PgPool, table: 'jobs' | 'outbox'): Promise<string[]> {
  const result = await pool.query<{ key: string }>(`SELECT key FROM ${table} ORDER BY key`);
  return result.rows.map((row) => row.key);
}

test('prune: old done jobs, old failed jobs and delivered entries go in small batches; young rows, queued work, failed entries and jobs their ingest node has not read stay', async () => {
  await withTestDatabase(async ({ pool, url }) => {
    const now = Date.now();
    const old = now - 40 * DAY;
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    await NodeLease.acquire(pool, { nodeId: 'ingest-b', role: 'serve' });
    // ingest-a has read everything; ingest-b has read nothing (it was away).
    await recordResultsRead(pool, 'ingest-a', now - 60_000);
    for (let i = 0; i < 5; i++) await finishedJob(pool, `a-old-done-${i}`, 'ingest-a', old, 'done');
    await finishedJob(pool, 'a-young-done', 'ingest-a', now - 20 * DAY, 'done');
    await finishedJob(pool, 'b-old-done', 'ingest-b', old, 'done');
    await finishedJob(pool, 'b-ancient-done', 'ingest-b', now - 100 * DAY, 'done');
    await finishedJob(pool, 'none-old-done', null, old, 'done');
    await finishedJob(pool, 'a-old-failed', 'ingest-a', old, 'failed');
    await finishedJob(pool, 'a-ancient-failed', 'ingest-a', now - 100 * DAY, 'failed');
    await new PgJobQueue(pool, { now: () => now - 100 * DAY }).enqueue({
      key: 'queued-ancient',
      studyInstanceUid: '1.2.9',
      model: 'm@1',
    });

    const destination = parseDestination('file:///tmp/radiolens-prune-test');
    const outboxAt = (at: number): PgOutbox => new PgOutbox(pool, { now: () => at });
    const sent = async (
      key: string,
      at: number,
      status: 'delivered' | 'rejected',
    ): Promise<void> => {
      const outbox = outboxAt(at);
      await outbox.enqueue([
        { destination, key, payload: { kind: 'fhir-bundle', file: '/x', studyInstanceUid: key } },
      ]);
      const [claimed] = await outbox.claimDue(1);
      assert.ok(claimed !== undefined);
      await outbox.settle(
        claimed,
        status === 'delivered'
          ? { status: 'delivered' }
          : { status: 'rejected', reason: 'refused' },
      );
    };
    for (let i = 0; i < 3; i++) await sent(`old-delivered-${i}`, old, 'delivered');
    await sent('young-delivered', now - 20 * DAY, 'delivered');
    await sent('ancient-rejected', now - 100 * DAY, 'rejected');
    await outboxAt(now - 100 * DAY).enqueue([
      {
        destination,
        key: 'ancient-pending',
        payload: { kind: 'fhir-bundle', file: '/x', studyInstanceUid: 'p' },
      },
    ]);
    const jobsBefore = await keys(pool, 'jobs');
    const outboxBefore = await keys(pool, 'outbox');

    // A dry run, through the command line: counts, removes nothing, records nothing.
    const dry = runCli(['cluster', 'prune', '--database', url, '--dry-run', '--batch', '2']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /would remove 7 done jobs, 1 failed jobs, 3 delivered outbox entries \(\d+ batches/,
    );
    assert.match(dry.stdout, /would remove 1 finished jobs that ingest node ingest-b never read/);
    assert.match(
      dry.stdout,
      /kept 1 finished jobs past their age that ingest node ingest-b has not read yet/,
    );
    assert.deepEqual(await keys(pool, 'jobs'), jobsBefore);
    assert.deepEqual(await keys(pool, 'outbox'), outboxBefore);
    assert.equal((await readClusterStatus(pool)).retention, null, 'a dry run is not a prune run');

    const report = await pruneCluster(pool, {
      policy: DEFAULT_PRUNE_POLICY,
      nodeId: 'ingest-a',
      batchSize: 2,
    });
    assert.equal(report.ran, true);
    assert.deepEqual(report.removed, {
      doneJobs: 7,
      failedJobs: 1,
      deliveredOutbox: 3,
      studyParts: 0,
    });
    assert.ok(report.batches >= 4 + 1 + 2, `small batches (${report.batches})`);
    assert.deepEqual(Object.keys(report.removedUnread), ['ingest-b']);
    assert.equal(report.removedUnread['ingest-b']!.jobs, 1);
    assert.equal(report.keptUnread['ingest-b']!.jobs, 1);
    assert.deepEqual(await keys(pool, 'jobs'), [
      'a-old-failed',
      'a-young-done',
      'b-old-done',
      'queued-ancient',
    ]);
    assert.deepEqual(await keys(pool, 'outbox'), [
      'ancient-pending',
      'ancient-rejected',
      'young-delivered',
    ]);

    // ingest-b, back, is told what retention removed before it read it — once: after it has
    // read on, the old report no longer concerns it.
    const missed = await missedResults(pool, 'ingest-b');
    assert.equal(missed?.jobs, 1);
    assert.equal(missed?.from, now - 100 * DAY);
    assert.equal(await missedResults(pool, 'ingest-a'), null);
    await recordResultsRead(pool, 'ingest-b', now - 60_000);
    assert.equal(await missedResults(pool, 'ingest-b'), null);

    // Once read, its old job goes with the next prune.
    const again = await pruneCluster(pool, { policy: DEFAULT_PRUNE_POLICY, nodeId: 'ingest-a' });
    assert.deepEqual(again.removed, {
      doneJobs: 1,
      failedJobs: 0,
      deliveredOutbox: 0,
      studyParts: 0,
    });
    assert.deepEqual(again.keptUnread, {});

    const status = await readClusterStatus(pool);
    assert.equal(status.retention?.nodeId, 'ingest-a');
    assert.deepEqual(status.retention?.policy, {
      doneJobsDays: 30,
      deliveredOutboxDays: 30,
      failedJobsDays: 90,
      unreadJobsDays: 90,
    });
    assert.ok(
      status.jobs.oldestDoneAgeMs !== null &&
        Math.abs(status.jobs.oldestDoneAgeMs - 20 * DAY) < 60_000,
      'the oldest done job is the 20-day-old one',
    );
    assert.ok(
      status.outbox.oldestDeliveredAgeMs !== null &&
        Math.abs(status.outbox.oldestDeliveredAgeMs - 20 * DAY) < 60_000,
    );
    const text = runCli(['cluster', 'status', '--database', url]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /oldest done 20\.0 d/);
    assert.match(text.stdout, /retention\s+done jobs 30 d, delivered 30 d, failed jobs 90 d/);
    assert.match(text.stdout, /last prune .* ago by ingest-a: removed 1 done jobs/);

    // The command line prunes with its own ages, and prints what it removed.
    const cli = runCli(['cluster', 'prune', '--database', url, '--older-than', '10d']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^removed 1 done jobs, 0 failed jobs, 1 delivered outbox entries/);
    const bad = runCli(['cluster', 'prune', '--database', url, '--older-than', 'a month']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /E_BAD_INPUT: --older-than a month: an age is a number and a unit/);
  });
});

test('prune: one pruner at a time — while another session holds the prune lock, nothing is done', async () => {
  await withTestDatabase(async ({ pool, url }) => {
    await finishedJob(pool, 'old', null, Date.now() - 40 * DAY, 'done');
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [PRUNE_LOCK_KEY.toString()]);
      const report = await pruneCluster(pool, { policy: DEFAULT_PRUNE_POLICY, nodeId: 'x' });
      assert.equal(report.ran, false);
      assert.deepEqual(await keys(pool, 'jobs'), ['old']);
      const cli = runCli(['cluster', 'prune', '--database', url]);
      assert.equal(cli.status, 1);
      assert.match(cli.stdout, /another node is pruning now/);
      await other.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK_KEY.toString()]);
      const after = await pruneCluster(pool, { policy: DEFAULT_PRUNE_POLICY, nodeId: 'x' });
      assert.equal(after.ran, true);
      assert.deepEqual(await keys(pool, 'jobs'), []);
    } finally {
      await other.end();
    }
  });
});

test('failed jobs carry when they failed, and ingest nodes read them as they read completions', async () => {
  await withTestDatabase(async ({ pool }) => {
    let t = 1_000_000;
    const queue = new PgJobQueue(pool, { now: () => t, nodeId: 'ingest-a', leaseMs: 10 });
    await queue.enqueue({ key: 'fails', studyInstanceUid: '1.1', model: 'm', maxAttempts: 1 });
    await queue.enqueue({ key: 'expires', studyInstanceUid: '1.2', model: 'm', maxAttempts: 1 });
    await queue.enqueue({ key: 'done', studyInstanceUid: '1.3', model: 'm' });
    const failing = await queue.claim('w');
    t = 2_000_000;
    assert.equal(await queue.fail(failing!, 'no readable instance'), 'failed');
    await queue.claim('w'); // its lease runs out on the last attempt
    const done = await queue.claim('w');
    t = 3_000_000;
    await queue.complete(done!, {});
    await queue.claim('w'); // fails the job whose last lease expired, at this time
    const finished = await queue.finishedSince({ at: 0, id: 0 }, { at: 0, id: 0 });
    assert.deepEqual(
      finished.done.map((j) => j.key),
      ['done'],
    );
    assert.deepEqual(
      finished.failed.map((j) => [j.key, j.failedAt, j.lastError?.startsWith('lease') ?? false]),
      [
        ['fails', 2_000_000, false],
        ['expires', 3_000_000, true],
      ],
    );
    assert.deepEqual(
      (await queue.finishedSince({ at: 0, id: 0 }, { at: 2_500_000, id: 0 })).failed.map(
        (j) => j.key,
      ),
      ['expires'],
    );
    const origins = await pool.query<{ origin_node: string }>(
      'SELECT DISTINCT origin_node FROM jobs',
    );
    assert.deepEqual(origins.rows, [{ origin_node: 'ingest-a' }], 'each job names its ingest node');
  });
});
