/**
 * Scale-out benchmark (issue #17, item 4), on the machine's PostgreSQL, a database of its own.
 *
 * 1. Throughput: `radiolens worker` processes (1, 2, 4; one onnxruntime thread each, nothing
 *    to send) take jobs from the shared queue and run cxr-pneumonia (the shipped DenseNet
 *    classifier with its CAM, CPU-bound) on chest radiographs made from the shipped samples.
 *    Each round first gives every worker a warm-up job (model loading is not counted), then
 *    enqueues N jobs at once and times until the last is done. Baseline, named and measured in
 *    the same run: the same analysis in one process without any queue (analyzeFiles in a loop,
 *    one thread), i.e. what one core does with no coordination.
 * 2. Queue overhead: claim → complete of a job on PostgreSQL, in this process, one claimer and
 *    four at once (empty jobs, so only the queue is timed).
 * 3. Database growth: jobs and outbox rows of 1,000 studies as the node writes them (a job
 *    with its files and result, one FHIR outbox entry and one SR entry per study, delivered),
 *    measured as pg_total_relation_size before and after, after VACUUM.
 *
 * Usage: npm run bench:scale [-- --jobs 64 --workers 1,2,4 --overhead 500]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { ModelSessions, analyzeFiles } from '../src/inference/analysis/index.js';
import { InferencePool, ModelRegistry } from '../src/inference/models/index.js';
import { importImages } from '../src/lifecycle/imports/index.js';
import { PgJobQueue, PgOutbox, migrate, openPostgresPool } from '../src/node/postgres/index.js';
import { parseDestination } from '../src/node/delivery/index.js';
import { cliMain, scriptExecArgv } from '../test/support/entryPoints.js';
import { repoRoot } from '../test/support/index.js';
import { createScratchDatabase } from '../test/support/postgres.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}
const JOBS = Number(option('jobs', '64'));
const WORKER_COUNTS = option('workers', '1,2,4').split(',').map(Number);
const OVERHEAD_JOBS = Number(option('overhead', '500'));
const MODELS = join(repoRoot, 'models');
const MODEL = 'cxr-pneumonia';

/** Four chest CRs from the shipped samples (samples/cxr), one study each. */
async function makeStudies(dir: string): Promise<{ file: string; study: string }[]> {
  const images = ['00000061_012.png', '00000150_002.png', '00001280_004.png', '00001299_000.png'];
  await mkdir(join(dir, 'png'), { recursive: true });
  const rows = ['image,patient_id,study'];
  for (const [i, image] of images.entries()) {
    await copyFile(join(repoRoot, 'samples', 'cxr', image), join(dir, 'png', image));
    rows.push(`${image},bench-${i},bench-${i}`);
  }
  await writeFile(join(dir, 'png', 'images.csv'), `${rows.join('\n')}\n`);
  const report = await importImages(join(dir, 'png', 'images.csv'), {
    outDir: join(dir, 'dicom'),
    bodyPart: 'CHEST',
    viewPosition: 'PA',
    patientIdColumn: 'patient_id',
    groupByColumn: 'study',
  });
  return report.imported.map((i) => ({ file: i.dicom, study: i.studyInstanceUid }));
}

class WorkerProcess {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', () => undefined);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  static start(url: string, data: string, id: string): WorkerProcess {
    return new WorkerProcess(
      spawn(
        process.execPath,
        [
          ...scriptExecArgv,
          cliMain,
          'worker',
          '--database',
          url,
          '--data',
          data,
          '--node-id',
          id,
          '--threads',
          '1',
          '--no-deliver',
          '--http-port',
          '0',
          '--registry',
          MODELS,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RADIOLENS_LOG_LEVEL: 'warn' } },
      ),
    );
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function throughput(
  pool: pg.Pool,
  queue: PgJobQueue,
  url: string,
  work: string,
  studies: { file: string; study: string }[],
  workers: number,
): Promise<{ perHour: number; seconds: number }> {
  const tag = randomBytes(3).toString('hex');
  const processes = Array.from({ length: workers }, (_, i) =>
    WorkerProcess.start(url, join(work, 'shared'), `bench-${tag}-${i}`),
  );
  try {
    await until('the workers to start', async () =>
      processes.every((p) => p.output.includes('radiolens worker running')),
    );
    const enqueue = async (n: number, prefix: string): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const s = studies[i % studies.length]!;
        await queue.enqueue({
          key: `${prefix}-${i}`,
          studyInstanceUid: s.study,
          model: MODEL,
          payload: { files: [s.file] },
        });
      }
    };
    const pending = async (): Promise<number> =>
      Number(
        (await pool.query(`SELECT count(*) AS n FROM jobs WHERE state IN ('queued','running')`))
          .rows[0].n,
      );
    await enqueue(workers, `warm-${tag}`);
    await until('the warm-up jobs', async () => (await pending()) === 0);
    const started = performance.now();
    await enqueue(JOBS, `run-${tag}`);
    await until('the jobs', async () => (await pending()) === 0);
    const seconds = (performance.now() - started) / 1000;
    const failed = Number(
      (await pool.query(`SELECT count(*) AS n FROM jobs WHERE state = 'failed'`)).rows[0].n,
    );
    if (failed > 0) throw new Error(`${failed} job(s) failed`);
    return { perHour: (JOBS / seconds) * 3600, seconds };
  } finally {
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
  }
}

async function baseline(
  work: string,
  studies: { file: string; study: string }[],
): Promise<{ perHour: number; seconds: number }> {
  const registry = new ModelRegistry(MODELS);
  const pool = new InferencePool({ intraOpThreads: 1 });
  const sessions = new ModelSessions({ pool });
  try {
    const run = (i: number) =>
      analyzeFiles([studies[i % studies.length]!.file], {
        registry,
        model: { id: MODEL },
        outDir: join(work, 'baseline', String(i)),
        sessions,
      });
    await run(0); // warm-up: load the model
    const started = performance.now();
    for (let i = 0; i < JOBS; i++) await run(i + 1);
    const seconds = (performance.now() - started) / 1000;
    return { perHour: (JOBS / seconds) * 3600, seconds };
  } finally {
    await sessions.dispose();
    await pool.close();
  }
}

async function overhead(url: string): Promise<{ one: number; four: number; enqueue: number }> {
  const pool = openPostgresPool(url, { maxConnections: 8 });
  const queue = new PgJobQueue(pool, { nodeId: 'bench-overhead' });
  try {
    const add = async (prefix: string): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < OVERHEAD_JOBS; i++) {
        await queue.enqueue({ key: `${prefix}-${i}`, studyInstanceUid: '1.2.3', model: 'm' });
      }
      return (performance.now() - started) / OVERHEAD_JOBS;
    };
    const drain = async (claimers: number): Promise<number> => {
      const started = performance.now();
      let done = 0;
      await Promise.all(
        Array.from({ length: claimers }, async (_, c) => {
          for (;;) {
            const claimed = await queue.claim(`claimer-${c}`);
            if (claimed === undefined) return;
            await queue.complete(claimed, {});
            done += 1;
          }
        }),
      );
      return (performance.now() - started) / done;
    };
    const enqueue = await add('one');
    const one = await drain(1);
    await add('four');
    const four = await drain(4);
    return { one, four, enqueue };
  } finally {
    await pool.end();
  }
}

async function growth(url: string, study: string): Promise<number> {
  const pool = openPostgresPool(url, { maxConnections: 2 });
  const queue = new PgJobQueue(pool, { nodeId: 'bench-growth' });
  const outbox = new PgOutbox(pool, { nodeId: 'bench-growth' });
  const size = async (): Promise<number> => {
    await pool.query('VACUUM ANALYZE jobs');
    await pool.query('VACUUM ANALYZE outbox');
    const r = await pool.query(
      `SELECT pg_total_relation_size('jobs') + pg_total_relation_size('outbox') AS n`,
    );
    return Number(r.rows[0].n);
  };
  try {
    const before = await size();
    const fhir = parseDestination('fhir+https://fhir.hospital.example/fhir');
    const pacs = parseDestination('dicom://PACS@pacs.hospital.example:104');
    for (let i = 0; i < 1000; i++) {
      const uid = `${study}.${i}`;
      const files = [`/srv/radiolens/ingest-a/objects/${uid}/${uid}.1.dcm`];
      await queue.enqueue({
        key: `${uid}|${MODEL}|1765000000000`,
        studyInstanceUid: uid,
        model: MODEL,
        payload: { lastReceivedAt: 1765000000000, files },
      });
      const claimed = (await queue.claim('w'))!;
      await outbox.enqueue([
        {
          destination: fhir,
          key: `fhir|${uid}|${MODEL}@1.2.0`,
          payload: {
            kind: 'fhir-bundle',
            file: `/srv/radiolens/shared/results/${i}/fhir-bundle.json`,
            studyInstanceUid: uid,
          },
        },
        {
          destination: pacs,
          key: `pacs|${uid}.9.1`,
          payload: {
            kind: 'dicom',
            file: `/srv/radiolens/shared/results/${i}/sr.dcm`,
            studyInstanceUid: uid,
            sopInstanceUid: `${uid}.9.1`,
          },
        },
      ]);
      await queue.complete(claimed, {
        model: `${MODEL}@1.2.0`,
        outputs: 3,
        outboxItems: 2,
      });
      for (const entry of await outbox.claimDue(2)) {
        await outbox.settle(entry, { status: 'delivered' });
      }
    }
    return (await size()) - before;
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  const scratch = await createScratchDatabase('radiolens_bench');
  const url = scratch.url;
  const work = await mkdtemp(join(tmpdir(), 'radiolens-scale-'));
  const pool = openPostgresPool(url, { maxConnections: 4 });
  try {
    await migrate(pool);
    const studies = await makeStudies(work);
    const queue = new PgJobQueue(pool, { nodeId: 'bench-enqueuer' });
    const load = loadavg()[0]!.toFixed(1);
    process.stdout.write(
      `radiolens bench:scale — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${load} at start` +
        ` (other processes share this machine: numbers are lower bounds)\n` +
        `model ${MODEL} (CPU, 1 onnxruntime thread per worker process), ${JOBS} jobs per round\n\n`,
    );
    const base = await baseline(work, studies);
    const rows: string[][] = [
      [
        'baseline: one process, no queue',
        '1',
        base.seconds.toFixed(1),
        base.perHour.toFixed(0),
        '1.00',
      ],
    ];
    for (const workers of WORKER_COUNTS) {
      const r = await throughput(pool, queue, url, work, studies, workers);
      rows.push([
        `radiolens worker × ${workers}`,
        String(workers),
        r.seconds.toFixed(1),
        r.perHour.toFixed(0),
        (r.perHour / base.perHour).toFixed(2),
      ]);
    }
    const header = ['configuration', 'processes', 'seconds', 'studies/hour', 'vs baseline'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n\n`);
    const o = await overhead(url);
    process.stdout.write(
      `queue overhead (PostgreSQL, ${OVERHEAD_JOBS} empty jobs): enqueue ${o.enqueue.toFixed(2)} ms/job; ` +
        `claim→complete ${o.one.toFixed(2)} ms/job with 1 claimer, ${o.four.toFixed(2)} ms/job with 4 at once\n`,
    );
    const bytes = await growth(url, studies[0]!.study);
    process.stdout.write(
      `database growth per 1,000 studies (jobs + outbox, 1 job and 2 outbox entries each, after VACUUM): ` +
        `${(bytes / 1024 / 1024).toFixed(2)} MiB (${Math.round(bytes / 1000)} bytes per study)\n` +
        `load average at end ${loadavg()[0]!.toFixed(1)}\n`,
    );
  } finally {
    await pool.end();
    await scratch.drop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
