/**
 * What one job per study across ingest nodes (ADR 0192) costs on PostgreSQL, against its
 * baseline in the same run: the enqueue a stable study cost before (one job on the shared
 * queue, as `serve --database` did). Measured on the machine's PostgreSQL, a database of its own,
 * one study after another (what one ingest node's stability timer does):
 *
 * 1. baseline: enqueue one job;
 * 2. a study at one node: its report while arriving, its declaration (lock, upsert, read of
 *    the parts, the assembly row), the enqueue, the mark;
 * 3. a study split across two nodes: both reports, the first declaration (waiting), the second
 *    (complete), the enqueue, the mark.
 *
 * And the space a part takes (a CR study of 2 instances with their file paths).
 *
 * Usage: npm run bench:assembly [-- --studies 300]
 */
import { loadavg } from 'node:os';
import {
  NodeLease,
  PgJobQueue,
  StudyAssembly,
  migrate,
  openPostgresPool,
  type StablePart,
} from '../src/node/postgres/index.js';
import { createScratchDatabase } from '../test/support/postgres.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}
const STUDIES = Number(option('studies', '300'));

const uid = (kind: string, i: number): string => `1.2.826.0.1.3680043.10.543.${kind}.${i}`;

function part(study: string, node: string, received: number): StablePart {
  const sops = [1, 2].map((n) => `${study}.${node.length}.${n}`);
  return {
    studyInstanceUid: study,
    instances: sops.length,
    lastReceivedAt: received,
    source: {
      sopInstanceUids: sops,
      files: sops.map((_, n) => `/srv/radiolens/${node}/objects/ab/cd/${'e'.repeat(60)}${n}`),
    },
    facts: {
      modality: ['CR'],
      bodyPartExamined: ['CHEST'],
      viewPosition: ['PA'],
      sopClassUid: ['1.2.840.10008.5.1.4.1.1.1'],
      callingAeTitle: ['MODALITY'],
    },
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const scratch = await createScratchDatabase('radiolens_bench');
const pool = openPostgresPool(scratch.url, { maxConnections: 4 });
const loadBefore = loadavg()[0]!;
try {
  await migrate(pool);
  await NodeLease.acquire(pool, { nodeId: 'ingest-a', role: 'serve', leaseMs: 3_600_000 });
  await NodeLease.acquire(pool, { nodeId: 'ingest-b', role: 'serve', leaseMs: 3_600_000 });
  const queue = new PgJobQueue(pool, { nodeId: 'ingest-a' });
  const a = new StudyAssembly(pool, { nodeId: 'ingest-a' });
  const b = new StudyAssembly(pool, { nodeId: 'ingest-b' });
  const enqueue = (study: string, keyTime: number): Promise<unknown> =>
    queue.enqueue({
      key: `${study}|cxr-pneumonia|${keyTime}`,
      studyInstanceUid: study,
      model: 'cxr-pneumonia',
      payload: { lastReceivedAt: keyTime, files: part(study, 'a', keyTime).source.files },
    });

  const rounds: Record<string, (i: number) => Promise<void>> = {
    'baseline: enqueue one job (before ADR 0192)': async (i) => {
      await enqueue(uid('1', i), 1000 + i);
    },
    'a study at one node: report, declare, enqueue, mark': async (i) => {
      const study = uid('2', i);
      await a.reportArriving([{ studyInstanceUid: study, instances: 2, lastReceivedAt: 1000 }]);
      const outcome = await a.declareStable(part(study, 'a', 1000));
      if (outcome.kind !== 'complete') throw new Error(`not complete: ${outcome.kind}`);
      await enqueue(study, outcome.keyTime);
      await a.markAssembled(outcome);
    },
    'a study split across two nodes: 2 reports, 2 declarations, enqueue, mark': async (i) => {
      const study = uid('3', i);
      await a.reportArriving([{ studyInstanceUid: study, instances: 2, lastReceivedAt: 1000 }]);
      await b.reportArriving([{ studyInstanceUid: study, instances: 2, lastReceivedAt: 1100 }]);
      const first = await a.declareStable(part(study, 'a', 1000));
      if (first.kind !== 'waiting') throw new Error(`not waiting: ${first.kind}`);
      const outcome = await b.declareStable(part(study, 'b', 1100));
      if (outcome.kind !== 'complete') throw new Error(`not complete: ${outcome.kind}`);
      await enqueue(study, outcome.keyTime);
      await b.markAssembled(outcome);
    },
  };
  // A warm-up of each, so that the first measured round does not pay for plans and connections.
  for (const run of Object.values(rounds)) await run(-1);
  const table: string[][] = [];
  let baseline = 0;
  for (const [name, run] of Object.entries(rounds)) {
    const times: number[] = [];
    for (let i = 0; i < STUDIES; i++) {
      const started = performance.now();
      await run(i);
      times.push(performance.now() - started);
    }
    const mid = median(times);
    if (baseline === 0) baseline = mid;
    const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
    table.push([
      name,
      `${mid.toFixed(2)} ms`,
      `${mean.toFixed(2)} ms`,
      `${(mid / baseline).toFixed(2)}×`,
    ]);
  }
  await pool.query('VACUUM ANALYZE study_parts');
  const size = await pool.query<{ bytes: string; parts: string }>(
    `SELECT pg_total_relation_size('study_parts') AS bytes, (SELECT count(*) FROM study_parts) AS parts`,
  );
  const bytes = Number(size.rows[0]!.bytes);
  const parts = Number(size.rows[0]!.parts);
  const loadAfter = loadavg()[0]!;
  console.log(`studies per round: ${STUDIES}; PostgreSQL on this host, fsync on`);
  console.log(
    `load average (1 min): ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`,
  );
  console.log('| per study | median | mean | median vs baseline |');
  console.log('|---|---|---|---|');
  for (const row of table) console.log(`| ${row.join(' | ')} |`);
  console.log(
    `study_parts: ${parts} parts (2 instances each, with file paths), ${bytes} bytes with indexes = ${Math.round(bytes / parts)} bytes per part`,
  );
} finally {
  await pool.end();
  await scratch.drop();
}
