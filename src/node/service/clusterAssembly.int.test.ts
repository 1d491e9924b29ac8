/**
 * Issue #17 with real processes (ADR 0192): two ingest nodes (`serve --database … --workers 0`)
 * and one worker process on a test database, no affinity between senders and nodes. A study
 * whose instances are C-STOREd half to ingest-a and half to ingest-b becomes one job per model
 * that reads every instance, and its results are delivered once; a study still arriving at
 * ingest-b while ingest-a's part is already quiet waits for ingest-b, and then is one job too.
 * Both nodes show the analysis. Before, each node enqueued its own half: two analyses of
 * partial studies and two deliveries.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deriveUid } from '../../foundation/core/index.js';
import { withTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { clusterProcesses, dicomPortOf } from '../../../test/support/clusterProcesses.js';
import { runDcmtk } from '../../../test/support/dcmtk.js';
import { makeChestStudy, run, waitFor, type ServeProcess } from '../../../test/support/node.js';
import { DATABASE_FILE_NAME } from '../store/index.js';
import { uidTag } from './log.js';

const running = new Set<ServeProcess>();
after(async () => {
  await Promise.all([...running].map((p) => p.kill()));
});

/** A FHIR server stand-in that records each transaction it accepts. */
async function fhirReceiver(): Promise<{ bodies: string[]; port: number; server: Server }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end('{"resourceType":"Bundle","type":"transaction-response","entry":[]}');
    });
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    }),
  );
  return { bodies, port, server };
}

interface SplitStudy {
  readonly studyInstanceUid: string;
  readonly files: readonly string[];
  readonly sopInstanceUids: readonly string[];
}

/** One chest study of `count` instances: the sample radiograph under new SOP Instance UIDs. */
async function makeStudy(work: string, seed: string, count: number): Promise<SplitStudy> {
  const base = await makeChestStudy(work, { name: `SPLIT^${seed.toUpperCase()}`, id: seed }, seed);
  const dir = join(work, `instances-${seed}`);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const sopInstanceUids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const file = join(dir, `${i}.dcm`);
    const sop = deriveUid('cluster-assembly-test', seed, String(i));
    await copyFile(base.file, file);
    // dcmodify updates the meta header's Media Storage SOP Instance UID with it.
    const changed = await run('dcmodify', ['-nb', '-m', `(0008,0018)=${sop}`, file]);
    assert.equal(changed.code, 0, changed.output);
    files.push(file);
    sopInstanceUids.push(sop);
  }
  return { studyInstanceUid: base.studyInstanceUid, files, sopInstanceUids };
}

/** C-STOREs files to an ingest node in one association (storescu, DCMTK). */
async function cStore(node: ServeProcess, files: readonly string[]): Promise<void> {
  const result = await runDcmtk('storescu', [
    ...['-aet', 'MODALITY', '-aec', 'RADIOLENS', '127.0.0.1', String(dicomPortOf(node))],
    ...files,
  ]);
  assert.equal(result.code, 0, result.output);
}

interface JobRow {
  id: string;
  model: string;
  state: string;
  origin_node: string;
  payload: { files: string[] };
  result: { analysis?: { summary: string } } | null;
}

async function jobsOf(db: TestDatabase, study: SplitStudy): Promise<JobRow[]> {
  return (
    await db.pool.query<JobRow>(
      'SELECT id, model, state, origin_node, payload, result FROM jobs WHERE study_instance_uid = $1 ORDER BY id',
      [study.studyInstanceUid],
    )
  ).rows;
}

/** The clinical analyses of a study in an ingest node's own analysis log (its worklist's). */
function analysesAt(work: string, node: string, study: SplitStudy): number {
  const local = new Database(join(work, node, DATABASE_FILE_NAME), { readonly: true });
  try {
    const row = local
      .prepare(
        "SELECT count(*) AS n FROM analyses WHERE mode = 'clinical' AND study_instance_uid = ?",
      )
      .get(study.studyInstanceUid) as { n: number };
    return row.n;
  } finally {
    local.close();
  }
}

/** Waits for the study's one job to be done and checks that it read every instance. */
async function analysedOnce(db: TestDatabase, study: SplitStudy): Promise<JobRow> {
  const [job] = await waitFor(
    'the study analysed',
    async () => {
      const jobs = await jobsOf(db, study);
      return jobs.some((j) => j.state === 'done') ? jobs : undefined;
    },
    240_000,
    500,
  );
  const jobs = await jobsOf(db, study);
  assert.equal(jobs.length, 1, `one job for the study: ${JSON.stringify(jobs.map((j) => j.id))}`);
  assert.equal(job!.model, 'cxr-pneumonia');
  assert.equal(job!.payload.files.length, study.files.length, 'the job names every instance');
  // The analysis covers every instance: its summary names each one's input.
  const summary = await readFile(job!.result!.analysis!.summary, 'utf8');
  for (const sop of study.sopInstanceUids) assert.ok(summary.includes(sop), `${sop} analysed`);
  return job!;
}

const QUIET_SECONDS = 4;

test('a study C-STOREd half to each of two ingest nodes is one job per model over all its instances, delivered once; one still arriving at B waits for B', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-assembly-'));
  const receiver = await fhirReceiver();
  const deliveries = (study: SplitStudy): number =>
    receiver.bodies.filter((body) => body.includes(study.studyInstanceUid)).length;
  try {
    await withTestDatabase(
      async (db) => {
        const split = await makeStudy(work, 'split', 4);
        const race = await makeStudy(work, 'race', 5);
        const cluster = await clusterProcesses(work, db.url, {
          sendTo: `fhir+http://127.0.0.1:${receiver.port}/fhir`,
        });
        const quiet = ['--quiet-period', String(QUIET_SECONDS)];
        const a = await cluster.startIngest('ingest-a', {}, quiet);
        running.add(a);
        const b = await cluster.startIngest('ingest-b', {}, quiet);
        running.add(b);
        const worker = await cluster.startWorker('worker-1');
        running.add(worker);

        // 1. Half of the study to each node at once (a load balancer without affinity).
        await Promise.all([cStore(a, split.files.slice(0, 2)), cStore(b, split.files.slice(2))]);
        await analysedOnce(db, split);
        await waitFor('its results delivered', () => deliveries(split) >= 1, 60_000);

        // 2. B still receiving while A's part is quiet (a modality retrying to B, slowly).
        await cStore(a, race.files.slice(0, 2));
        await cStore(b, race.files.slice(2, 3));
        await new Promise((r) => setTimeout(r, 2_000));
        await cStore(b, race.files.slice(3, 4));
        const tag = uidTag(race.studyInstanceUid);
        await waitFor(
          'ingest-a to declare its part and wait for ingest-b',
          () => a.logs().some((l) => l.event === 'study-part-waiting' && l['study'] === tag),
          30_000,
        );
        assert.deepEqual(await jobsOf(db, race), [], 'no job while ingest-b is receiving');
        await cStore(b, race.files.slice(4));
        const raced = await analysedOnce(db, race);
        assert.equal(raced.origin_node, 'ingest-b', 'enqueued by the node whose part came last');
        await waitFor('its results delivered', () => deliveries(race) >= 1, 60_000);

        // Long enough for any second declaration, sweep or delivery to have shown.
        await new Promise((r) => setTimeout(r, (QUIET_SECONDS + 4) * 1000));
        for (const study of [split, race]) {
          assert.equal((await jobsOf(db, study)).length, 1, 'still one job');
          assert.equal(deliveries(study), 1, 'delivered once');
          // Each node holding a part shows the analysis (ADR 0186 joins it from the queue).
          for (const node of ['ingest-a', 'ingest-b']) {
            await waitFor(`${node} shows the analysis`, () => analysesAt(work, node, study) === 1);
          }
        }
        for (const p of [worker, a, b]) {
          assert.deepEqual(await p.stop(), { code: 0, signal: null });
          running.delete(p);
        }
      },
      { migrated: false },
    );
  } finally {
    await new Promise((r) => receiver.server.close(() => r(undefined)));
    await rm(work, { recursive: true, force: true });
  }
});
