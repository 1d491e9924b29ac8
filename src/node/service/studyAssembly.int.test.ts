/**
 * Issue #17, ADR 0192, in one process: two ingest nodes' instance indexes, stability timers and
 * schedulers (as `serve --database … --workers 0` runs them) on one test database. A study
 * whose instances reach both nodes becomes one job per model covering every instance, enqueued
 * once the study is quiet at both; a node still receiving holds it back; a part whose node died
 * is left out by the other's sweep. Each of these made two half-study jobs before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRegistry } from '../../inference/models/index.js';
import { InstanceStore, StudyStabilityTimer, openNodeDatabase } from '../store/index.js';
import { NodeLease, PgJobQueue, StudyAssembly, type PgPool } from '../postgres/index.js';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { syntheticInstance, syntheticUids } from '../../../test/support/store.js';
import { repoRoot } from '../../../test/support/index.js';
import { StudyJobScheduler, studyJobKey } from './jobs.js';
import { createLogger } from './log.js';
import { StudyPartReports } from './studyParts.js';

const QUIET_MS = 1000;

interface IngestNode {
  readonly id: string;
  readonly dataDir: string;
  readonly store: InstanceStore;
  readonly timer: StudyStabilityTimer;
  readonly scheduler: StudyJobScheduler;
  readonly reports: StudyPartReports;
  readonly lines: string[];
  receive(instance: string, at: number): Promise<void>;
  /** One stability check at the clock's time. */
  check(): Promise<void>;
  close(): Promise<void>;
}

async function ingestNode(
  pool: PgPool,
  dir: string,
  id: string,
  clock: { now: number },
): Promise<IngestNode> {
  const now = (): number => clock.now;
  await NodeLease.acquire(pool, { nodeId: id, role: 'serve', leaseMs: 20_000, now });
  const dataDir = join(dir, id);
  const db = openNodeDatabase(dataDir);
  const store = InstanceStore.onDatabase(dataDir, db);
  const assembly = new StudyAssembly(pool, { nodeId: id, now });
  const lines: string[] = [];
  const logger = createLogger((line) => lines.push(line));
  const scheduler = new StudyJobScheduler(
    store,
    new PgJobQueue(pool, { nodeId: id }),
    new ModelRegistry(join(repoRoot, 'models')),
    { routes: [], defaultModels: ['cxr-pneumonia'], logger, dataDir, assembly },
  );
  await scheduler.prepare();
  const timer = new StudyStabilityTimer(store, { quietPeriodMs: QUIET_MS, now });
  // Reported and swept by hand below, at the moments the test chooses.
  const reports = new StudyPartReports({
    store,
    timer,
    report: (parts) => assembly.reportArriving(parts),
    sweep: () => scheduler.assembleUnfinished(),
    logger,
    reportEveryMs: 3_600_000,
    sweepEveryMs: 3_600_000,
  });
  reports.start();
  return {
    id,
    dataDir,
    store,
    timer,
    scheduler,
    reports,
    lines,
    receive: async (instance, at) => {
      await store.storeInstance(syntheticInstance({ study: 'split', instance }), {
        source: `test ${instance}`,
        receivedAt: at,
      });
    },
    check: async () => {
      await timer.check(scheduler.onStable);
    },
    close: async () => {
      await reports.stop();
      db.close();
    },
  };
}

interface JobRow {
  key: string;
  model: string;
  origin_node: string;
  payload: { files: string[]; lastReceivedAt: number };
}

async function jobsOf(pool: PgPool): Promise<JobRow[]> {
  return (await pool.query<JobRow>('SELECT key, model, origin_node, payload FROM jobs ORDER BY id'))
    .rows;
}

const STUDY = syntheticUids('split', '1').studyInstanceUid;

async function withTwoNodes(
  run: (a: IngestNode, b: IngestNode, clock: { now: number }, pool: PgPool) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-assembly-'));
  try {
    await withTestDatabase(async ({ pool }) => {
      const clock = { now: 100_000 };
      const a = await ingestNode(pool, dir, 'ingest-a', clock);
      const b = await ingestNode(pool, dir, 'ingest-b', clock);
      try {
        await run(a, b, clock, pool);
      } finally {
        await a.close();
        await b.close();
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('half a study at each of two ingest nodes: one job, enqueued once both halves are quiet, reading all four instances', async () => {
  await withTwoNodes(async (a, b, clock, pool) => {
    await a.receive('1', 100_000);
    await a.receive('2', 100_100);
    await b.receive('3', 100_200);
    await b.receive('4', 100_300);
    assert.equal(await a.reports.flush(), 1);
    assert.equal(await b.reports.flush(), 1);
    // A's half is quiet first: it waits for B's, which is still within its quiet period.
    clock.now = 101_150;
    await a.check();
    await b.check();
    assert.deepEqual(await jobsOf(pool), [], 'no job of half a study');
    assert.ok(a.lines.some((line) => line.includes('"study-part-waiting"')));
    clock.now = 101_400;
    await a.check();
    await b.check();
    const jobs = await jobsOf(pool);
    assert.equal(jobs.length, 1, JSON.stringify(jobs));
    const job = jobs[0]!;
    assert.equal(job.key, studyJobKey(STUDY, 'cxr-pneumonia', 100_300));
    assert.equal(job.origin_node, 'ingest-b', 'enqueued by the node whose part completed it');
    assert.equal(job.payload.lastReceivedAt, 100_300);
    const files = job.payload.files;
    assert.equal(files.length, 4);
    assert.equal(files.filter((f) => f.startsWith(a.dataDir)).length, 2);
    assert.equal(files.filter((f) => f.startsWith(b.dataDir)).length, 2);
    assert.ok(b.lines.some((line) => line.includes('"study-assembled"')));
    // Declared again (a restart before the local record, or the sweep): no second job.
    await a.scheduler.onStable({
      studyInstanceUid: STUDY,
      lastReceivedAt: 100_100,
      instanceCount: 2,
    });
    assert.equal(await a.scheduler.assembleUnfinished(), 0);
    assert.equal(await b.scheduler.assembleUnfinished(), 0);
    assert.equal((await jobsOf(pool)).length, 1);
  });
});

test('a node still receiving holds the study back although the other node’s part went quiet long ago', async () => {
  await withTwoNodes(async (a, b, clock, pool) => {
    await a.receive('1', 100_000);
    await b.receive('2', 100_500);
    await a.reports.flush();
    await b.reports.flush();
    // B keeps receiving, one instance every 800 ms (within its quiet period), for 4 s.
    for (let i = 3; i <= 7; i++) {
      clock.now = 100_500 + (i - 2) * 800;
      await b.receive(String(i), clock.now);
      await b.reports.flush();
      await a.check();
      await b.check();
      await a.reports.sweep();
      assert.deepEqual(await jobsOf(pool), [], `no job while B receives (instance ${i})`);
    }
    clock.now += QUIET_MS + 1;
    await a.check();
    await b.check();
    const jobs = await jobsOf(pool);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.payload.files.length, 7);
  });
});

test('a part whose node died is left out: the other node’s sweep enqueues the study without it', async () => {
  await withTwoNodes(async (a, b, clock, pool) => {
    await a.receive('1', 100_000);
    await b.receive('2', 100_100);
    await a.reports.flush();
    await b.reports.flush();
    clock.now = 101_050;
    await a.check();
    assert.deepEqual(await jobsOf(pool), []);
    assert.equal(await a.reports.sweep(), 0, 'B is alive: its part holds the study');
    // B is gone before declaring (its lease, taken at 100 000 for 20 s, runs out).
    clock.now = 120_001;
    assert.equal(await a.reports.sweep(), 1);
    const jobs = await jobsOf(pool);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.payload.files.length, 1);
    assert.equal(jobs[0]!.origin_node, 'ingest-a');
    assert.ok(a.lines.some((line) => line.includes('"study-parts-left-out"')));
  });
});
