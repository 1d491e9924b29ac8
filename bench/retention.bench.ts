/**
 * Retention benchmark (issue #17, ADR 0189), on the machine's PostgreSQL, a database of its own.
 *
 * 100,000 done jobs finished 40 days ago (payload and result of the size the node writes, their
 * ingest node having read them) and 200,000 delivered outbox entries (an SR and a FHIR bundle
 * per study) are pruned by `pruneCluster` in batches (5000 rows, the default), while one claimer on its own
 * connection claims and completes queued jobs in a loop. Reported: the prune's time and rows
 * per second, and the claim → complete latency during it. Baseline, in the same run: the same
 * claimer with no prune running. For comparison: the same rows removed by one unbatched DELETE
 * per table, with the same claimer beside it.
 *
 * Usage: npm run bench:retention [-- --jobs 100000 --batch 5000]
 */
import { cpus, loadavg } from 'node:os';
import {
  DEFAULT_PRUNE_POLICY,
  NodeLease,
  PgJobQueue,
  migrate,
  openPostgresPool,
  pruneCluster,
  recordResultsRead,
  type PgPool,
} from '../src/node/postgres/index.js';
import { createScratchDatabase } from '../test/support/postgres.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}
const JOBS = Number(option('jobs', '100000'));
const BATCH = Number(option('batch', '5000'));
const DAY = 86_400_000;

/** Done jobs and delivered entries as the node writes them, finished `ageDays` ago. */
async function fill(pool: PgPool, jobs: number, ageDays: number, tag: string): Promise<void> {
  const at = Date.now() - ageDays * DAY;
  await pool.query(
    `INSERT INTO jobs (key, study_instance_uid, model, payload, state, attempts, max_attempts,
       available_at, created_at, completed_at, origin_node, result)
     SELECT '${tag}-' || i, '1.2.826.0.1.3680043.8.498.' || i, 'cxr-pneumonia',
       jsonb_build_object('lastReceivedAt', $1::bigint, 'files', jsonb_build_array(
         '/srv/radiolens/ingest-a/objects/' || md5(i::text) || '.dcm')),
       'done', 1, 5, $1::bigint, $1::bigint, $1::bigint + 60000, 'ingest-a',
       jsonb_build_object('model', 'cxr-pneumonia@1.2.0', 'outputs', 3, 'outboxItems', 2,
         'analysis', jsonb_build_object('mode', 'clinical', 'accessionNumber', 'A' || i,
           'summary', '/srv/radiolens/shared/results/' || i || '/analysis.json',
           'results', jsonb_build_array('/srv/radiolens/shared/results/' || i || '/SR.dcm',
             '/srv/radiolens/shared/results/' || i || '/SC.dcm',
             '/srv/radiolens/shared/results/' || i || '/PM.dcm')))
     FROM generate_series(1, $2::integer) AS i`,
    [at, jobs],
  );
  await pool.query(
    `INSERT INTO outbox (key, destination, label, payload, state, attempts, available_at,
       created_at, delivered_at)
     SELECT '${tag}-' || i || '-' || d, jsonb_build_object('kind', 'dicom', 'aeTitle', 'PACS'),
       CASE d WHEN 1 THEN 'dicom://PACS@pacs:104' ELSE 'fhir+http://ehr/fhir' END,
       jsonb_build_object('kind', 'dicom', 'file', '/srv/radiolens/shared/results/' || i || '/SR.dcm',
         'studyInstanceUid', '1.2.826.0.1.3680043.8.498.' || i),
       'delivered', 0, $1::bigint, $1::bigint, $1::bigint + 90000
     FROM generate_series(1, $2::integer) AS i, generate_series(1, 2) AS d`,
    [at, jobs],
  );
  await pool.query('VACUUM ANALYZE jobs');
  await pool.query('VACUUM ANALYZE outbox');
}

interface Latencies {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

function summarise(ms: number[]): Latencies {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0 };
}

/** Claims and completes queued jobs on its own connection until `done` resolves. */
async function claimWhile(url: string, done: Promise<unknown>): Promise<Latencies> {
  const own = openPostgresPool(url, { maxConnections: 1 });
  const queue = new PgJobQueue(own);
  const ms: number[] = [];
  let stop = false;
  void done.then(() => (stop = true));
  try {
    while (!stop) {
      const started = performance.now();
      const claimed = await queue.claim('bench');
      if (claimed === undefined) throw new Error('the bench ran out of queued jobs');
      await queue.complete(claimed, {});
      ms.push(performance.now() - started);
    }
  } finally {
    await own.end();
  }
  return summarise(ms);
}

async function enqueue(pool: PgPool, n: number, tag: string): Promise<void> {
  await pool.query(
    `INSERT INTO jobs (key, study_instance_uid, model, payload, state, max_attempts, available_at, created_at)
     SELECT '${tag}-q-' || i, '1.2.3.' || i, 'm', '{}', 'queued', 5, 0, 0
     FROM generate_series(1, $1::integer) AS i`,
    [n],
  );
}

async function main(): Promise<void> {
  const scratch = await createScratchDatabase('radiolens_bench');
  const url = scratch.url;
  const pool = openPostgresPool(url, { maxConnections: 4 });
  try {
    await migrate(pool);
    await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve' });
    await recordResultsRead(pool, 'ingest-a', Date.now());
    await enqueue(pool, 50_000, 'claims');
    const load = loadavg()[0]!.toFixed(1);

    // Baseline: the claimer alone, for as long as a prune takes (8 s at most here).
    const idle = await claimWhile(url, new Promise((r) => setTimeout(r, 8000)));

    await fill(pool, JOBS, 40, 'batched');
    // Done jobs first (outbox entries out of reach), then the delivered entries.
    const reports: Awaited<ReturnType<typeof pruneCluster>>[] = [];
    const pruning = (async () => {
      for (const policy of [
        { ...DEFAULT_PRUNE_POLICY, deliveredOutboxMs: 10_000 * DAY },
        DEFAULT_PRUNE_POLICY,
      ]) {
        reports.push(await pruneCluster(pool, { policy, nodeId: 'bench', batchSize: BATCH }));
      }
    })();
    const during = await claimWhile(url, pruning);
    await pruning;

    await fill(pool, JOBS, 40, 'single');
    const cutoff = Date.now() - 30 * DAY;
    let single = { jobs: 0, outbox: 0, ms: 0 };
    const deleting = (async () => {
      const started = performance.now();
      const jobs = await pool.query(`DELETE FROM jobs WHERE state = 'done' AND completed_at < $1`, [
        cutoff,
      ]);
      const outbox = await pool.query(
        `DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < $1`,
        [cutoff],
      );
      single = {
        jobs: jobs.rowCount ?? 0,
        outbox: outbox.rowCount ?? 0,
        ms: performance.now() - started,
      };
    })();
    const duringSingle = await claimWhile(url, deleting);
    await deleting;

    const [jobsRun, outboxRun] = reports as [(typeof reports)[0], (typeof reports)[0]];
    const line = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;
    const fmt = (l: Latencies): (string | number)[] => [
      l.n,
      l.p50.toFixed(1),
      l.p95.toFixed(1),
      l.max.toFixed(1),
    ];
    const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000));
    process.stdout.write(
      [
        `Retention bench: ${JOBS.toLocaleString('en')} done jobs + ${(2 * JOBS).toLocaleString('en')} delivered outbox entries, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${load} at start, PostgreSQL on this host`,
        '',
        line([
          'configuration',
          'rows removed',
          's',
          'rows/s',
          'claims',
          'claim p50 ms',
          'p95 ms',
          'max ms',
        ]),
        line(['---', '---', '---', '---', '---', '---', '---', '---']),
        line(['baseline: claimer alone, no prune', 0, '-', '-', ...fmt(idle)]),
        line([
          `pruneCluster, batches of ${BATCH}: done jobs (${jobsRun.batches} batches)`,
          jobsRun.removed.doneJobs,
          (jobsRun.ms / 1000).toFixed(1),
          rate(jobsRun.removed.doneJobs, jobsRun.ms),
          '(claims over both passes →)',
          '',
          '',
          '',
        ]),
        line([
          `pruneCluster, batches of ${BATCH}: delivered entries (${outboxRun.batches} batches)`,
          outboxRun.removed.deliveredOutbox,
          (outboxRun.ms / 1000).toFixed(1),
          rate(outboxRun.removed.deliveredOutbox, outboxRun.ms),
          ...fmt(during),
        ]),
        line([
          'one DELETE per table (comparison)',
          `${single.jobs} jobs + ${single.outbox} entries`,
          (single.ms / 1000).toFixed(1),
          rate(single.jobs + single.outbox, single.ms),
          ...fmt(duringSingle),
        ]),
        '',
        `load average ${loadavg()[0]!.toFixed(1)} at the end`,
        '',
      ].join('\n'),
    );
  } finally {
    await pool.end();
    await scratch.drop();
  }
}

await main();
