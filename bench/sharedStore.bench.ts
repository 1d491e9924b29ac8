/**
 * What reading a study from the shared DICOM store costs a worker (ADR 0187): WADO-RS of a
 * study of N instances from Orthanc with its PostgreSQL index and storage plugins, into the
 * job's temporary folder (fetchStudy, what `radiolens worker` does), against the baseline of
 * the shared-folder route — reading the same files where they lie (ADR 0183; a local disk
 * with the files in the page cache here, so a lower bound of an NFS read). Also the ingest
 * side (STOW-RS of the study, storeStudy) and the store's size in PostgreSQL per byte of DICOM.
 *
 *   npm run build && node dist/bench/sharedStore.bench.js [--rounds 5] [--sizes 1,4,16]
 *
 * Needs Orthanc, orthanc-dicomweb, orthanc-postgresql and the test PostgreSQL
 * (tools/test-tools.sh). Synthetic 2048² 12-bit radiographs, ~8 MiB each.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readInstanceIdentity } from '../src/foundation/dicom/index.js';
import { fetchStudy, parseSharedStore, storeStudy } from '../src/node/sharedStore/index.js';
import { OrthancServer } from '../test/support/orthanc.js';
import { withTestDatabase } from '../test/support/postgres.js';
import { writeSyntheticRadiographs } from './syntheticRadiographs.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '1,4,16' },
  },
});
const rounds = Number(values.rounds);
const sizes = values.sizes.split(',').map(Number);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timed(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const work = await mkdtemp(join(tmpdir(), 'radiolens-bench-store-'));
try {
  await withTestDatabase(
    async (db) => {
      const orthanc = await OrthancServer.start({
        dicom: false,
        dicomWeb: true,
        postgresUrl: db.url,
      });
      try {
        const store = parseSharedStore(`dicomweb+${orthanc.url}/dicom-web`);
        const rows: string[] = [];
        let dicomBytes = 0;
        let storedBytes = 0;
        /** What the storage plugin keeps of the files (large objects), live rows only. */
        let liveObjectBytes = 0;
        const databaseBytes = async (): Promise<number> =>
          Number(
            (
              await db.pool.query<{ bytes: string }>(
                'SELECT pg_database_size(current_database()) AS bytes',
              )
            ).rows[0]!.bytes,
          );
        // Orthanc has made its schema by now: what grows from here is the studies.
        await db.pool.query('VACUUM');
        const emptyBytes = await databaseBytes();
        for (const n of sizes) {
          const [files] = await writeSyntheticRadiographs(join(work, `n${n}`), 1, {
            imagesPerStudy: n,
            seed: `store-bench-${n}`,
          });
          const instances = await Promise.all(
            files!.map(async (file) => {
              const identity = readInstanceIdentity(await readFile(file), file);
              return {
                file,
                studyInstanceUid: identity.studyInstanceUid,
                sopInstanceUid: identity.sopInstanceUid,
              };
            }),
          );
          const bytes = (await Promise.all(files!.map((f) => stat(f)))).reduce(
            (sum, s) => sum + s.size,
            0,
          );
          dicomBytes += bytes;
          const study = instances[0]!.studyInstanceUid;
          const uids = instances.map((i) => i.sopInstanceUid);
          // The first STOW-RS stores the study; later rounds resend it (duplicates, not kept).
          const stow: number[] = [
            await timed(async () => void (await storeStudy(store, instances))),
          ];
          // Live data only: the resends of earlier rounds leave dead rows until a VACUUM.
          await db.pool.query('VACUUM');
          storedBytes = (await databaseBytes()) - emptyBytes;
          liveObjectBytes = Number(
            (
              await db.pool.query<{ bytes: string | null }>(
                'SELECT SUM(octet_length(data)) AS bytes FROM pg_largeobject',
              )
            ).rows[0]!.bytes ?? 0,
          );
          const folder: number[] = [];
          const wado: number[] = [];
          for (let round = 0; round < rounds; round++) {
            if (round > 0)
              stow.push(await timed(async () => void (await storeStudy(store, instances))));
            folder.push(
              await timed(async () => {
                for (const file of files!) await readFile(file);
              }),
            );
            wado.push(
              await timed(async () => {
                const fetched = await fetchStudy(store, study, uids, { parentDir: work });
                // The analysis then reads the copies, as it reads the shared folder's files.
                for (const file of fetched.files) await readFile(file);
                await fetched.remove();
              }),
            );
          }
          const mib = bytes / 2 ** 20;
          const line = (what: string, ms: readonly number[], vs: string): string =>
            `| ${n} | ${mib.toFixed(1)} | ${what} | ${median(ms).toFixed(1)} | ${Math.min(...ms).toFixed(1)} | ${(mib / (median(ms) / 1000)).toFixed(0)} | ${vs} |`;
          const base = median(folder);
          const times = (ms: readonly number[]): string => (median(ms) / base).toFixed(1);
          rows.push(line('baseline: read the files (shared folder)', folder, '1.00'));
          rows.push(line('WADO-RS from Orthanc+PostgreSQL, then read', wado, times(wado)));
          rows.push(line('ingest: STOW-RS to Orthanc+PostgreSQL', stow, times(stow)));
        }
        console.log(
          `rounds: ${rounds}; 2048² 12-bit synthetic CR instances; load average ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')} on ${availableParallelism()} cores`,
        );
        console.log(
          '| instances | MiB | path | median ms | best ms | MiB/s (median) | × baseline |',
        );
        console.log('|---|---|---|---|---|---|---|');
        for (const row of rows) console.log(row);
        const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
        console.log(
          `\n${mib(dicomBytes)} MiB of DICOM stored once: live large objects ${mib(liveObjectBytes)} MiB ` +
            `(${(liveObjectBytes / dicomBytes).toFixed(2)}×); the database grew ${mib(storedBytes)} MiB ` +
            `(${(storedBytes / dicomBytes).toFixed(2)}×, with the space of the resent duplicates that VACUUM keeps allocated)`,
        );
      } finally {
        await orthanc.stop();
      }
    },
    { migrated: false },
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
