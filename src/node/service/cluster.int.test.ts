/**
 * Issue #17, exactly-once under failure with real processes: two ingest nodes
 * (`radiolens serve --database … --workers 0`) and two worker processes (`radiolens worker`)
 * on a database of the test's own on the machine's PostgreSQL. A worker is SIGKILLed in the
 * middle of a job (its outputs already in the outbox, the job not completed); the FHIR
 * destination refuses everything for a while, then recovers. Every study put into an ingest
 * node's import folder is analysed and delivered exactly once, none twice; `cluster status`
 * and every process's /health say what happened, and the database password is in no log.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Database from 'better-sqlite3';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { OwnPostgres } from '../../../test/support/ownPostgres.js';
import { NetworkNamespace } from '../../../test/support/netns.js';
import { freeLoopbackPort } from '../../../test/support/orthanc.js';
import { runCli } from '../../../test/support/index.js';
import {
  ServeProcess,
  makeChestStudy,
  waitFor,
  type ChestStudy,
} from '../../../test/support/node.js';
import { TEST_DELAY_ENV } from './worker.js';
import { DATABASE_FILE_NAME } from '../store/index.js';

const running = new Set<ServeProcess>();
after(async () => {
  await Promise.all([...running].map((p) => p.kill()));
});

/** A FHIR server stand-in that records each transaction and can refuse (503) for a while. */
class FhirReceiver {
  readonly bodies: string[] = [];
  refused = 0;
  refusing = true;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FhirReceiver> {
    const holder: { receiver?: FhirReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const receiver = holder.receiver!;
        if (receiver.refusing) {
          receiver.refused += 1;
          res.writeHead(503, { 'content-type': 'application/fhir+json' });
          res.end('{"resourceType":"OperationOutcome","issue":[{"diagnostics":"down"}]}');
          return;
        }
        receiver.bodies.push(Buffer.concat(chunks).toString('utf8'));
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
    holder.receiver = new FhirReceiver(server, port);
    return holder.receiver;
  }

  /** How many accepted transactions name each study. */
  deliveriesOf(study: ChestStudy): number {
    return this.bodies.filter((body) => body.includes(study.studyInstanceUid)).length;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts ingest nodes and workers of one cluster, with short leases so that tests are quick. */
async function harness(
  work: string,
  url: string,
  sendTo: string,
): Promise<{
  startIngest: (name: string) => Promise<ServeProcess>;
  startWorker: (
    name: string,
    env?: Record<string, string>,
    extra?: { args?: readonly string[]; prefix?: readonly string[]; url?: string },
  ) => Promise<{ process: ServeProcess; healthPort: number }>;
}> {
  const serveConfig = join(work, 'serve.json');
  await writeFile(
    serveConfig,
    JSON.stringify({
      leaseSeconds: 4,
      nodeLeaseSeconds: 3,
      delivery: { retryFirstSeconds: 1, retryMaxSeconds: 2 },
    }),
  );
  return {
    startIngest: async (name) => {
      const serve = await ServeProcess.start([
        '--config',
        serveConfig,
        '--database',
        url,
        '--node-id',
        name,
        '--data',
        join(work, name),
        '--workers',
        '0',
        '--send-to',
        sendTo,
        '--dicom-port',
        String(await freeLoopbackPort()),
        '--http-port',
        String(await freeLoopbackPort()),
        '--host',
        '127.0.0.1',
        '--quiet-period',
        '1',
        '--model',
        'cxr-pneumonia',
      ]);
      running.add(serve);
      return serve;
    },
    startWorker: async (name, env = {}, extra = {}) => {
      const healthPort = await freeLoopbackPort();
      const worker = await ServeProcess.start(
        [
          '--database',
          extra.url ?? url,
          '--node-id',
          name,
          '--data',
          join(work, 'shared'),
          '--send-to',
          sendTo,
          '--http-port',
          String(healthPort),
          '--lease',
          '4',
          '--node-lease',
          '3',
          '--threads',
          '1',
          ...(extra.args ?? []),
        ],
        env,
        {
          name: 'worker',
          ready: 'radiolens worker running',
          ...(extra.prefix === undefined ? {} : { prefix: extra.prefix }),
        },
      );
      running.add(worker);
      return { process: worker, healthPort };
    },
  };
}

/** Puts a study into an ingest node's watched folder (written aside, then renamed in). */
async function drop(work: string, node: string, study: ChestStudy, name: string): Promise<void> {
  const folder = join(work, node, 'import');
  await mkdir(folder, { recursive: true });
  await copyFile(study.file, join(folder, `${name}.part`));
  await rename(join(folder, `${name}.part`), join(folder, `${name}.dcm`));
}

/** The HTTP port an ingest node printed at start. */
function httpPortOf(serve: ServeProcess): number {
  const port = /HTTP\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(serve.stdout)?.[1];
  if (port === undefined) throw new Error(`no HTTP port in: ${serve.stdout}`);
  return Number(port);
}

const PASSWORD = 'pw-that-must-never-be-logged';

function withPassword(url: string): string {
  const parsed = new URL(url);
  // The test server trusts local connections, so the password is carried but not needed:
  // what matters is that no process ever writes it anywhere.
  parsed.password = PASSWORD;
  return parsed.toString();
}

test('2 ingest nodes and 2 workers on PostgreSQL: a worker SIGKILLed mid-job and a failing destination, every study analysed and delivered once', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-'));
  const receiver = await FhirReceiver.start();
  try {
    await withTestDatabase(
      async (db) => {
        const url = withPassword(db.url);
        const studies: ChestStudy[] = [];
        for (let i = 0; i < 6; i++) {
          studies.push(await makeChestStudy(work, { name: `CLUSTER^${i}`, id: `C-${i}` }, `c${i}`));
        }
        const sendTo = `fhir+http://127.0.0.1:${receiver.port}/fhir`;
        const { startIngest, startWorker } = await harness(work, url, sendTo);
        // Four processes migrate one fresh database at once (ADR 0181).
        const [ingestA, ingestB, w1, w2] = await Promise.all([
          startIngest('ingest-a'),
          startIngest('ingest-b'),
          startWorker('worker-1', { [TEST_DELAY_ENV]: '4000' }),
          startWorker('worker-2'),
        ]);

        // Acknowledged: stored by an ingest node (the watched folder takes a file once it is
        // durably stored). Three studies to each node.
        for (const [i, study] of studies.entries()) {
          await drop(work, i % 2 === 0 ? 'ingest-a' : 'ingest-b', study, `study-${i}`);
        }

        // Worker 1 holds a job whose outputs are in the outbox but which is not completed.
        const held = await w1.process.waitForLog('job-test-delay', 120_000);
        await w1.process.kill();
        const killedAt = Date.now();
        running.delete(w1.process);

        // While the destination refuses, nothing is delivered and the entries back off.
        await waitFor('a refused send', () => receiver.refused > 0, 120_000);
        const status = runCli(['cluster', 'status', '--database', url, '--json']);
        assert.equal(status.status, 0, status.stderr);
        const during = JSON.parse(status.stdout) as {
          nodes: { nodeId: string; role: string; state: string }[];
          jobs: { queued: number; running: number; done: number };
          outbox: { pending: number; delivered: number };
        };
        assert.deepEqual(during.nodes.map((n) => `${n.nodeId}:${n.role}`).sort(), [
          'ingest-a:serve',
          'ingest-b:serve',
          'worker-1:worker',
          'worker-2:worker',
        ]);
        assert.equal(during.outbox.delivered, 0, 'the destination has accepted nothing yet');
        receiver.refusing = false;

        await waitFor(
          'every study delivered',
          () => studies.every((study) => receiver.deliveriesOf(study) >= 1),
          240_000,
          500,
        );
        // Let any duplicate that was going to happen happen: every sender polls at least once a second.
        await new Promise((r) => setTimeout(r, 4000));
        for (const study of studies) {
          assert.equal(receiver.deliveriesOf(study), 1, 'each study delivered exactly once');
        }
        assert.equal(receiver.bodies.length, studies.length, 'no other delivery at all');

        // The ingest nodes run no analyses (--workers 0), yet each lists the analyses of its
        // own three studies — and only those — and keeps their SR, SC and Parametric Map
        // beside the originals, for its worklist and viewer (ADR 0186).
        for (const [node, mine] of [
          ['ingest-a', studies.filter((_, i) => i % 2 === 0)],
          ['ingest-b', studies.filter((_, i) => i % 2 === 1)],
        ] as const) {
          const index = (): { studies: string[]; results: number } => {
            const local = new Database(join(work, node, DATABASE_FILE_NAME), { readonly: true });
            try {
              const rows = local
                .prepare("SELECT study_instance_uid FROM analyses WHERE mode = 'clinical'")
                .all() as { study_instance_uid: string }[];
              const results = local.prepare('SELECT COUNT(*) AS n FROM result_instances').get() as {
                n: number;
              };
              return { studies: rows.map((r) => r.study_instance_uid).sort(), results: results.n };
            } finally {
              local.close();
            }
          };
          await waitFor(`${node} to list its analyses`, () => index().studies.length >= 3, 30_000);
          const seen = index();
          assert.deepEqual(seen.studies, mine.map((study) => study.studyInstanceUid).sort());
          assert.equal(seen.results, 3 * 3, 'SR, SC and Parametric Map of each of its studies');
        }

        const jobs = await db.pool.query<{ key: string; state: string; attempts: number }>(
          'SELECT key, state, attempts FROM jobs ORDER BY id',
        );
        assert.equal(jobs.rowCount, studies.length, 'one job per study');
        assert.ok(jobs.rows.every((job) => job.state === 'done'));
        const rerun = jobs.rows.find((job) => Number(job.attempts) >= 2);
        assert.ok(rerun, 'the job of the killed worker ran a second time');
        assert.equal(Number(held['job']), Number((await jobIdOf(db.pool, rerun.key)) ?? -1));
        const resumed = w2.process
          .logs()
          .find((l) => l.event === 'job-started' && l['job'] === held['job']);
        assert.ok(resumed, 'worker 2 ran the killed job');
        t.diagnostic(
          `the killed worker's job started again on worker 2 ${Date.parse(resumed.time) - killedAt} ms after the SIGKILL (node lease 3 s, job lease 4 s); the destination refused ${receiver.refused} sends first`,
        );
        const outbox = await db.pool.query<{ state: string; n: string }>(
          'SELECT state, count(*) AS n FROM outbox GROUP BY state',
        );
        assert.deepEqual(
          outbox.rows.map((row) => `${row.state}:${row.n}`),
          [`delivered:${studies.length}`],
          'one outbox entry per study, each delivered',
        );

        // The surviving worker's /health: ok, a worker, the database without its password.
        const health = await fetch(`http://127.0.0.1:${w2.healthPort}/health`);
        assert.equal(health.status, 200);
        const body = (await health.json()) as {
          status: string;
          role: string;
          cluster: { database: string };
          queue: { done: number };
        };
        assert.equal(body.role, 'worker');
        assert.equal(body.status, 'ok');
        assert.match(body.cluster.database, /\*\*\*/);
        // The ingest node's /health: its cluster membership, the database without password.
        const ingestHealth = await fetch(`http://127.0.0.1:${httpPortOf(ingestA)}/health`);
        const ingestBody = (await ingestHealth.json()) as {
          status: string;
          cluster: { nodeId: string; role: string; database: string };
          queue: { done: number } | null;
        };
        assert.equal(ingestHealth.status, 200);
        assert.equal(ingestBody.status, 'ok');
        assert.deepEqual(
          [ingestBody.cluster.nodeId, ingestBody.cluster.role],
          ['ingest-a', 'serve'],
        );
        assert.match(ingestBody.cluster.database, /^postgresql:\/\/postgres:\*\*\*@/);
        assert.ok(!JSON.stringify(ingestBody).includes(PASSWORD));
        const final = JSON.parse(
          runCli(['cluster', 'status', '--database', url, '--json']).stdout,
        ) as typeof during;
        const states = Object.fromEntries(final.nodes.map((n) => [n.nodeId, n.state]));
        assert.equal(states['worker-1'], 'expired', 'the killed worker shows its lease ran out');
        assert.equal(states['worker-2'], 'live');
        assert.equal(final.jobs.done, studies.length);
        const text = runCli(['cluster', 'status', '--database', url]);
        assert.match(text.stdout, /worker-1\s+worker\s+expired/);
        assert.match(text.stdout, /outbox\s+pending 0/);

        // Graceful stops: exit 0, leases released.
        for (const p of [w2.process, ingestA, ingestB]) {
          assert.deepEqual(await p.stop(), { code: 0, signal: null });
          running.delete(p);
        }
        const nodes = await db.pool.query<{ node_id: string; stopped_at: string | null }>(
          'SELECT node_id, stopped_at FROM nodes ORDER BY node_id',
        );
        assert.deepEqual(
          nodes.rows.filter((n) => n.stopped_at !== null).map((n) => n.node_id),
          ['ingest-a', 'ingest-b', 'worker-2'],
        );
        // The password is in no process's output.
        for (const p of [ingestA, ingestB, w1.process, w2.process]) {
          const everything = p.stdout + p.stderrLines.join('\n');
          assert.ok(!everything.includes(PASSWORD), 'the database password is never written');
        }
        assert.ok(!JSON.stringify(body).includes(PASSWORD));
      },
      { migrated: false },
    );
  } finally {
    await receiver.stop();
    await rm(work, { recursive: true, force: true });
  }
});

async function jobIdOf(
  pool: { query: (text: string, values: unknown[]) => Promise<{ rows: { id: string }[] }> },
  key: string,
): Promise<number | undefined> {
  const result = await pool.query('SELECT id FROM jobs WHERE key = $1', [key]);
  const id = result.rows[0]?.id;
  return id === undefined ? undefined : Number(id);
}

/** Runs `work` with a PostgreSQL server of the test's own (and its database `radiolens`). */
async function withOwnPostgres(
  listen: readonly string[],
  work: (server: OwnPostgres) => Promise<void>,
): Promise<void> {
  const server = await OwnPostgres.start(await freeLoopbackPort(), listen);
  try {
    await server.createDatabase('radiolens');
    await work(server);
  } finally {
    await server.destroy();
  }
}

test('PostgreSQL stopped while studies arrive and restarted mid-run, a worker drained by SIGTERM mid-job: every study analysed and delivered once', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-'));
  const receiver = await FhirReceiver.start();
  receiver.refusing = false;
  try {
    await withOwnPostgres(['127.0.0.1'], async (server) => {
      const url = server.url('radiolens');
      const studies: ChestStudy[] = [];
      for (let i = 0; i < 5; i++) {
        studies.push(await makeChestStudy(work, { name: `RESTART^${i}`, id: `R-${i}` }, `r${i}`));
      }
      const extras: ChestStudy[] = [];
      for (let i = 0; i < 4; i++) {
        extras.push(await makeChestStudy(work, { name: `RESTART^X${i}`, id: `RX-${i}` }, `rx${i}`));
      }
      const sendTo = `fhir+http://127.0.0.1:${receiver.port}/fhir`;
      const { startIngest, startWorker } = await harness(work, url, sendTo);
      const [ingest, w1, w2] = await Promise.all([
        startIngest('ingest-a'),
        startWorker('worker-1', { [TEST_DELAY_ENV]: '3000' }, { args: ['--grace', '1'] }),
        startWorker('worker-2'),
      ]);
      for (const [i, study] of studies.slice(0, 3).entries()) {
        await drop(work, 'ingest-a', study, `first-${i}`);
      }
      await waitFor('a first delivery', () => receiver.bodies.length >= 1, 120_000);

      // The database goes away; two studies arrive and are acknowledged (stored) meanwhile.
      await server.stop();
      for (const [i, study] of studies.slice(3).entries()) {
        await drop(work, 'ingest-a', study, `while-down-${i}`);
      }
      await waitFor(
        'the ingest node to notice',
        () => ingest.logs().some((l) => l.event === 'cluster-beat-failed'),
        30_000,
      );
      const health = await fetch(`http://127.0.0.1:${httpPortOf(ingest)}/health`);
      const degraded = (await health.json()) as {
        status: string;
        conditions: { condition: string }[];
      };
      assert.equal(health.status, 200, 'ingest still accepts: stored studies wait in its index');
      assert.ok(degraded.conditions.some((c) => c.condition === 'database-unreachable'));
      await new Promise((r) => setTimeout(r, 3000));
      await server.startAgain();
      await waitFor(
        'the ingest node to reconnect',
        () => ingest.logs().some((l) => l.event === 'cluster-beat-recovered'),
        30_000,
      );

      // Drain: SIGTERM worker 1 while it holds a job; it gives the job back and exits 0.
      const delays = w1.process.logs().filter((l) => l.event === 'job-test-delay').length;
      const inJob = (): boolean =>
        w1.process.logs().filter((l) => l.event === 'job-test-delay').length > delays;
      // Worker 2 may take every job the reconnect releases before worker 1 claims again (the
      // machine's load decides who polls first): more studies arrive until worker 1 holds one,
      // as they would in a hospital. Each is counted below like the others.
      for (const [i, extra] of extras.entries()) {
        try {
          await waitFor('worker 1 in a job', inJob, 20_000);
          break;
        } catch {
          await drop(work, 'ingest-a', extra, `extra-${i}`);
          studies.push(extra);
        }
      }
      await waitFor('worker 1 in a job', inJob, 120_000);
      const stopped = await w1.process.stop();
      running.delete(w1.process);
      assert.deepEqual(stopped, { code: 0, signal: null });
      const released = w1.process.logs().find((l) => l.event === 'job-released');
      assert.ok(released, 'the drained worker gave its job back');
      assert.equal(released['released'], true);

      await waitFor(
        'every study delivered',
        () => studies.every((study) => receiver.deliveriesOf(study) >= 1),
        240_000,
        500,
      );
      await new Promise((r) => setTimeout(r, 4000));
      for (const study of studies) {
        assert.equal(receiver.deliveriesOf(study), 1, 'each study delivered exactly once');
      }
      assert.equal(receiver.bodies.length, studies.length);
      const status = JSON.parse(
        runCli(['cluster', 'status', '--database', url, '--json']).stdout,
      ) as {
        jobs: { done: number; queued: number; running: number; failed: number };
        outbox: { pending: number; delivered: number };
      };
      assert.deepEqual(
        [status.jobs.done, status.jobs.queued, status.jobs.running, status.jobs.failed],
        [studies.length, 0, 0, 0],
      );
      assert.equal(status.outbox.delivered, studies.length);
      for (const p of [w2.process, ingest]) {
        assert.deepEqual(await p.stop(), { code: 0, signal: null });
        running.delete(p);
      }
    });
  } finally {
    await receiver.stop();
    await rm(work, { recursive: true, force: true });
  }
});

test("a worker's network cut mid-job (a network namespace of the test's own): the job runs again elsewhere, the cut worker is fenced off, each study delivered once", async (t) => {
  const namespace = await NetworkNamespace.create();
  if (typeof namespace === 'string') {
    t.skip(namespace);
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'radiolens-cluster-'));
  const receiver = await FhirReceiver.start();
  receiver.refusing = false;
  try {
    await withOwnPostgres(['127.0.0.1', namespace.hostAddress], async (server) => {
      const url = server.url('radiolens');
      const studies: ChestStudy[] = [];
      for (let i = 0; i < 3; i++) {
        studies.push(await makeChestStudy(work, { name: `NETNS^${i}`, id: `N-${i}` }, `n${i}`));
      }
      const sendTo = `fhir+http://127.0.0.1:${receiver.port}/fhir`;
      const { startIngest, startWorker } = await harness(work, url, sendTo);
      const ingest = await startIngest('ingest-a');
      // The cut worker reaches the database through the veth pair only; it sends nothing
      // itself (the receiver is on the host's loopback).
      const cut = await startWorker(
        'worker-cut',
        { [TEST_DELAY_ENV]: '4000' },
        {
          args: ['--no-deliver'],
          prefix: namespace.prefix,
          url: server.url('radiolens', namespace.hostAddress),
        },
      );
      await drop(work, 'ingest-a', studies[0]!, 'netns-0');
      const held = await cut.process.waitForLog('job-test-delay', 120_000);
      await namespace.cut();
      const host = await startWorker('worker-host');
      for (const [i, study] of studies.slice(1).entries()) {
        await drop(work, 'ingest-a', study, `netns-${i + 1}`);
      }
      await waitFor(
        'every study delivered',
        () => studies.every((study) => receiver.deliveriesOf(study) >= 1),
        240_000,
        500,
      );
      const during = JSON.parse(
        runCli(['cluster', 'status', '--database', url, '--json']).stdout,
      ) as {
        nodes: { nodeId: string; state: string }[];
      };
      assert.equal(
        during.nodes.find((n) => n.nodeId === 'worker-cut')?.state,
        'expired',
        'the cut worker shows as expired',
      );
      // The network comes back: the cut worker's late completion is refused (its lease token
      // is spent), and nothing is sent twice.
      await namespace.restore();
      await waitFor(
        'the cut worker to learn its job is gone',
        () =>
          cut.process
            .logs()
            .some(
              (l) =>
                (l.event === 'job-lease-lost' || l.event === 'job-failed') &&
                l['job'] === held['job'],
            ),
        120_000,
      );
      await new Promise((r) => setTimeout(r, 3000));
      for (const study of studies) {
        assert.equal(receiver.deliveriesOf(study), 1, 'each study delivered exactly once');
      }
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const job = await client
        .query<{ worker_id: string; attempts: number; state: string }>(
          'SELECT worker_id, attempts, state FROM jobs WHERE id = $1',
          [held['job']],
        )
        .then((result) => result.rows[0])
        .finally(() => client.end());
      assert.equal(job?.state, 'done');
      assert.match(
        job?.worker_id ?? '',
        /^worker-host:/,
        'the job was completed by the other worker',
      );
      for (const p of [cut.process, host.process, ingest]) {
        await p.stop();
        running.delete(p);
      }
    });
  } finally {
    await namespace.destroy();
    await receiver.stop();
    await rm(work, { recursive: true, force: true });
  }
});
