/**
 * What keeping a job's results in the shared database costs (ADR 0193), against the baseline
 * of the shared-folder route in the same run:
 *
 * 1. The results of one study: the shipped chest model (cxr-pneumonia) on a synthetic 2048²
 *    12-bit radiograph (bench/syntheticRadiographs.ts), every file the analysis writes (SR, SC,
 *    Parametric Map, FHIR bundle, heatmap PNGs, analysis.json) — the bytes a worker commits.
 * 2. Completing a job on PostgreSQL, `--jobs` times each, alternating: the baseline (the
 *    folder mode: outbox.enqueue of the entries naming paths, then queue.complete — two
 *    transactions, what a worker does today) against PgResultFiles.complete (the job, its files
 *    and its entries in one transaction): milliseconds per job, WAL bytes per job
 *    (pg_current_wal_lsn before and after each phase: the server is shared, so other sessions'
 *    WAL counts in; the lowest of the rounds is reported beside the median), and the tables'
 *    size per study after VACUUM (result_files with its TOAST and index).
 *
 *   npm run bench:results [-- --jobs 50 --rounds 3]
 *
 * Needs the test PostgreSQL (tools/test-tools.sh).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeFiles, ModelSessions } from '../src/inference/analysis/index.js';
import { dicomArtifacts } from '../src/inference/results/index.js';
import { ModelRegistry } from '../src/inference/models/index.js';
import {
  parseDestination,
  readResultFolder,
  type OutboxItem,
  type ResultFile,
} from '../src/node/delivery/index.js';
import { PgJobQueue, PgOutbox, PgResultFiles, type PgPool } from '../src/node/postgres/index.js';
import { outboxItemsFor } from '../src/node/service/worker.js';
import { inDatabase } from '../src/node/service/resultKeeping.js';
import { repoRoot } from '../test/support/index.js';
import { withTestDatabase } from '../test/support/postgres.js';
import { writeSyntheticRadiographs } from './syntheticRadiographs.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const median = (xs: readonly number[]): number => quantile(xs, 0.5);
const kib = (bytes: number): string => (bytes / 1024).toFixed(1);

async function walLsn(pool: PgPool): Promise<string> {
  return (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!
    .lsn;
}
async function walSince(pool: PgPool, from: string): Promise<number> {
  const result = await pool.query<{ bytes: string }>(
    'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) AS bytes',
    [from],
  );
  return Number(result.rows[0]!.bytes);
}
async function relationBytes(pool: PgPool, table: string): Promise<number> {
  const result = await pool.query<{ bytes: string }>(
    'SELECT pg_total_relation_size($1::regclass) AS bytes',
    [table],
  );
  return Number(result.rows[0]!.bytes);
}

const work = await mkdtemp(join(tmpdir(), 'radiolens-bench-results-'));
try {
  // 1. One study's results, written by the real analysis.
  const [files] = await writeSyntheticRadiographs(join(work, 'study'), 1, { seed: 'results' });
  const dicomBytes = (await stat(files![0]!)).size;
  const sessions = new ModelSessions();
  const outDir = join(work, 'results', '1');
  let study: ResultFile[];
  let items: OutboxItem[];
  let result: Record<string, unknown>;
  try {
    const run = await analyzeFiles([...files!], {
      registry: new ModelRegistry(join(repoRoot, 'models')),
      model: { id: 'cxr-pneumonia' },
      outDir,
      sessions,
    });
    const outcome = run.studies[0];
    if (outcome === undefined) throw new Error(`not analysed: ${run.problems[0]?.error}`);
    study = await readResultFolder(outDir);
    // The two destinations of the capacity model: a PACS (C-STORE) and a FHIR server.
    items = outboxItemsFor(outcome, [
      parseDestination('dicom://PACS@pacs.example:104'),
      parseDestination('fhir+https://fhir.example/r4'),
    ]);
    result = {
      model: 'cxr-pneumonia@1.2.0',
      outputs: items.length,
      outboxItems: items.length,
      analysis: {
        mode: 'clinical',
        accessionNumber: null,
        summary: outcome.outputs.summary,
        results: dicomArtifacts(outcome.artifacts).map((a) => a.path),
      },
    };
  } finally {
    await sessions.dispose();
  }
  const total = study.reduce((sum, f) => sum + f.bytes.length, 0);
  const kindOf = (name: string): string =>
    name.endsWith('.png')
      ? 'heatmap PNGs'
      : name.endsWith('.json')
        ? 'JSON (analysis.json, FHIR bundle, …)'
        : 'DICOM (SR, SC, Parametric Map)';
  const byKind = new Map<string, { n: number; bytes: number }>();
  for (const file of study) {
    const k = byKind.get(kindOf(file.name)) ?? { n: 0, bytes: 0 };
    byKind.set(kindOf(file.name), { n: k.n + 1, bytes: k.bytes + file.bytes.length });
  }
  console.log(
    `One study's results (cxr-pneumonia on a synthetic 2048² 12-bit CR of ${kib(dicomBytes)} KiB):`,
  );
  console.log('| files | count | KiB |\n|---|---|---|');
  for (const [kind, k] of byKind) console.log(`| ${kind} | ${k.n} | ${kib(k.bytes)} |`);
  console.log(`| all | ${study.length} | ${kib(total)} |`);
  console.log(
    `names: ${study.map((f) => `${relative(outDir, join(outDir, f.name)).replace(/^[\d.]+\//, '<study>/')} ${kib(f.bytes.length)}`).join(', ')}\n`,
  );

  // 2. Completion cost on PostgreSQL, the two routes alternating.
  await withTestDatabase(async ({ pool }) => {
    const queue = new PgJobQueue(pool, { nodeId: 'ingest-bench' });
    const outbox = new PgOutbox(pool);
    const results = new PgResultFiles(pool, queue, outbox);
    type Mode = 'folder' | 'pglz' | 'lz4' | 'none';
    const MODES: readonly Mode[] = ['folder', 'pglz', 'lz4', 'none'];
    const timings: Record<Mode, number[]> = { folder: [], pglz: [], lz4: [], none: [] };
    const wal: Record<Mode, number[]> = { folder: [], pglz: [], lz4: [], none: [] };
    const jobsOf: Record<Mode, number[]> = { folder: [], pglz: [], lz4: [], none: [] };
    /** How the bytes column is stored for the rows written next (TOAST compression, or none). */
    const storeAs = async (mode: Mode): Promise<void> => {
      if (mode === 'folder') return;
      await pool.query(
        mode === 'none'
          ? 'ALTER TABLE result_files ALTER COLUMN bytes SET STORAGE EXTERNAL'
          : `ALTER TABLE result_files ALTER COLUMN bytes SET STORAGE EXTENDED,
               ALTER COLUMN bytes SET COMPRESSION ${mode}`,
      );
    };
    let n = 0;
    const one = async (mode: Mode): Promise<number> => {
      n += 1;
      await queue.enqueue({
        key: `${mode}-${n}`,
        studyInstanceUid: `1.2.826.0.1.3680043.8.498.${n}`,
        model: 'cxr-pneumonia',
        payload: { files: ['/srv/radiolens/ingest-a/objects/x.dcm'] },
      });
      const claimed = (await queue.claim('bench'))!;
      // Distinct keys per job: each job's entries are new rows, as for distinct studies.
      const own = items.map((item) => ({ ...item, key: `${item.key}|${n}` }));
      jobsOf[mode].push(claimed.job.id);
      const started = performance.now();
      if (mode === 'folder') {
        await outbox.enqueue(own);
        await queue.complete(claimed, result);
      } else {
        await results.complete(claimed, result, study, inDatabase(own, claimed.job.id, outDir));
      }
      return performance.now() - started;
    };
    for (const mode of MODES) {
      await storeAs(mode);
      await one(mode); // warm-up
    }
    for (const mode of MODES) jobsOf[mode].length = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        await storeAs(mode);
        const lsn = await walLsn(pool);
        for (let j = 0; j < JOBS; j++) timings[mode].push(await one(mode));
        wal[mode].push((await walSince(pool, lsn)) / JOBS);
      }
    }
    await pool.query('VACUUM ANALYZE');
    const jobs = n;
    const databaseJobs = (
      await pool.query<{ n: number }>('SELECT count(DISTINCT job_id)::int AS n FROM result_files')
    ).rows[0]!.n;
    /** Bytes a study's files take as stored (after compression), per mode. */
    const stored = async (mode: Mode): Promise<number> => {
      const result = await pool.query<{ bytes: string | null }>(
        'SELECT sum(pg_column_size(bytes)) AS bytes FROM result_files WHERE job_id = ANY($1::bigint[])',
        [jobsOf[mode]],
      );
      return Number(result.rows[0]!.bytes ?? 0) / jobsOf[mode].length;
    };
    const resultTable = await relationBytes(pool, 'result_files');
    const jobsTable = await relationBytes(pool, 'jobs');
    const outboxTable = await relationBytes(pool, 'outbox');
    console.log(
      `Completing a job (PostgreSQL ${
        (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!
          .server_version
      } on this host, fsync on): ${JOBS} jobs × ${ROUNDS} rounds per route, alternating; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${availableParallelism()} cores`,
    );
    console.log(
      '| route | median ms | p95 ms | × baseline (median) | WAL KiB per job: lowest round / median | stored KiB per study |',
    );
    console.log('|---|---|---|---|---|---|');
    const base = median(timings.folder);
    for (const mode of MODES) {
      const label =
        mode === 'folder'
          ? 'baseline: entries naming paths, then complete (shared folder)'
          : `results in the database, one transaction; bytes ${mode === 'none' ? 'uncompressed (STORAGE EXTERNAL)' : `${mode}-compressed`}`;
      console.log(
        `| ${label} | ${median(timings[mode]).toFixed(1)} | ${quantile(timings[mode], 0.95).toFixed(1)} | ${(median(timings[mode]) / base).toFixed(2)} | ${kib(Math.min(...wal[mode]))} / ${kib(median(wal[mode]))} | ${mode === 'folder' ? '–' : kib(await stored(mode))} |`,
      );
    }
    console.log(
      `\nAfter VACUUM: result_files ${kib(resultTable / databaseJobs)} KiB per study (${databaseJobs} studies; ${(resultTable / databaseJobs / total).toFixed(2)}× the files' bytes, TOAST and index included); jobs ${kib(jobsTable / jobs)} KiB and outbox ${kib(outboxTable / jobs)} KiB per study (${jobs} jobs, both routes).`,
    );
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
