/**
 * An ingest node's ClusterResults on a real PostgreSQL queue and its real SQLite index
 * (ADR 0189): the jobs of its studies that failed for good join its worklist as failed, as on
 * the embedded node; others' studies and shadow runs do not; it records how far it has read;
 * and a node that was away longer than the unread age is told at start what it missed; a job
 * whose results it could not take is tried again until it joins, also after a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { syntheticInstance } from '../../../test/support/store.js';
import {
  DEFAULT_PRUNE_POLICY,
  NodeLease,
  PgJobQueue,
  missedResults,
  pruneCluster,
  recordResultsRead,
  recordedResultsRead,
  type PgPool,
} from '../postgres/index.js';
import { InstanceStore, openNodeDatabase } from '../store/index.js';
import { ClusterFailures, WorklistSource } from '../worklist/index.js';
import { AnalysisLog } from './analysisLog.js';
import { ClusterResults } from './clusterResults.js';
import { createLogger } from './log.js';
import type { ResultFile } from '../delivery/index.js';

const DAY = 86_400_000;

async function failForGood(queue: PgJobQueue, key: string, study: string, shadow = false) {
  await queue.enqueue({
    key,
    studyInstanceUid: study,
    model: 'cxr-pneumonia',
    maxAttempts: 1,
    payload: shadow ? { shadow: true } : {},
  });
  const claimed = await queue.claim('worker-1');
  assert.ok(claimed?.job.key === key);
  assert.equal(await queue.fail(claimed, 'no readable instance of the study'), 'failed');
}

interface IngestNodeOptions {
  readonly batch?: number;
  readonly resultFiles?: (jobId: number) => Promise<ResultFile[]>;
  readonly now?: () => number;
}

async function withIngestNode(
  pool: PgPool,
  work: (node: {
    results: ClusterResults;
    /** The node's ClusterResults as a restarted process makes it, over the same index. */
    restart: () => ClusterResults;
    store: InstanceStore;
    worklist: WorklistSource;
    analysisLog: AnalysisLog;
    lines: Record<string, unknown>[];
    notices: () => number;
  }) => Promise<void>,
  { batch, resultFiles, now }: IngestNodeOptions = {},
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-cluster-results-'));
  const data = join(dir, 'data');
  const db = openNodeDatabase(data);
  const lines: Record<string, unknown>[] = [];
  let notices = 0;
  try {
    const store = InstanceStore.onDatabase(data, db);
    const queue = new PgJobQueue(pool, { nodeId: 'ingest-a' });
    const analysisLog = new AnalysisLog(db);
    const makeResults = () =>
      new ClusterResults({
        ...(batch === undefined ? {} : { batch }),
        ...(resultFiles === undefined ? {} : { resultFiles }),
        ...(now === undefined ? {} : { now }),
        finishedSince: (done, failed, limit) => queue.finishedSince(done, failed, limit),
        recordReadTo: (readTo) => recordResultsRead(pool, 'ingest-a', readTo),
        missed: () => missedResults(pool, 'ingest-a'),
        recordedReadTo: () => recordedResultsRead(pool, 'ingest-a'),
        store,
        analysisLog,
        failures: new ClusterFailures(db),
        dataDir: data,
        logger: createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
        onResult: () => (notices += 1),
      });
    await work({
      results: makeResults(),
      restart: makeResults,
      store,
      analysisLog,
      worklist: new WorklistSource(db, { dataDir: data, studyKeyOf: (uid) => `key-${uid}` }),
      lines,
      notices: () => notices,
    });
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("an ingest node lists its studies' jobs that failed for good on a shared queue, as the embedded node does", async () => {
  await withTestDatabase(async ({ pool }) => {
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    await withIngestNode(pool, async ({ results, store, worklist, notices }) => {
      const ours = await store.storeInstance(syntheticInstance({ study: 'ours', instance: '1' }), {
        source: 'test',
      });
      const shadowed = await store.storeInstance(
        syntheticInstance({ study: 'shadowed', instance: '1' }),
        { source: 'test' },
      );
      const queue = new PgJobQueue(pool, { nodeId: 'ingest-a' });
      await failForGood(queue, 'ours', ours.instance.studyInstanceUid);
      await failForGood(queue, 'theirs', '1.2.826.0.1.3680043.2.1125.99');
      await failForGood(queue, 'shadow', shadowed.instance.studyInstanceUid, true);
      assert.deepEqual(worklist.entries(), [], 'nothing before the node has read the queue');

      assert.equal(await results.poll(), 2, 'its own two failures (one a shadow run)');
      assert.equal(await results.poll(), 0, 'a failure seen twice is recorded once');
      assert.equal(notices(), 1, 'one change notice: the clinical failure');
      assert.deepEqual(
        worklist.entries().map((e) => [e.studyInstanceUid, e.model, e.status, e.finding]),
        [[ours.instance.studyInstanceUid, 'cxr-pneumonia', 'failed', null]],
      );

      // It has told the database how far it read: up to the clock less the margin.
      const read = await pool.query<{ results_read_to: string; now: string }>(
        `SELECT results_read_to, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now
         FROM nodes WHERE node_id = 'ingest-a'`,
      );
      const lag = Number(read.rows[0]!.now) - Number(read.rows[0]!.results_read_to);
      assert.ok(lag >= 10 * 60_000 && lag < 11 * 60_000, `read to 10 min before now (${lag} ms)`);
    });
  });
});

test('a node away longer than the unread age is told at start which of its jobs retention removed unread', async () => {
  await withTestDatabase(async ({ pool }) => {
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    const long = Date.now() - 100 * DAY;
    const queue = new PgJobQueue(pool, { nodeId: 'ingest-a', now: () => long });
    await queue.enqueue({ key: 'gone', studyInstanceUid: '1.2.3', model: 'm' });
    const claimed = await queue.claim('w');
    await queue.complete(claimed!, {});
    const pruned = await pruneCluster(pool, { policy: DEFAULT_PRUNE_POLICY, nodeId: 'ingest-b' });
    assert.equal(pruned.removedUnread['ingest-a']?.jobs, 1);
    await withIngestNode(pool, async ({ results, lines }) => {
      await results.poll();
      await results.poll();
      const missed = lines.filter((l) => l['event'] === 'cluster-results-missed');
      assert.equal(missed.length, 1, 'said once');
      assert.equal(missed[0]!['level'], 'error');
      assert.equal(missed[0]!['jobs'], 1);
      assert.equal(missed[0]!['from'], new Date(long).toISOString());
    });
  });
});

/** A job of `study` completed by a worker at `at` (database clock of the test), with an analysis. */
async function completeAt(
  pool: PgPool,
  key: string,
  study: string,
  at: number,
  inDatabase = false,
): Promise<number> {
  const queue = new PgJobQueue(pool, { nodeId: 'worker-1', now: () => at });
  await queue.enqueue({ key, studyInstanceUid: study, model: 'cxr-pneumonia' });
  const claimed = await queue.claim('worker-1');
  assert.ok(claimed?.job.key === key);
  const analysis = inDatabase
    ? {
        mode: 'clinical',
        accessionNumber: null,
        summary: 'analysis.json',
        results: [],
        files: 'database',
      }
    : { mode: 'clinical', accessionNumber: null, summary: `/x/${key}.json`, results: [] };
  assert.equal(await queue.complete(claimed, { model: 'cxr-pneumonia@1.2.0', analysis }), true);
  return claimed.job.id;
}

test('a job that commits with a time the node has read past still joins; ties and backlogs page on', async () => {
  await withTestDatabase(async ({ pool }) => {
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    await withIngestNode(
      pool,
      async ({ results, store }) => {
        const { instance } = await store.storeInstance(
          syntheticInstance({ study: 'ours', instance: '1' }),
          { source: 'test' },
        );
        const study = instance.studyInstanceUid;
        const now = Date.now();
        await completeAt(pool, 'b', study, now);
        assert.equal(await results.poll(), 1);
        // Another worker's job, timed 5 s before b, whose commit became visible only now
        // (a commit waiting on a synchronous replica): the node has read past its time.
        await completeAt(pool, 'a', study, now - 5_000);
        assert.equal(await results.poll(), 1, 'the late commit joins');
        // Seven jobs finished in the same millisecond, read three per page: one pass reads
        // them all (a page must not end inside a tie and start it again).
        for (let i = 0; i < 7; i++) await completeAt(pool, `tie-${i}`, study, now + 1_000);
        assert.equal(await results.poll(), 7);
        assert.equal(await results.poll(), 0, 'each recorded once');
      },
      { batch: 3 },
    );
  });
});

test('a job whose results cannot be taken (a full disk) is tried again until it joins, also after a restart, and retention keeps it meanwhile', async () => {
  await withTestDatabase(async ({ pool }) => {
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    let diskFull = true;
    let clock = Date.now();
    const copies: number[] = [];
    const resultFiles = (jobId: number): Promise<ResultFile[]> => {
      copies.push(jobId);
      if (diskFull) {
        const error = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        error.code = 'ENOSPC';
        return Promise.reject(error);
      }
      return Promise.resolve([{ name: 'analysis.json', bytes: Buffer.from('{}') }]);
    };
    const readTo = async () => (await recordedResultsRead(pool, 'ingest-a')) ?? 0;
    await withIngestNode(
      pool,
      async ({ results, restart, store, analysisLog, lines }) => {
        const { instance } = await store.storeInstance(
          syntheticInstance({ study: 'ours', instance: '1' }),
          { source: 'test' },
        );
        const study = instance.studyInstanceUid;
        const now = Date.now();
        // A job finished 20 min ago whose files cannot be copied (the node's disk is full).
        const stuck = await completeAt(pool, 'stuck', study, now - 20 * 60_000, true);
        assert.equal(await results.poll(), 0);
        assert.deepEqual(copies, [stuck]);
        assert.equal(await readTo(), now - 20 * 60_000, 'read only up to the stuck job');
        // Later jobs join and move the read time far past the stuck one's late-commit window.
        await completeAt(pool, 'later', study, now);
        clock += 1_000;
        assert.equal(await results.poll(), 1, 'the later job joins');
        assert.deepEqual(copies, [stuck], 'not tried again before its retry time');
        clock += 2_000;
        assert.equal(await results.poll(), 0);
        assert.deepEqual(copies, [stuck, stuck], 'tried again after 2 s, still failing');
        clock += 2_000;
        assert.equal(await results.poll(), 0);
        assert.equal(copies.length, 2, 'the second wait is 4 s');
        assert.ok(analysisLog.has(stuck) === false);
        const unreadable = lines.filter((l) => l['event'] === 'cluster-result-unreadable');
        assert.deepEqual(
          unreadable.map((l) => l['failures']),
          [1, 2],
        );
        assert.equal(await readTo(), now - 20 * 60_000, 'retention still keeps the stuck job');

        // The node restarts while the disk is still full: it reads again from its recorded
        // position, not from its newest analysis less the margin (which lies past the job).
        const restarted = restart();
        clock += 60_000;
        assert.equal(await restarted.poll(), 0);
        assert.equal(copies.length, 3, 'the restarted node found the stuck job and tried it');

        // The disk is freed: the next try joins it, and the read position moves on.
        diskFull = false;
        clock += 2_000;
        assert.equal(await restarted.poll(), 1, 'the stuck job joins');
        assert.ok(analysisLog.has(stuck));
        assert.ok((await readTo()) > now - 11 * 60_000, 'read on to 10 min before now');
        clock += 120_000;
        assert.equal(await restarted.poll(), 0, 'recorded once');
        assert.equal(copies.length, 4);
      },
      { resultFiles, now: () => clock },
    );
  });
});
