/**
 * Issue #17 with real processes (ADR 0189): an ingest node (`serve --database … --workers 0`)
 * and a worker process (`radiolens worker`) on a test database. Of two studies, one is
 * analysed; the other's file is gone by the time the worker reads it, so its job fails on
 * every attempt and is given up. The ingest node's /api/worklist lists the analysed study and
 * the failed one, with the embedded node's status and wording ("analysis failed: read
 * without AI").
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { clusterProcesses, dropStudy, httpPortOf } from '../../../test/support/clusterProcesses.js';
import { cookieOf, httpCall } from '../../../test/support/httpClient.js';
import { makeChestStudy, waitFor, type ServeProcess } from '../../../test/support/node.js';
import { PgUserStore } from '../postgres/index.js';

const running = new Set<ServeProcess>();
after(async () => {
  await Promise.all([...running].map((p) => p.kill()));
});

const PASSWORD = 'a passphrase long enough';

interface Row {
  status: string;
  studyInstanceUid: string;
  model: string;
  reason: { code: string; text: string };
  finding: unknown;
}

test('a job that failed for good on a worker process shows as failed on its ingest node’s worklist', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-worklist-'));
  try {
    await withTestDatabase(
      async (db) => {
        const good = await makeChestStudy(work, { name: 'FINE^ONE', id: 'F-1' }, 'fine');
        const broken = await makeChestStudy(work, { name: 'GONE^TWO', id: 'G-2' }, 'gone');
        const cluster = await clusterProcesses(work, db.url);
        const ingest = await cluster.startIngest('ingest-a');
        running.add(ingest);
        // A radiologist, as `radiolens users add --database` makes one once the node has
        // migrated the database: on a shared database the reading room's users live there
        // (ADR 0188), not in the ingest node's folder.
        await new PgUserStore(db.pool).add('rita', 'radiologist', PASSWORD);
        await dropStudy(work, 'ingest-a', good, 'good');
        await dropStudy(work, 'ingest-a', broken, 'broken');
        const jobs = async (): Promise<
          {
            study_instance_uid: string;
            state: string;
            attempts: number;
            payload: { files: string[] };
          }[]
        > =>
          (
            await db.pool.query<{
              study_instance_uid: string;
              state: string;
              attempts: number;
              payload: { files: string[] };
            }>('SELECT study_instance_uid, state, attempts, payload FROM jobs ORDER BY id')
          ).rows;
        await waitFor('both studies enqueued', async () => (await jobs()).length === 2, 120_000);
        // The broken study's stored file disappears before any worker reads it (a lost disk,
        // an operator's mistake): every attempt fails.
        const brokenJob = (await jobs()).find(
          (j) => j.study_instance_uid === broken.studyInstanceUid,
        );
        for (const file of brokenJob!.payload.files) await rm(file);

        const worker = await cluster.startWorker('worker-1');
        running.add(worker);
        await waitFor(
          'one job done, one failed for good',
          async () => {
            const states = (await jobs()).map((j) => j.state).sort();
            return states.join() === 'done,failed';
          },
          240_000,
          500,
        );
        const failed = (await jobs()).find((j) => j.state === 'failed')!;
        assert.equal(failed.study_instance_uid, broken.studyInstanceUid);
        assert.equal(failed.attempts, 5, 'given up after its attempts');

        const base = `http://127.0.0.1:${httpPortOf(ingest)}`;
        const login = await httpCall(`${base}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: 'rita', password: PASSWORD }),
        });
        assert.equal(login.status, 200, login.body);
        const cookie = cookieOf(login);
        const rows = await waitFor(
          'both studies on the ingest node’s worklist',
          async () => {
            const answer = await httpCall(`${base}/api/worklist`, { headers: { cookie } });
            assert.equal(answer.status, 200, answer.body);
            const listed = (JSON.parse(answer.body) as { rows: Row[] }).rows;
            return listed.length === 2 ? listed : undefined;
          },
          30_000,
          500,
        );
        const byStudy = new Map(rows.map((r) => [r.studyInstanceUid, r]));
        assert.equal(byStudy.get(good.studyInstanceUid)?.status, 'analysed');
        const row = byStudy.get(broken.studyInstanceUid);
        assert.equal(row?.status, 'failed');
        assert.equal(row?.model, 'cxr-pneumonia');
        assert.equal(row?.finding, null);
        assert.deepEqual(row?.reason, {
          code: 'analysis-failed',
          text: 'analysis failed: read without AI',
        });
        assert.ok(ingest.logs().some((l) => l.event === 'cluster-job-failed'));

        for (const p of [worker, ingest]) {
          assert.deepEqual(await p.stop(), { code: 0, signal: null });
          running.delete(p);
        }
      },
      { migrated: false },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
