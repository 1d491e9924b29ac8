/**
 * Issue #17 item 2 with the real deployment (ADR 0187): Orthanc with its PostgreSQL index and
 * storage plugins as the cluster's shared DICOM store. Two Orthanc processes share one
 * throw-away PostgreSQL database; an ingest node (`radiolens serve --database … --workers 0
 * --shared-store <Orthanc A>`) sends each stable study to Orthanc A by STOW-RS before its job
 * is enqueued; a worker process (`radiolens worker --shared-store <Orthanc B>`) reads it by
 * WADO-RS from Orthanc B, which never received it — started only once the job exists and
 * Orthanc A is down, so B is all it can read from — and delivers the results. Orthanc A is
 * stopped while a second study arrives: the study waits in the ingest node (/health
 * degraded, shared-store-unreachable) and is analysed once A is back. Each study analysed
 * once, delivered, no file path in any job, no temporary folder left, and the store's
 * password in no output.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { OrthancServer } from '../../../test/support/orthanc.js';
import { clusterProcesses, dropStudy, httpPortOf } from '../../../test/support/clusterProcesses.js';
import {
  type ServeProcess,
  makeChestStudy,
  waitFor,
  type ChestStudy,
} from '../../../test/support/node.js';
import { cookieOf, httpCall } from '../../../test/support/httpClient.js';
import { PgUserStore } from '../postgres/index.js';
import { SHARED_STORE_URL_ENV } from '../sharedStore/index.js';
import { TEST_DELAY_ENV } from './worker.js';

const running = new Set<ServeProcess>();
const orthancs = new Set<OrthancServer>();
after(async () => {
  await Promise.all([...running].map((p) => p.kill()));
  await Promise.all([...orthancs].map((o) => o.stop()));
});

const PASSWORD = 'orthanc-pw-that-must-never-be-logged';

/** The store's URL with its credentials, as an operator puts it into the EnvironmentFile. */
function storeUrl(orthanc: OrthancServer): string {
  const url = new URL(`${orthanc.url}/dicom-web`);
  url.username = 'radiolens';
  url.password = PASSWORD;
  return `dicomweb+${url.toString()}`;
}

async function health(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function conditionsOf(body: Record<string, unknown>): string[] {
  return ((body['conditions'] ?? []) as { condition: string }[]).map((c) => c.condition);
}

/**
 * Two Orthancs with the PostgreSQL index and storage plugins on one throw-away database (the
 * deployment of ADR 0187), beside a throw-away database for Radiolens' queue; the plugins make
 * their own schema, so the store's database is not migrated.
 */
async function withOrthancPair(
  body: (queueDb: TestDatabase, a: OrthancServer, b: OrthancServer) => Promise<void>,
): Promise<void> {
  await withTestDatabase(async (queueDb) => {
    await withTestDatabase(
      async (storeDb) => {
        const start = async (): Promise<OrthancServer> => {
          const orthanc = await OrthancServer.start({
            dicom: false,
            dicomWeb: true,
            postgresUrl: storeDb.url,
            users: { radiolens: PASSWORD },
          });
          orthancs.add(orthanc);
          return orthanc;
        };
        const a = await start();
        const b = await start();
        await body(queueDb, a, b);
      },
      { migrated: false },
    );
  });
}

test('Orthanc + PostgreSQL as the shared store: ingest STOWs to Orthanc A, a worker reads over WADO-RS from Orthanc B; A down at enqueue → the study waits, then is analysed; each study analysed once and delivered', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-orthanc-'));
  try {
    await withOrthancPair(async (queueDb, a, b) => {
      const delivered = join(work, 'delivered');
      const workerTmp = join(work, 'worker-tmp');
      await mkdir(workerTmp);
      const cluster = await clusterProcesses(work, queueDb.url, {
        sendTo: `file://${delivered}`,
      });
      // The password reaches the processes through the environment, never a flag.
      const ingest = await cluster.startIngest('ingest-a', {
        [SHARED_STORE_URL_ENV]: storeUrl(a),
      });
      const httpPort = httpPortOf(ingest);
      running.add(ingest);

      const first = await makeChestStudy(work, { name: 'Store^First', id: 'SO1' }, 'so1');
      const second = await makeChestStudy(work, { name: 'Store^Second', id: 'SO2' }, 'so2');
      const deliveredFiles = async (study: ChestStudy): Promise<string[]> => {
        const dir = join(delivered, study.studyInstanceUid);
        return existsSync(dir) ? readdir(dir) : [];
      };
      // SR, SC, Parametric Map and the FHIR bundle: four files per analysed study.
      const analysedAndDelivered = (study: ChestStudy) => async () =>
        (await deliveredFiles(study)).length >= 4;

      await dropStudy(work, 'ingest-a', first, 'first');
      // The job exists once the study is in the store; then Orthanc A goes away, and the
      // worker, started only now, can only read the study from Orthanc B.
      await waitFor(
        'the first study’s job',
        async () =>
          (
            await queueDb.pool.query('SELECT 1 FROM jobs WHERE study_instance_uid = $1', [
              first.studyInstanceUid,
            ])
          ).rowCount === 1,
        60_000,
      );
      await a.pause();
      const worker = await cluster.startWorker('worker-1', {
        [SHARED_STORE_URL_ENV]: storeUrl(b),
        TMPDIR: workerTmp,
      });
      running.add(worker);
      assert.match(
        worker.stdout,
        /store {3}dicomweb\+http:\/\/127\.0\.0\.1:\d+\/dicom-web \(basic auth\)/,
      );
      await waitFor('the first study delivered', analysedAndDelivered(first), 120_000);
      await a.resume();
      // Orthanc B never received it, yet serves it: the store is the shared database.
      const onB = await b.getJson<string[]>('/studies');
      assert.equal(onB.length, 1);

      // Orthanc A goes down for maintenance while the second study arrives.
      await a.pause();
      await dropStudy(work, 'ingest-a', second, 'second');
      const degraded = await waitFor(
        'the ingest node to say the store is unreachable',
        async () => {
          const answer = await health(httpPort);
          return conditionsOf(answer.body).includes('shared-store-unreachable') && answer;
        },
        30_000,
      );
      assert.equal(degraded.status, 200, 'ingest goes on: degraded, not unavailable');
      assert.equal(degraded.body['status'], 'degraded');
      const waiting = await queueDb.pool.query(
        'SELECT COUNT(*)::int AS n FROM jobs WHERE study_instance_uid = $1',
        [second.studyInstanceUid],
      );
      assert.equal(waiting.rows[0].n, 0, 'no job names a study the store does not hold');
      await a.resume();
      await waitFor('the second study delivered', analysedAndDelivered(second), 120_000);
      await waitFor(
        'the ingest node healthy again',
        async () =>
          !conditionsOf((await health(httpPort)).body).includes('shared-store-unreachable'),
        30_000,
      );

      // Each study: one job, done at its first attempt, naming the store (A, as ingest
      // wrote to it) and the instance by UID — no file path, no credentials.
      const jobs = await queueDb.pool.query(
        'SELECT study_instance_uid, state, attempts, payload FROM jobs ORDER BY id',
      );
      assert.deepEqual(
        jobs.rows.map((row) => [row.study_instance_uid, row.state, row.attempts]),
        [
          [first.studyInstanceUid, 'done', 1],
          [second.studyInstanceUid, 'done', 1],
        ],
      );
      for (const [index, row] of jobs.rows.entries()) {
        const payload = row.payload as Record<string, unknown>;
        assert.equal(payload['files'], undefined, 'no file path in the job');
        assert.deepEqual(payload['source'], {
          kind: 'dicomweb',
          url: `${a.url}/dicom-web`,
          sopInstanceUids: [[first, second][index]!.sopInstanceUid],
        });
      }
      // Analysed once each, read from the store each time.
      const events = (event: string) => worker.logs().filter((l) => l.event === event);
      assert.equal(events('job-study-fetched').length, 2);
      assert.equal(events('job-done').length, 2);
      const outbox = await queueDb.pool.query(
        `SELECT COUNT(*)::int AS n, COUNT(*) FILTER (WHERE state = 'delivered')::int AS sent
             FROM outbox`,
      );
      assert.deepEqual(outbox.rows[0], { n: 8, sent: 8 }, 'four results per study, each sent');
      assert.deepEqual(
        (await readdir(workerTmp)).filter((name) => name.startsWith('radiolens-job-')),
        [],
        'each job’s copy of its study removed',
      );

      await Promise.all([ingest.stop(), worker.stop()]);
      for (const process of [ingest, worker]) {
        const output = process.stdout + process.stderrLines.join('\n');
        assert.ok(!output.includes(PASSWORD), 'the store password is in no output');
      }
      assert.ok(!JSON.stringify(jobs.rows).includes(PASSWORD));
    });
  } finally {
    await Promise.all([...orthancs].map((o) => o.stop()));
    orthancs.clear();
    await rm(work, { recursive: true, force: true });
  }
});

/** Every file under a folder, by path relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

test('results without a shared folder (ADR 0193): each worker’s --data is its own and goes away; a killed worker’s uncommitted results are never sent; the ingest node sends the results from the database once, and has the SR, SC and PM in its DICOMweb and the heatmap PNG in its own folder', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-results-db-'));
  try {
    await withOrthancPair(async (queueDb, a, b) => {
      const delivered = join(work, 'delivered');
      const cluster = await clusterProcesses(work, queueDb.url, {
        sendTo: `file://${delivered}`,
      });
      const ingest = await cluster.startIngest('ingest-a', {
        [SHARED_STORE_URL_ENV]: storeUrl(a),
      });
      running.add(ingest);
      const reader = 'a passphrase long enough';
      await new PgUserStore(queueDb.pool).add('rita', 'radiologist', reader);
      const study = await makeChestStudy(work, { name: 'Private^Data', id: 'PD1' }, 'pd1');

      // Worker 1 analyses the study into a folder of its own, then is killed before it
      // commits (the test hook holds it between the analysis and the completion). It
      // leaves no sender to this cluster: workers here do not deliver, the ingest node does.
      const private1 = join(work, 'host-1-private');
      const worker1 = await cluster.startWorker(
        'worker-1',
        { [SHARED_STORE_URL_ENV]: storeUrl(b), [TEST_DELAY_ENV]: '120000' },
        { data: private1, args: ['--no-deliver'] },
      );
      running.add(worker1);
      assert.match(worker1.stdout, /data .*host-1-private \(private; results in the database\)/);
      await dropStudy(work, 'ingest-a', study, 'pd1');
      await waitFor(
        'worker 1 holding its analysed job',
        async () => worker1.logs().some((l) => l.event === 'job-test-delay'),
        120_000,
        200,
      );
      const [{ id: jobId }] = (await queueDb.pool.query<{ id: string }>('SELECT id FROM jobs'))
        .rows as [{ id: string }];
      const written = await filesUnder(join(private1, 'results', jobId));
      assert.ok(
        written.some((f) => f.endsWith('.png')),
        `worker 1 wrote its results (${written.join(', ')})`,
      );
      await worker1.kill();
      running.delete(worker1);
      await rm(private1, { recursive: true, force: true }); // that host's disk is gone
      const committed = async () =>
        (
          await queueDb.pool.query<{ files: number; entries: number }>(
            `SELECT (SELECT count(*)::int FROM result_files) AS files, (SELECT count(*)::int FROM outbox) AS entries`,
          )
        ).rows[0]!;
      assert.deepEqual(
        await committed(),
        { files: 0, entries: 0 },
        'nothing of the killed worker’s attempt is committed, so nothing of it can be sent',
      );

      // Worker 2, another private folder, takes the job once worker 1's lease runs out.
      const private2 = join(work, 'host-2-private');
      const worker2 = await cluster.startWorker(
        'worker-2',
        { [SHARED_STORE_URL_ENV]: storeUrl(b) },
        { data: private2, args: ['--no-deliver'] },
      );
      running.add(worker2);
      await waitFor(
        'the job done on worker 2',
        async () =>
          (await queueDb.pool.query(`SELECT 1 FROM jobs WHERE state = 'done'`)).rowCount === 1,
        120_000,
        200,
      );
      assert.deepEqual(
        await filesUnder(join(private2, 'results', jobId)),
        [],
        'worker 2 removed its job folder once the files were committed',
      );
      assert.deepEqual(await worker2.stop(), { code: 0, signal: null });
      running.delete(worker2);
      await rm(private2, { recursive: true, force: true });

      // Only the ingest node sends, from the database: four results, each once.
      await waitFor(
        'the results delivered',
        async () => (await filesUnder(join(delivered, study.studyInstanceUid))).length >= 4,
        60_000,
        200,
      );
      await waitFor(
        'every entry settled',
        async () =>
          (await queueDb.pool.query(`SELECT 1 FROM outbox WHERE state <> 'delivered'`)).rowCount ===
          0,
        30_000,
        200,
      );
      const entries = (
        await queueDb.pool.query<{
          payload: { result?: { jobId: number; name: string } };
          result_job: string;
        }>('SELECT payload, result_job FROM outbox ORDER BY id')
      ).rows;
      assert.equal(entries.length, 4);
      for (const entry of entries) {
        assert.equal(entry.payload.result?.jobId, Number(jobId), 'named by (job id, name)');
        assert.equal(Number(entry.result_job), Number(jobId));
      }
      assert.equal(
        ingest.logs().filter((l) => l.event === 'delivery-delivered').length,
        4,
        'each result sent once',
      );
      const jobRow = (
        await queueDb.pool.query<{ attempts: number; result: Record<string, unknown> }>(
          'SELECT attempts, result FROM jobs',
        )
      ).rows[0]!;
      assert.equal(jobRow.attempts, 2, 'worker 1’s attempt, then worker 2’s');
      assert.ok(
        !JSON.stringify(jobRow.result).includes(work),
        'the job’s result names no path on any host',
      );
      // The bytes sent are the ones committed with the job.
      const sr = (await filesUnder(join(delivered, study.studyInstanceUid)))[0]!;
      const row = (
        await queueDb.pool.query<{ bytes: Buffer }>(
          'SELECT bytes FROM result_files WHERE name LIKE $1',
          [`%/${sr}`],
        )
      ).rows[0];
      assert.deepEqual(row?.bytes, await readFile(join(delivered, study.studyInstanceUid, sr)));

      // The ingest node has the analysis: on its worklist, the SR, SC and Parametric Map in
      // its DICOMweb beside the original, the summary and heatmap PNGs in its own folder.
      const base = `http://127.0.0.1:${httpPortOf(ingest)}`;
      const login = await httpCall(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'rita', password: reader }),
      });
      assert.equal(login.status, 200, login.body);
      const cookie = cookieOf(login);
      const listed = await waitFor(
        'the study analysed on the ingest node’s worklist',
        async () => {
          const answer = await httpCall(`${base}/api/worklist`, { headers: { cookie } });
          const rows = (
            JSON.parse(answer.body) as { rows: { studyInstanceUid: string; status: string }[] }
          ).rows;
          return rows.find(
            (r) => r.studyInstanceUid === study.studyInstanceUid && r.status === 'analysed',
          );
        },
        30_000,
        500,
      );
      assert.ok(listed);
      const qido = await httpCall(
        `${base}/dicomweb/studies?StudyInstanceUID=${study.studyInstanceUid}`,
        { headers: { cookie, accept: 'application/dicom+json' } },
      );
      assert.equal(qido.status, 200, qido.body);
      const found = JSON.parse(qido.body) as Record<string, { Value?: unknown[] }>[];
      assert.deepEqual(
        found.map((s) => s['00201206']?.Value?.[0]),
        [4],
        'the original series, the SR, the SC and the Parametric Map',
      );
      const kept = await filesUnder(join(work, 'ingest-a', 'results', jobId));
      assert.ok(
        kept.some((f) => f.endsWith('analysis.json')),
        kept.join(', '),
      );
      assert.ok(
        kept.some((f) => f.endsWith('.png')),
        `the heatmap PNG in the ingest node’s folder (${kept.join(', ')})`,
      );
      assert.ok(ingest.logs().every((l) => l.event !== 'cluster-result-unreadable'));
      assert.deepEqual(await ingest.stop(), { code: 0, signal: null });
      running.delete(ingest);
    });
  } finally {
    await Promise.all([...orthancs].map((o) => o.stop()));
    orthancs.clear();
    await rm(work, { recursive: true, force: true });
  }
});
