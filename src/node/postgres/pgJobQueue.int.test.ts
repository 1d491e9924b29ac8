import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { withTestDatabase } from '../../../test/support/postgres.js';
import type { ClaimedJob } from '../queue/index.js';
import type { ClaimedEntry, OutboxItem } from '../delivery/index.js';
import { PgJobQueue, PgOutbox, connectionLost, openPostgresPool, type PgPool } from './index.js';

const STUDY = '1.2.3.4';

async function enqueueMany(queue: PgJobQueue, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await queue.enqueue({ key: `job-${i}`, studyInstanceUid: STUDY, model: 'm@1' });
  }
}

test('eight claimers, each on its own connection, never claim one job twice', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const jobs = 200;
    await enqueueMany(new PgJobQueue(pool), jobs);
    const pools: PgPool[] = Array.from({ length: 8 }, () =>
      openPostgresPool(url, { maxConnections: 1 }),
    );
    try {
      const started = performance.now();
      const claimedBy = await Promise.all(
        pools.map(async (own, n) => {
          const queue = new PgJobQueue(own);
          const mine: number[] = [];
          for (;;) {
            const claimed = await queue.claim(`w${n}`);
            if (claimed === undefined) return mine;
            mine.push(claimed.job.id);
          }
        }),
      );
      const ms = performance.now() - started;
      const all = claimedBy.flat();
      assert.equal(all.length, jobs, 'every job claimed');
      assert.equal(new Set(all).size, jobs, 'no job claimed twice');
      assert.ok(
        claimedBy.filter((mine) => mine.length > 0).length > 1,
        'the claimers really ran side by side',
      );
      const counts = await new PgJobQueue(pool).counts();
      assert.deepEqual(counts, { queued: 0, running: jobs, done: 0, failed: 0 });
      process.stdout.write(
        `${jobs} claims by 8 connections in ${ms.toFixed(0)} ms (${((ms / jobs) * 8).toFixed(2)} ms per claim per connection)\n`,
      );
    } finally {
      await Promise.all(pools.map((own) => own.end()));
    }
  });
});

test('the same key enqueued on eight connections at once: one job, created exactly once', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const pools = Array.from({ length: 8 }, () => openPostgresPool(url, { maxConnections: 1 }));
    try {
      for (let round = 0; round < 10; round++) {
        const key = `same-${round}`;
        const results = await Promise.all(
          pools.map((own, n) =>
            new PgJobQueue(own).enqueue({ key, studyInstanceUid: STUDY, model: `m@${n}` }),
          ),
        );
        assert.equal(results.filter((r) => r.created).length, 1, `round ${round}: one creator`);
        assert.equal(new Set(results.map((r) => r.job.id)).size, 1, 'everyone sees the same job');
      }
      assert.deepEqual(await new PgJobQueue(pool).counts(), {
        queued: 10,
        running: 0,
        done: 0,
        failed: 0,
      });
    } finally {
      await Promise.all(pools.map((own) => own.end()));
    }
  });
});

test('four senders on their own connections never claim one outbox entry twice', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const items: OutboxItem[] = Array.from({ length: 120 }, (_, i) => ({
      key: `entry-${i}`,
      destination: { kind: 'folder', path: '/tmp/radiolens-out' },
      payload: {
        kind: 'dicom',
        file: `/x/${i}.dcm`,
        studyInstanceUid: STUDY,
        sopInstanceUid: `${i}`,
      },
    }));
    assert.equal(await new PgOutbox(pool).enqueue(items), 120);
    const pools = Array.from({ length: 4 }, () => openPostgresPool(url, { maxConnections: 1 }));
    try {
      const taken = await Promise.all(
        pools.map(async (own) => {
          const outbox = new PgOutbox(own);
          const mine: ClaimedEntry[] = [];
          for (;;) {
            const batch = await outbox.claimDue(7);
            if (batch.length === 0) return mine;
            mine.push(...batch);
          }
        }),
      );
      const ids = taken.flat().map((claimed) => claimed.entry.id);
      assert.equal(ids.length, 120);
      assert.equal(new Set(ids).size, 120, 'no entry claimed twice');
    } finally {
      await Promise.all(pools.map((own) => own.end()));
    }
  });
});

test('on the database clock: a lease that is not renewed expires and the job is taken over', async () => {
  await withTestDatabase(async ({ pool }) => {
    const queue = new PgJobQueue(pool, { leaseMs: 300 });
    await queue.enqueue({ key: 'k', studyInstanceUid: STUDY, model: 'm@1' });
    const first = await queue.claim('crashed');
    assert.ok(first);
    assert.equal(await queue.claim('other'), undefined, 'a live lease is respected');
    await sleep(150);
    assert.equal(await queue.heartbeat(first), true);
    await sleep(200); // 350 ms after the claim, 200 ms after the renewal: still held
    assert.equal(await queue.claim('other'), undefined, 'the renewed lease still holds');
    await sleep(350);
    const second = await queue.claim('other');
    assert.ok(second, 'the expired lease is taken over');
    assert.equal(second.job.attempts, 2);
    assert.equal(await queue.complete(first), false, 'the old holder is fenced off');
    assert.equal(await queue.complete(second, { ok: true }), true);
    assert.equal((await queue.get('k'))?.state, 'done');
  });
});

test('connections killed mid-run (pg_terminate_backend): the queue recovers, every job completes exactly once', async () => {
  await withTestDatabase(async ({ url, pool, terminateBackends }) => {
    const jobs = 60;
    const leaseMs = 400;
    await enqueueMany(new PgJobQueue(pool), jobs);
    const workerPool = openPostgresPool(url, { maxConnections: 4 });
    const queue = new PgJobQueue(workerPool, { leaseMs });
    const completedBy = new Map<number, number>(); // job id → successful completes
    let lostConnections = 0;
    let stop = false;
    const worker = async (n: number): Promise<void> => {
      while (!stop) {
        try {
          const claimed: ClaimedJob | undefined = await queue.claim(`w${n}`);
          if (claimed === undefined) {
            await sleep(20);
            continue;
          }
          await sleep(5); // the "work"
          if (await queue.complete(claimed)) {
            completedBy.set(claimed.job.id, (completedBy.get(claimed.job.id) ?? 0) + 1);
          }
        } catch (error) {
          if (connectionLost(error)) lostConnections += 1;
          else throw error;
          await sleep(20);
        }
      }
    };
    try {
      // Settled at once, so that a worker's failure is reported by the assertion below.
      const workers = Array.from({ length: 4 }, (_, n) =>
        worker(n).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      let terminated = 0;
      for (let round = 0; round < 5; round++) {
        await sleep(40);
        terminated += await terminateBackends();
      }
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const counts = await queue.counts().catch(() => undefined);
        if (counts?.done === jobs) break;
        await sleep(100);
      }
      stop = true;
      assert.deepEqual(
        (await Promise.all(workers)).filter((error) => error !== undefined),
        [],
        'no worker met an error other than a lost connection',
      );
      const counts = await new PgJobQueue(pool).counts();
      assert.deepEqual(counts, { queued: 0, running: 0, done: jobs, failed: 0 });
      assert.ok(terminated > 0, 'connections were really terminated');
      assert.ok(lostConnections > 0, 'and the workers saw it');
      assert.equal(completedBy.size, jobs, 'every job completed');
      assert.ok(
        [...completedBy.values()].every((n) => n === 1),
        'no job completed twice',
      );
      process.stdout.write(
        `${terminated} backends terminated in 5 rounds; ${lostConnections} operations failed with a lost connection and were recovered\n`,
      );
    } finally {
      stop = true;
      await workerPool.end();
    }
  });
});
