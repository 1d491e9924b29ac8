/**
 * DICOM node benchmark (issue #3, item 7).
 *
 * Ingest: dcmtk's storescu (a second process) sends the same files over C-STORE to Radiolens'
 * SCP and to Orthanc in the same run, alternating, several rounds each; instances/s and MB/s by
 * wall clock, and the receiver's CPU seconds (our process from process.cpuUsage, Orthanc's from
 * /proc) so that "per core" compares like with like. Two workloads: chest radiographs (CR made
 * from the NIH site PNGs, about 1 MB each) and a CT-like series (512×512×16 bit, 0.5 MB each).
 * Target: Radiolens ingests at least as fast as Orthanc.
 *
 * Usage: npx tsx bench/node.bench.ts [--radiographs 40] [--ct 300] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { importImages } from '../src/ingest/index.js';
import { DicomStorageScp } from '../src/ingest/dimse/index.js';
import { InstanceStore } from '../src/store/index.js';
import { OrthancServer, freeLoopbackPort } from '../src/testing/orthanc.js';
import { deriveUid } from '../src/core/index.js';
import { encodeDicomPart10 } from '../src/dicom/index.js';

const run = promisify(execFile);

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}

const RADIOGRAPHS = option('radiographs', 40);
const CT_INSTANCES = option('ct', 300);
const ROUNDS = option('rounds', 3);
const NIH_IMAGES = '../shared/data/cxr-site-nih/images';

interface Workload {
  name: string;
  files: string[];
  bytes: number;
}

interface IngestMeasure {
  wallS: number;
  cpuS: number;
}

/** A C-STORE receiver under test: where storescu sends, and how much CPU it has used. */
interface Receiver {
  name: string;
  aeTitle: string;
  port: number;
  cpuSeconds(): Promise<number>;
  /** Forget what was received, so every round stores new instances. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function radiographWorkload(work: string, count: number): Promise<Workload> {
  const pngs = (await readdir(NIH_IMAGES)).filter((f) => f.endsWith('.png')).slice(0, count);
  const source = join(work, 'png');
  await mkdir(source, { recursive: true });
  for (const png of pngs) await copyFile(join(NIH_IMAGES, png), join(source, png));
  const report = await importImages(source, {
    outDir: join(work, 'cr'),
    bodyPart: 'CHEST',
    viewPosition: 'PA',
  });
  if (report.problems.length > 0) throw new Error(`import failed: ${report.problems[0]?.error}`);
  return withSizes(
    'chest radiographs (CR)',
    report.imported.map((i) => i.dicom),
  );
}

async function ctWorkload(work: string, count: number): Promise<Workload> {
  const dir = join(work, 'ct');
  await mkdir(dir, { recursive: true });
  const study = deriveUid('node-bench', 'ct-study');
  const series = deriveUid('node-bench', 'ct-series');
  const pixels = new Int16Array(512 * 512);
  const files: string[] = [];
  for (let i = 1; i <= count; i++) {
    for (let p = 0; p < pixels.length; p++) pixels[p] = ((p * 7919 + i * 104729) % 2400) - 1024;
    const dataset = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: deriveUid('node-bench', 'ct-instance', String(i)),
      StudyInstanceUID: study,
      SeriesInstanceUID: series,
      PatientName: 'Bench^Synthetic',
      PatientID: 'BENCHCT',
      Modality: 'CT',
      InstanceNumber: String(i),
      ImagePositionPatient: ['0', '0', String(i * 0.625)],
      ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
      PixelSpacing: ['0.7', '0.7'],
      SliceThickness: '0.625',
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: 512,
      Columns: 512,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      RescaleIntercept: '0',
      RescaleSlope: '1',
      PixelData: new Uint8Array(pixels.buffer.slice(0)),
      _vrMap: { PixelData: 'OW' },
    };
    const file = join(dir, `ct${String(i).padStart(4, '0')}.dcm`);
    await writeFile(file, encodeDicomPart10(dataset));
    files.push(file);
  }
  return withSizes('CT series 512²', files);
}

async function withSizes(name: string, files: string[]): Promise<Workload> {
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  return { name, files, bytes };
}

async function radiolensReceiver(work: string): Promise<Receiver> {
  let round = 0;
  let store = InstanceStore.open(join(work, `radiolens-data-${round}`));
  const port = await freeLoopbackPort();
  let scp = await DicomStorageScp.start(store, {
    aeTitle: 'RADIOLENS',
    port,
    host: '127.0.0.1',
    allowedCallers: 'any',
  });
  return {
    name: 'Radiolens',
    aeTitle: 'RADIOLENS',
    port,
    cpuSeconds: async () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    },
    reset: async () => {
      await scp.stop();
      store.close();
      await rm(join(work, `radiolens-data-${round}`), { recursive: true, force: true });
      round += 1;
      store = InstanceStore.open(join(work, `radiolens-data-${round}`));
      scp = await DicomStorageScp.start(store, {
        aeTitle: 'RADIOLENS',
        port,
        host: '127.0.0.1',
        allowedCallers: 'any',
      });
    },
    stop: async () => {
      await scp.stop();
      store.close();
    },
  };
}

async function orthancReceiver(): Promise<Receiver> {
  let orthanc = await OrthancServer.start({ dicom: true });
  return {
    name: 'Orthanc',
    aeTitle: orthanc.aeTitle,
    get port() {
      return orthanc.dicomPort;
    },
    cpuSeconds: () => orthanc.cpuSeconds(),
    reset: async () => {
      await orthanc.stop();
      orthanc = await OrthancServer.start({ dicom: true });
    },
    stop: () => orthanc.stop(),
  };
}

/** One storescu association sending every file of the workload; wall time and receiver CPU. */
async function sendAll(receiver: Receiver, workload: Workload): Promise<IngestMeasure> {
  await receiver.reset();
  const cpu0 = await receiver.cpuSeconds();
  const t0 = performance.now();
  await run(
    'storescu',
    [
      '-aet',
      'BENCH',
      '-aec',
      receiver.aeTitle,
      '127.0.0.1',
      String(receiver.port),
      ...workload.files,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = (await receiver.cpuSeconds()) - cpu0;
  return { wallS, cpuS };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-node-bench-'));
  const receivers: Receiver[] = [];
  try {
    const workloads = [
      await radiographWorkload(work, RADIOGRAPHS),
      await ctWorkload(work, CT_INSTANCES),
    ];
    receivers.push(await radiolensReceiver(work), await orthancReceiver());
    console.log(`\nIngest over C-STORE from storescu, median of ${ROUNDS} rounds each\n`);
    console.log(
      row(['workload', 'receiver', 'instances/s', 'MB/s', 'receiver CPU s', 'vs Orthanc']),
    );
    console.log(row(['---', '---', '---', '---', '---', '---']));
    for (const workload of workloads) {
      const results = new Map<string, IngestMeasure[]>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const receiver of receivers) {
          const list = results.get(receiver.name) ?? [];
          list.push(await sendAll(receiver, workload));
          results.set(receiver.name, list);
        }
      }
      const orthancWall = median((results.get('Orthanc') ?? []).map((m) => m.wallS));
      for (const receiver of receivers) {
        const measures = results.get(receiver.name) ?? [];
        const wallS = median(measures.map((m) => m.wallS));
        const cpuS = median(measures.map((m) => m.cpuS));
        console.log(
          row([
            `${workload.name}, ${workload.files.length} × ${(workload.bytes / workload.files.length / 1e6).toFixed(2)} MB`,
            receiver.name,
            (workload.files.length / wallS).toFixed(1),
            (workload.bytes / 1e6 / wallS).toFixed(1),
            cpuS.toFixed(2),
            `${(orthancWall / wallS).toFixed(2)}×`,
          ]),
        );
      }
    }
  } finally {
    for (const receiver of receivers) await receiver.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
