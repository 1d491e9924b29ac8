/**
 * Result files in the database on a real PostgreSQL (ADR 0193): committed with the job's
 * completion and its outbox entries, or — a late completion, the lease lost — not at all; sent
 * by a deliverer that reads them from the database (and retried by one that cannot); an altered
 * row refused; removed by retention once the job's ingest node has read it and every entry is
 * delivered, kept while an entry has failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { isRadiolensError } from '../../foundation/core/index.js';
import {
  OutboxDeliverer,
  parseDestination,
  type DeliveryEvent,
  type OutboxItem,
  type ResultFile,
} from '../delivery/index.js';
import {
  DEFAULT_PRUNE_POLICY,
  NodeLease,
  PgJobQueue,
  PgOutbox,
  PgResultFiles,
  pruneCluster,
  recordResultsRead,
  type PgPool,
} from './index.js';

const STUDY = '1.2.826.0.1.3680043.8.498.77';
const SR = '1.2.826.0.1.3680043.8.498.77.1';

const files: ResultFile[] = [
  { name: `${STUDY}/analysis.json`, bytes: Buffer.from('{"findings":[]}') },
  { name: `${STUDY}/sr.dcm`, bytes: Buffer.from('DICM-bytes-of-the-SR') },
  { name: `${STUDY}/heatmaps/image-1.png`, bytes: Buffer.from('\x89PNG 16-bit heatmap') },
];

function itemsTo(folder: string, jobId: number): OutboxItem[] {
  const destination = parseDestination(`file://${folder}`);
  return [
    {
      destination,
      key: `${folder}|${SR}`,
      payload: {
        kind: 'dicom',
        file: `/private/worker/results/${jobId}/${STUDY}/sr.dcm`,
        result: { jobId, name: `${STUDY}/sr.dcm` },
        studyInstanceUid: STUDY,
        sopInstanceUid: SR,
      },
    },
  ];
}

async function claimOne(queue: PgJobQueue, key: string) {
  await queue.enqueue({ key, studyInstanceUid: STUDY, model: 'cxr-pneumonia' });
  const claimed = await queue.claim('worker-1');
  assert.ok(claimed !== undefined && claimed.job.key === key);
  return claimed;
}

async function count(pool: PgPool, table: 'result_files' | 'outbox'): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return result.rows[0]!.n;
}

test('a job completes with its result files and outbox entries in one transaction; a late completion writes none of them', async () => {
  await withTestDatabase(async ({ pool }) => {
    let now = 1_000_000;
    const queue = new PgJobQueue(pool, { leaseMs: 10_000, now: () => now });
    const outbox = new PgOutbox(pool);
    const results = new PgResultFiles(pool, queue, outbox);

    // Migration 7 stores the bytes lz4-compressed where the server can.
    const compression = await pool.query<{ c: string }>(
      `SELECT attcompression AS c FROM pg_attribute
       WHERE attrelid = 'result_files'::regclass AND attname = 'bytes'`,
    );
    assert.equal(compression.rows[0]?.c, 'l');
    const claimed = await claimOne(queue, 'a');
    assert.equal(
      await results.complete(claimed, { model: 'm@1' }, files, itemsTo('/tmp/x', 1)),
      true,
    );
    assert.equal((await queue.get('a'))?.state, 'done');
    const listed = await results.list(claimed.job.id);
    assert.deepEqual(
      listed.map((f) => [f.name, f.bytes.toString()]),
      files.map((f) => [f.name, f.bytes.toString()]).sort(),
    );
    assert.deepEqual(
      await results.read({ jobId: claimed.job.id, name: `${STUDY}/sr.dcm` }),
      files[1]!.bytes,
    );
    assert.equal(await results.read({ jobId: claimed.job.id, name: 'nope' }), undefined);
    const entry = await pool.query<{ result_job: string }>('SELECT result_job FROM outbox');
    assert.deepEqual(
      entry.rows.map((r) => Number(r.result_job)),
      [claimed.job.id],
    );

    // The worker holding job b is cut off; its lease runs out and another worker takes the job.
    const late = await claimOne(queue, 'b');
    now += 20_000;
    const again = await queue.claim('worker-2');
    assert.equal(again?.job.key, 'b');
    const before = [await count(pool, 'result_files'), await count(pool, 'outbox')];
    assert.equal(
      await results.complete(late, { model: 'm@1' }, files, itemsTo('/tmp/y', late.job.id)),
      false,
      'the late completion is refused',
    );
    assert.deepEqual(
      [await count(pool, 'result_files'), await count(pool, 'outbox')],
      before,
      'and writes no file and no entry',
    );
    assert.equal((await queue.get('b'))?.state, 'running', 'the job is the new holder’s');

    // A name that would leave a job's folder is refused before anything is written.
    const bad = await claimOne(queue, 'c');
    await assert.rejects(
      results.complete(bad, {}, [{ name: '../escape', bytes: Buffer.from('x') }], []),
      (error) => isRadiolensError(error) && error.code === 'E_BAD_INPUT',
    );
    assert.equal((await queue.get('c'))?.state, 'running');

    // A row altered in the database is refused, not sent.
    await pool.query(`UPDATE result_files SET bytes = 'altered' WHERE name LIKE '%sr.dcm'`);
    await assert.rejects(
      results.read({ jobId: claimed.job.id, name: `${STUDY}/sr.dcm` }),
      (error) => isRadiolensError(error) && error.code === 'E_DATABASE',
    );
  });
});

test('a deliverer sends an entry naming a result file from the database; one that cannot read the database retries it', async () => {
  await withTestDatabase(async ({ pool }) => {
    const work = await mkdtemp(join(tmpdir(), 'radiolens-result-files-'));
    try {
      const queue = new PgJobQueue(pool);
      const outbox = new PgOutbox(pool, { backoffBaseMs: 1, backoffMaxMs: 1 });
      const results = new PgResultFiles(pool, queue, outbox);
      const claimed = await claimOne(queue, 'a');
      const folder = join(work, 'pacs');
      assert.ok(await results.complete(claimed, {}, files, itemsTo(folder, claimed.job.id)));

      const events: DeliveryEvent[] = [];
      const blind = new OutboxDeliverer(outbox, {
        callingAeTitle: 'RADIOLENS',
        onEvent: (e) => events.push(e),
      });
      assert.equal(await blind.runOnce(), 0);
      const retried = events.find((e) => e.type === 'retry');
      assert.match(retried?.type === 'retry' ? retried.error : '', /database/);
      assert.ok(
        !events.some((e) => e.type === 'destination-down'),
        'a file it cannot read says nothing about the destination',
      );

      await new Promise((r) => setTimeout(r, 10));
      const stagedBefore = (await readdir(tmpdir())).filter((n) => n.startsWith('radiolens-send-'));
      const deliverer = new OutboxDeliverer(outbox, {
        callingAeTitle: 'RADIOLENS',
        resultFiles: results,
      });
      assert.equal(await deliverer.runOnce(), 1);
      assert.deepEqual(await readdir(join(folder, STUDY)), ['sr.dcm']);
      assert.deepEqual(await readFile(join(folder, STUDY, 'sr.dcm')), files[1]!.bytes);
      assert.equal((await outbox.counts()).delivered, 1);
      const staged = (await readdir(tmpdir())).filter((n) => n.startsWith('radiolens-send-'));
      assert.deepEqual(
        staged.filter((n) => !stagedBefore.includes(n)),
        [],
        'the private copy removed after the send',
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

test('retention removes a job’s result files once its ingest node has read it and every entry is delivered; a failed entry keeps them', async () => {
  await withTestDatabase(async ({ pool }) => {
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    const queue = new PgJobQueue(pool, { nodeId: 'ingest-a' });
    const outbox = new PgOutbox(pool);
    const results = new PgResultFiles(pool, queue, outbox);
    const complete = async (key: string) => {
      const claimed = await claimOne(queue, key);
      const items = itemsTo(`/tmp/${key}`, claimed.job.id);
      assert.ok(await results.complete(claimed, {}, files, items));
      return claimed.job.id;
    };
    const delivered = await complete('delivered');
    const pending = await complete('pending');
    const failed = await complete('failed');
    const settle = async (status: 'delivered' | 'rejected') => {
      const [claimed] = await outbox.claimDue(1);
      assert.ok(claimed !== undefined);
      await outbox.settle(
        claimed,
        status === 'delivered' ? { status } : { status, reason: 'refused' },
      );
    };
    await settle('delivered'); // the first job's one entry
    const filesOf = async (): Promise<number[]> =>
      (
        await pool.query<{ job_id: string }>(
          'SELECT DISTINCT job_id FROM result_files ORDER BY job_id',
        )
      ).rows.map((r) => Number(r.job_id));
    // Not read by its ingest node yet: everything stays.
    let report = await pruneCluster(pool, { policy: DEFAULT_PRUNE_POLICY, nodeId: 'ingest-a' });
    assert.deepEqual(report.resultFiles, { jobs: 0, files: 0, bytes: 0 });
    await recordResultsRead(pool, 'ingest-a', Date.now() + 60_000);
    // Skip the second job's entry, refuse the third's.
    const [second] = await outbox.claimDue(1);
    const [third] = await outbox.claimDue(1, { ids: [second!.entry.id] });
    await outbox.settle(third!, { status: 'rejected', reason: 'refused by the PACS' });
    await outbox.release(second!);

    const dry = await pruneCluster(pool, {
      policy: DEFAULT_PRUNE_POLICY,
      nodeId: 'ingest-a',
      dryRun: true,
    });
    assert.equal(dry.resultFiles.jobs, 1);
    assert.deepEqual(await filesOf(), [delivered, pending, failed], 'a dry run removes nothing');
    report = await pruneCluster(pool, {
      policy: DEFAULT_PRUNE_POLICY,
      nodeId: 'ingest-a',
      batchSize: 1,
    });
    const bytes = files.reduce((sum, f) => sum + f.bytes.length, 0);
    assert.deepEqual(report.resultFiles, { jobs: 1, files: 3, bytes });
    assert.deepEqual(
      await filesOf(),
      [pending, failed],
      'read and delivered: gone; pending or failed entries: kept',
    );
    // The failed entry requeued and delivered: its files go at the next prune.
    await outbox.requeueFailed();
    for (let i = 0; i < 2; i++) await settle('delivered');
    await pruneCluster(pool, { policy: DEFAULT_PRUNE_POLICY, nodeId: 'ingest-a' });
    assert.deepEqual(await filesOf(), []);
  });
});
