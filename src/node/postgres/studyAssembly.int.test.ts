/**
 * Study parts and their assembly on a real PostgreSQL (ADR 0192): a study split across ingest
 * nodes is complete only once no live node's part is arriving; the same parts give the same
 * key time, other parts new ones; a dead node's part is left out and joins later; the sweep
 * finds what nobody will assemble; concurrent declarations agree; retention removes old parts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestDatabase } from '../../../test/support/postgres.js';
import {
  NodeLease,
  PgJobQueue,
  StudyAssembly,
  assembledInstances,
  pruneCluster,
  DEFAULT_PRUNE_POLICY,
  formatClusterStatus,
  readClusterStatus,
  type Assembly,
  type PgPool,
  type StablePart,
} from './index.js';

const STUDY = '1.2.826.0.1.3680043.10.1.77';

function part(
  lastReceivedAt: number,
  sops: readonly string[],
  node: string,
  facts: Record<string, string[]> = { modality: ['CR'] },
): StablePart {
  return {
    studyInstanceUid: STUDY,
    instances: sops.length,
    lastReceivedAt,
    source: { sopInstanceUids: sops, files: sops.map((sop) => `/srv/${node}/${sop}.dcm`) },
    facts,
  };
}

function complete(outcome: Assembly): Extract<Assembly, { kind: 'complete' }> {
  assert.equal(outcome.kind, 'complete', JSON.stringify(outcome));
  return outcome as Extract<Assembly, { kind: 'complete' }>;
}

/** Two ingest nodes with leases on one clock (ms), as `serve --database` holds them. */
async function twoNodes(
  pool: PgPool,
  clock: { now: number },
): Promise<{ a: StudyAssembly; b: StudyAssembly }> {
  const now = (): number => clock.now;
  await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve', leaseMs: 1000, now });
  await NodeLease.acquire(pool, { nodeId: 'ingest-b', role: 'serve', leaseMs: 1000, now });
  return {
    a: new StudyAssembly(pool, { nodeId: 'ingest-a', now }),
    b: new StudyAssembly(pool, { nodeId: 'ingest-b', now }),
  };
}

test('a study split across two ingest nodes is assembled once both parts are stable, from both', async () => {
  await withTestDatabase(async ({ pool }) => {
    const clock = { now: 10_000 };
    const { a, b } = await twoNodes(pool, clock);
    await a.reportArriving([{ studyInstanceUid: STUDY, instances: 1, lastReceivedAt: 100 }]);
    await b.reportArriving([{ studyInstanceUid: STUDY, instances: 1, lastReceivedAt: 150 }]);
    // A's part went quiet; B's is still arriving: A only marks its part.
    const first = await a.declareStable(part(200, ['1', '2'], 'a'));
    assert.deepEqual(first, { kind: 'waiting', studyInstanceUid: STUDY, on: ['ingest-b'] });
    assert.deepEqual(await a.unassembled(), [], 'nothing for the sweep while B is live');
    // cluster status shows the study held back.
    const status = await readClusterStatus(pool);
    assert.deepEqual(
      { ...status.studies, oldestWaitingAgeMs: typeof status.studies?.oldestWaitingAgeMs },
      { partsArriving: 1, waiting: 1, oldestWaitingAgeMs: 'number' },
    );
    assert.match(
      formatClusterStatus(status),
      /studies parts arriving 1 {2}waiting for another node's part 1 {2}oldest waiting /,
    );
    // B's part grew, then went quiet: its declaration completes the study.
    await b.reportArriving([{ studyInstanceUid: STUDY, instances: 2, lastReceivedAt: 300 }]);
    const done = complete(
      await b.declareStable(part(300, ['3', '4'], 'b', { modality: ['DX'], viewPosition: ['PA'] })),
    );
    assert.equal(done.keyTime, 300, 'the newest receipt of all parts');
    assert.deepEqual(done.leftOut, []);
    assert.deepEqual(
      done.parts.map((p) => [p.nodeId, p.instances, p.stableFor]),
      [
        ['ingest-a', 2, 200],
        ['ingest-b', 2, 300],
      ],
    );
    assert.deepEqual(done.parts[1]!.facts, { modality: ['DX'], viewPosition: ['PA'] });
    assert.deepEqual(assembledInstances(done.parts), {
      sopInstanceUids: ['1', '2', '3', '4'],
      files: ['/srv/a/1.dcm', '/srv/a/2.dcm', '/srv/b/3.dcm', '/srv/b/4.dcm'],
    });
    // Before it is marked, B (or the sweep of A) would assemble it again with the same key.
    assert.deepEqual(await b.unassembled(), [STUDY]);
    assert.equal(complete(await a.assemble(STUDY)).keyTime, 300);
    await b.markAssembled(done);
    assert.deepEqual(await a.unassembled(), []);
    assert.deepEqual(await b.unassembled(), []);
    // A restart of A between its mark and the local record declares the same part again:
    // the same key time, so the same job keys.
    assert.equal(complete(await a.declareStable(part(200, ['1', '2'], 'a'))).keyTime, 300);
    // A report older than the declaration (it was in flight) does not reopen the part.
    await a.reportArriving([{ studyInstanceUid: STUDY, instances: 1, lastReceivedAt: 100 }]);
    assert.equal(complete(await a.assemble(STUDY)).keyTime, 300);
    // The study grows at A after it was analysed: waiting on A's new receipts, then new keys.
    await a.reportArriving([{ studyInstanceUid: STUDY, instances: 3, lastReceivedAt: 500 }]);
    assert.deepEqual(await b.assemble(STUDY), {
      kind: 'waiting',
      studyInstanceUid: STUDY,
      on: ['ingest-a'],
    });
    assert.equal(complete(await a.declareStable(part(500, ['1', '2', '5'], 'a'))).keyTime, 500);
    const after = (await readClusterStatus(pool)).studies;
    assert.equal(after?.partsArriving, 0);
    assert.equal(after?.waiting, 1, 'complete, not yet marked: the sweep would enqueue it');
  });
});

test('a part whose node died is left out, and joins a later assembly with new keys when its node comes back', async () => {
  await withTestDatabase(async ({ pool }) => {
    const clock = { now: 10_000 };
    const { a, b } = await twoNodes(pool, clock);
    await b.reportArriving([{ studyInstanceUid: STUDY, instances: 1, lastReceivedAt: 100 }]);
    assert.equal((await a.declareStable(part(400, ['1'], 'a'))).kind, 'waiting');
    // B dies: its lease runs out. A's sweep now finds the study, and assembles it without B.
    clock.now = 11_001;
    assert.deepEqual(await a.unassembled(), [STUDY]);
    const without = complete(await a.assemble(STUDY));
    assert.deepEqual(without.leftOut, ['ingest-b']);
    assert.deepEqual(
      without.parts.map((p) => p.nodeId),
      ['ingest-a'],
    );
    assert.equal(without.keyTime, 400);
    await a.markAssembled(without);
    assert.deepEqual(await a.unassembled(), []);
    // B comes back and declares its part, older than A's: the union is new content, so the
    // key time moves on although no receipt is newer.
    await NodeLease.acquire(pool, {
      nodeId: 'ingest-b',
      role: 'serve',
      leaseMs: 1000,
      now: () => clock.now,
    });
    const whole = complete(await b.declareStable(part(100, ['2'], 'b')));
    assert.equal(whole.keyTime, 401);
    assert.deepEqual(assembledInstances(whole.parts).sopInstanceUids, ['1', '2']);
  });
});

test('two nodes declaring at once agree on one key; the same instance at two nodes counts once', async () => {
  await withTestDatabase(async ({ pool }) => {
    const clock = { now: 10_000 };
    const { a, b } = await twoNodes(pool, clock);
    await a.reportArriving([{ studyInstanceUid: STUDY, instances: 2, lastReceivedAt: 100 }]);
    await b.reportArriving([{ studyInstanceUid: STUDY, instances: 2, lastReceivedAt: 100 }]);
    const queue = new PgJobQueue(pool);
    const outcomes = await Promise.all([
      a.declareStable(part(200, ['1', '2'], 'a')),
      b.declareStable(part(210, ['2', '3'], 'b')),
    ]);
    const completes = outcomes.filter((o) => o.kind === 'complete');
    assert.ok(completes.length >= 1, JSON.stringify(outcomes));
    for (const outcome of completes) {
      assert.equal(outcome.keyTime, 210);
      assert.deepEqual(assembledInstances(outcome.parts).sopInstanceUids, ['1', '2', '3']);
      await queue.enqueue({
        key: `${STUDY}|cxr-pneumonia|${outcome.keyTime}`,
        studyInstanceUid: STUDY,
        model: 'cxr-pneumonia',
      });
    }
    assert.equal((await queue.counts()).queued, 1);
  });
});

test('retention removes assembled parts after the done age and unassembled ones after the unread age', async () => {
  await withTestDatabase(async ({ pool }) => {
    const day = 86_400_000;
    const clock = { now: 200 * day };
    const { a, b } = await twoNodes(pool, clock);
    const other = '1.2.826.0.1.3680043.10.1.78';
    // Assembled 40 days ago (both parts), and a part left out 40 days ago.
    clock.now = 160 * day;
    await b.reportArriving([{ studyInstanceUid: other, instances: 1, lastReceivedAt: 1 }]);
    const old = complete(await a.declareStable(part(1, ['1'], 'a')));
    await a.declareStable({ ...part(1, ['9'], 'a'), studyInstanceUid: other });
    await a.markAssembled(old);
    clock.now = 200 * day;
    const dry = await pruneCluster(pool, {
      policy: DEFAULT_PRUNE_POLICY,
      nodeId: 'ingest-a',
      dryRun: true,
      now: () => clock.now,
    });
    assert.equal(dry.removed.studyParts, 1);
    const report = await pruneCluster(pool, {
      policy: DEFAULT_PRUNE_POLICY,
      nodeId: 'ingest-a',
      now: () => clock.now,
    });
    assert.equal(report.removed.studyParts, 1, 'the assembled part; the others are kept');
    const left = await pool.query<{ study_instance_uid: string; node_id: string }>(
      'SELECT study_instance_uid, node_id FROM study_parts ORDER BY study_instance_uid, node_id',
    );
    assert.deepEqual(
      left.rows.map((r) => [r.study_instance_uid, r.node_id]),
      [
        [other, 'ingest-a'],
        [other, 'ingest-b'],
      ],
    );
    assert.equal((await pool.query('SELECT 1 FROM study_assemblies')).rowCount, 0);
    // 100 days later both are past the unread age.
    clock.now = 260 * day;
    const later = await pruneCluster(pool, {
      policy: DEFAULT_PRUNE_POLICY,
      nodeId: 'ingest-a',
      now: () => clock.now,
    });
    assert.equal(later.removed.studyParts, 2);
  });
});
