import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { NodeLease, PgJobQueue, PgOutbox, listNodes, reclaimStaleNodes } from './index.js';

const STUDY = '1.2.3.4';

test('one live lease per node id; another id runs beside it; a stale lease is taken over and fenced', async () => {
  await withTestDatabase(async ({ pool }) => {
    let now = 1000;
    const clock = { now: () => now };
    const a = await NodeLease.acquire(pool, {
      nodeId: 'ingest-1',
      role: 'serve',
      leaseMs: 100,
      host: 'host-a',
      pid: 11,
      ...clock,
    });
    await assert.rejects(
      NodeLease.acquire(pool, { nodeId: 'ingest-1', role: 'serve', leaseMs: 100, ...clock }),
      /E_DATABASE: node ingest-1 is already running \(host-a pid 11, lease valid 1 s more\) — stop it, or give this process another node id/,
    );
    const b = await NodeLease.acquire(pool, { nodeId: 'worker-1', role: 'worker', ...clock });
    now = 1090;
    assert.equal(await a.renew(), true);
    now = 1180; // within the renewed lease
    await assert.rejects(
      NodeLease.acquire(pool, { nodeId: 'ingest-1', role: 'serve', leaseMs: 100, ...clock }),
      /already running/,
    );
    now = 1190; // the renewed lease has run out: a new process may take the id
    const a2 = await NodeLease.acquire(pool, {
      nodeId: 'ingest-1',
      role: 'serve',
      leaseMs: 100,
      host: 'host-c',
      pid: 12,
      ...clock,
    });
    assert.notEqual(a2.token, a.token);
    assert.equal(await a.renew(), false, 'the old holder learns it lost the lease');
    assert.equal(await a.release(), false, 'and cannot end the new holder’s lease');
    assert.equal(await a2.renew(), true);
    const nodes = await listNodes(pool);
    const ingest = nodes.find((node) => node.nodeId === 'ingest-1');
    assert.equal(ingest?.host, 'host-c');
    assert.equal(ingest?.pid, 12);
    assert.equal(ingest?.leaseExpiresAt, 1290);
    assert.equal(nodes.find((node) => node.nodeId === 'worker-1')?.role, 'worker');
    assert.equal(await b.release(), true);
    const stopped = (await listNodes(pool)).find((node) => node.nodeId === 'worker-1');
    assert.equal(stopped?.stoppedAt, 1190);
    // A cleanly stopped id may be taken again at once.
    await NodeLease.acquire(pool, { nodeId: 'worker-1', role: 'worker', ...clock });
  });
});

test("a stale node's jobs and outbox claims come back at once, not after their own timeouts", async () => {
  await withTestDatabase(async ({ pool }) => {
    let now = 0;
    const clock = { now: () => now };
    // Job leases and outbox claims far longer than the node lease: only the node lease tells.
    const onDead = new PgJobQueue(pool, { leaseMs: 600_000, nodeId: 'worker-dead', ...clock });
    const onLive = new PgJobQueue(pool, { leaseMs: 600_000, nodeId: 'worker-live', ...clock });
    const outboxDead = new PgOutbox(pool, { claimMs: 600_000, nodeId: 'worker-dead', ...clock });
    const outboxLive = new PgOutbox(pool, { claimMs: 600_000, nodeId: 'worker-live', ...clock });
    await NodeLease.acquire(pool, {
      nodeId: 'worker-dead',
      role: 'worker',
      leaseMs: 1000,
      ...clock,
    });
    const live = await NodeLease.acquire(pool, {
      nodeId: 'worker-live',
      role: 'worker',
      leaseMs: 1000,
      ...clock,
    });
    await onDead.enqueue({ key: 'dead-job', studyInstanceUid: STUDY, model: 'm@1' });
    await onDead.enqueue({ key: 'live-job', studyInstanceUid: STUDY, model: 'm@1' });
    const held = await onDead.claim('worker-dead/0');
    assert.equal(held?.job.key, 'dead-job');
    const kept = await onLive.claim('worker-live/0');
    assert.equal(kept?.job.key, 'live-job');
    await outboxDead.enqueue([
      {
        key: 'sr-1',
        destination: { kind: 'folder', path: '/tmp/radiolens-out' },
        payload: { kind: 'dicom', file: '/x/1.dcm', studyInstanceUid: STUDY, sopInstanceUid: '1' },
      },
    ]);
    assert.equal((await outboxDead.claimDue(1)).length, 1);

    now = 999;
    assert.deepEqual(await reclaimStaleNodes(pool, clock), { nodes: [], jobs: 0, outboxClaims: 0 });
    now = 1000; // worker-dead stopped renewing; worker-live renewed
    assert.equal(await live.renew(), true);
    assert.deepEqual(await reclaimStaleNodes(pool, clock), {
      nodes: ['worker-dead'],
      jobs: 1,
      outboxClaims: 1,
    });
    const again = await onLive.claim('worker-live/1');
    assert.equal(again?.job.key, 'dead-job', 'the dead node’s job is claimable at once');
    assert.equal(again?.job.attempts, 2, 'its lost run counts as an attempt');
    assert.equal(await onDead.complete(held!), false, 'the dead node is fenced off');
    assert.equal(await onLive.complete(kept!), true, 'the live node’s job was left alone');
    const resent = await outboxLive.claimDue(1);
    assert.equal(resent[0]?.entry.key, 'sr-1');
    assert.equal(resent[0]?.entry.attempts, 1);
    assert.deepEqual(
      await reclaimStaleNodes(pool, clock),
      { nodes: [], jobs: 0, outboxClaims: 0 },
      'nothing is reclaimed twice',
    );
  });
});

test('a clean stop gives back what the node still held', async () => {
  await withTestDatabase(async ({ pool }) => {
    let now = 0;
    const clock = { now: () => now };
    const queue = new PgJobQueue(pool, { leaseMs: 600_000, nodeId: 'w', ...clock });
    const lease = await NodeLease.acquire(pool, { nodeId: 'w', role: 'worker', ...clock });
    await queue.enqueue({ key: 'k', studyInstanceUid: STUDY, model: 'm@1' });
    assert.ok(await queue.claim('w/0'));
    now = 10;
    assert.equal(await lease.release(), true);
    const other = new PgJobQueue(pool, { nodeId: 'v', ...clock });
    assert.equal((await other.claim('v/0'))?.job.key, 'k');
  });
});
