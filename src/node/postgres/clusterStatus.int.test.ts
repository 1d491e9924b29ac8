import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestDatabase } from '../../../test/support/postgres.js';
import {
  ClusterMember,
  MIGRATIONS,
  NodeLease,
  PgJobQueue,
  PgOutbox,
  readClusterStatus,
} from './index.js';
import { parseDestination } from '../delivery/index.js';

test('cluster status on a database no node has migrated says so instead of a missing table', async () => {
  await withTestDatabase(
    async ({ pool }) => {
      await assert.rejects(
        readClusterStatus(pool),
        /E_DATABASE: this database holds no Radiolens cluster/,
      );
    },
    { migrated: false },
  );
});

test('cluster status: live, stopped and expired nodes, the queue by state with the oldest waiting job and expired leases, the outbox backlog', async () => {
  await withTestDatabase(async ({ pool }) => {
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    await NodeLease.acquire(pool, {
      nodeId: 'worker-gone',
      role: 'worker',
      leaseMs: 1,
    });
    const stopped = await NodeLease.acquire(pool, { nodeId: 'worker-stopped', role: 'worker' });
    await stopped.release();
    const queue = new PgJobQueue(pool, { nodeId: 'worker-gone', leaseMs: 1 });
    for (const key of ['a', 'b', 'c']) {
      await queue.enqueue({ key, studyInstanceUid: `1.2.${key.charCodeAt(0)}`, model: 'm' });
    }
    const done = await new PgJobQueue(pool).claim('w2');
    await new PgJobQueue(pool).complete(done!, {});
    await queue.claim('w'); // its 1 ms lease runs out at once
    const outbox = new PgOutbox(pool);
    await outbox.enqueue([
      {
        destination: parseDestination('file:///tmp/out'),
        key: 'k1',
        payload: { kind: 'fhir-bundle', file: '/tmp/x.json', studyInstanceUid: '1.2.3' },
      },
    ]);
    await new Promise((r) => setTimeout(r, 20));
    const status = await readClusterStatus(pool);
    const states = Object.fromEntries(status.nodes.map((n) => [n.nodeId, `${n.role}:${n.state}`]));
    assert.deepEqual(states, {
      'ingest-a': 'serve:live',
      'worker-gone': 'worker:expired',
      'worker-stopped': 'worker:stopped',
    });
    assert.equal(status.schemaVersion, Math.max(...MIGRATIONS.map((m) => m.version)));
    assert.deepEqual(
      [status.jobs.queued, status.jobs.running, status.jobs.done, status.jobs.failed],
      [1, 1, 1, 0],
    );
    assert.equal(status.jobs.expiredLeases, 1, 'the running job whose lease ran out is counted');
    assert.ok(status.jobs.oldestQueuedAgeMs !== null && status.jobs.oldestQueuedAgeMs >= 20);
    assert.equal(status.outbox.pending, 1);
    assert.ok(status.outbox.oldestPendingAgeMs !== null && status.outbox.oldestPendingAgeMs >= 20);
    assert.ok(status.jobs.oldestDoneAgeMs !== null && status.jobs.oldestDoneAgeMs >= 20);
    assert.equal(status.outbox.oldestDeliveredAgeMs, null, 'nothing delivered yet');
    assert.equal(status.retention, null, 'no prune has run');
  });
});

test('a member beats: /health counts follow the database, the lease is given back on stop', async () => {
  await withTestDatabase(async ({ pool, url }) => {
    const member = await ClusterMember.start({
      databaseUrl: url,
      nodeId: 'member-1',
      role: 'worker',
      nodeLeaseMs: 300,
      jobLeaseMs: 1000,
    });
    try {
      assert.equal(member.leaseHeld(), true);
      await member.queue.enqueue({ key: 'x', studyInstanceUid: '1.2.3', model: 'm' });
      await new Promise((r) => setTimeout(r, 250));
      const snapshot = member.snapshot();
      assert.equal(snapshot.queue?.queued, 1);
      assert.equal(snapshot.error, null);
      assert.equal(snapshot.leaseLost, false);
    } finally {
      await member.stop();
    }
    const status = await readClusterStatus(pool);
    assert.equal(status.nodes.find((n) => n.nodeId === 'member-1')?.state, 'stopped');
  });
});
