/**
 * DICOM node benchmark (issue #3, item 7), against Orthanc in the same run.
 *
 * 1. Ingest: dcmtk's storescu (a second process) sends the same files over C-STORE to
 *    `radiolens serve` (a child process, ingest only) and to Orthanc, alternating, several
 *    rounds each; instances/s and MB/s by wall clock, and each receiver's CPU seconds from
 *    /proc. Both acknowledge an instance only once its file is fsynced (Orthanc syncs the file
 *    only; Radiolens also its name and index row, ADR 0117). Orthanc runs twice: as
 *    Debian ships it (DCMTK with Nagle's algorithm on: ~40 ms per instance waiting for a
 *    delayed ACK) and with TCP_NODELAY=1, the baseline the target is judged against. Workloads: real chest
 *    radiographs (the NIH site PNGs imported as CR, 512² 8-bit) and a CT-like series (512²,
 *    16-bit); the radiographs also as a modality sends them, one association per two-image
 *    exam. Each fresh receiver first takes an unmeasured warm-up association (30 other
 *    CT instances), as a node that has been running does. Target: Radiolens ingests at least
 *    as fast as Orthanc.
 * 2. End-to-end latency: Orthanc is the PACS and already holds each study; storescu sends the
 *    study to `radiolens serve`, which runs a DenseNet-121-sized model (random weights, the real
 *    topology at 224²) and sends the SR and SC back to Orthanc by C-STORE. Latency = storescu
 *    done (last instance durably received) → the SR series visible in Orthanc's REST API
 *    (polled every 10 ms). Studies are chest radiographs of 2048² 12-bit CR, PA + lateral (the
 *    lateral is outside the model's intended use and is reported, not scored), sent one after
 *    the other. The quiet period (study complete after no new instance) is part of the latency
 *    and printed. Target: p95 < 2 s.
 *
 * Usage: npx tsx bench/node.bench.ts [--radiographs 40] [--ct 300] [--rounds 3]
 *          [--warm-up 30] [--studies 20] [--quiet 0.5] [--skip-ingest] [--skip-latency]
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deriveUid } from '../src/foundation/core/index.js';
import { importImages } from '../src/lifecycle/imports/index.js';
import type { ServeProcess } from '../test/support/node.js';
import { writeTestModelPackage } from '../test/support/onnxModels.js';
import { OrthancServer } from '../test/support/orthanc.js';
import { dicomPortOf, startServe, storescu, writeCtSeries } from './nodeHarness.js';
import { writeSyntheticRadiographs } from './syntheticRadiographs.js';

const run = promisify(execFile);

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const RADIOGRAPHS = option('radiographs', 40);
const CT_INSTANCES = option('ct', 300);
const ROUNDS = option('rounds', 3);
const STUDIES = option('studies', 20);
const QUIET_SECONDS = option('quiet', 0.5);
const WARM_UP_INSTANCES = option('warm-up', 30);
const NIH_IMAGES = '../shared/data/cxr-site-nih/images';

interface Workload {
  name: string;
  files: string[];
  bytes: number;
  /** Instances per association; all in one association when absent. */
  perAssociation?: number;
}

interface IngestMeasure {
  wallS: number;
  cpuS: number;
}

/** A C-STORE receiver under test: where storescu sends, and how much CPU it has used. */
interface Receiver {
  name: string;
  aeTitle: string;
  port(): number;
  cpuSeconds(): Promise<number>;
  /** A fresh, empty receiver, so every round stores new instances. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function procCpuSeconds(pid: number | undefined): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks
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
    'chest radiographs (CR, NIH)',
    report.imported.map((i) => i.dicom),
  );
}

async function ctWorkload(work: string, count: number, label = 'ct'): Promise<Workload> {
  return withSizes('CT series 512²', await writeCtSeries(join(work, label), count, { label }));
}

async function withSizes(name: string, files: string[]): Promise<Workload> {
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  return { name, files, bytes };
}

async function radiolensReceiver(work: string): Promise<Receiver> {
  let round = 0;
  const ingestOnly = ['--workers', '0', '--quiet-period', '3600'];
  let serve = await startServe(join(work, `radiolens-${round}`), ingestOnly);
  return {
    name: 'Radiolens (serve)',
    aeTitle: 'RADIOLENS',
    port: () => dicomPortOf(serve),
    cpuSeconds: () => procCpuSeconds(serve.child.pid),
    reset: async () => {
      await serve.stop();
      await rm(join(work, `radiolens-${round}`), { recursive: true, force: true });
      round += 1;
      serve = await startServe(join(work, `radiolens-${round}`), ingestOnly);
    },
    stop: async () => {
      await serve.stop();
    },
  };
}

async function orthancReceiver(tcpNoDelay: boolean): Promise<Receiver> {
  const start = (): Promise<OrthancServer> => OrthancServer.start({ dicom: true, tcpNoDelay });
  let orthanc = await start();
  return {
    name: tcpNoDelay ? 'Orthanc (TCP_NODELAY=1)' : 'Orthanc (Debian default)',
    aeTitle: orthanc.aeTitle,
    port: () => orthanc.dicomPort,
    cpuSeconds: () => orthanc.cpuSeconds(),
    reset: async () => {
      await orthanc.stop();
      orthanc = await start();
    },
    stop: () => orthanc.stop(),
  };
}

/**
 * One storescu association sending every file of the workload; wall time and receiver CPU.
 * A fresh receiver first takes a warm-up association of other instances, unmeasured: a node
 * runs for months, and a cold JavaScript engine is not what a PACS meets.
 */
async function sendAll(
  receiver: Receiver,
  workload: Workload,
  warmUp: Workload,
): Promise<IngestMeasure> {
  await receiver.reset();
  await storescu(receiver.aeTitle, receiver.port(), warmUp.files);
  // The previous receiver's deleted files and dirty pages are flushed now, not on our clock.
  await run('sync', []);
  const cpu0 = await receiver.cpuSeconds();
  const t0 = performance.now();
  const size = workload.perAssociation ?? workload.files.length;
  for (let at = 0; at < workload.files.length; at += size) {
    await storescu(receiver.aeTitle, receiver.port(), workload.files.slice(at, at + size));
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = (await receiver.cpuSeconds()) - cpu0;
  return { wallS, cpuS };
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** Linear interpolation between order statistics (R type 7). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

async function ingestBenchmark(work: string): Promise<void> {
  const radiographs = await radiographWorkload(work, RADIOGRAPHS);
  const workloads: Workload[] = [
    radiographs,
    // How a CR/DX modality sends: each exam (here two images) in an association of its own.
    {
      ...radiographs,
      name: `${radiographs.name}, 2 per association`,
      perAssociation: 2,
    },
    await ctWorkload(work, CT_INSTANCES),
  ];
  const warmUp = await ctWorkload(work, WARM_UP_INSTANCES, 'warm-up');
  const receivers = [
    await radiolensReceiver(work),
    await orthancReceiver(true),
    await orthancReceiver(false),
  ];
  try {
    console.log(`\nIngest over C-STORE from storescu, median of ${ROUNDS} rounds each\n`);
    console.log(
      row([
        'workload',
        'receiver',
        'instances/s',
        'MB/s',
        'receiver CPU s',
        'speed vs tuned Orthanc',
      ]),
    );
    console.log(row(['---', '---', '---', '---', '---', '---']));
    for (const workload of workloads) {
      const results = new Map<string, IngestMeasure[]>();
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with another receiver, so none always follows the same one.
        const order = receivers.map((_, i) => receivers[(i + round) % receivers.length]!);
        for (const receiver of order) {
          const list = results.get(receiver.name) ?? [];
          list.push(await sendAll(receiver, workload, warmUp));
          results.set(receiver.name, list);
        }
      }
      // The baseline is the faster Orthanc: the one tuned as a PACS would be.
      const orthancWall = median(
        (results.get('Orthanc (TCP_NODELAY=1)') ?? []).map((m) => m.wallS),
      );
      for (const receiver of receivers) {
        const measures = results.get(receiver.name) ?? [];
        const wallS = median(measures.map((m) => m.wallS));
        const cpuS = median(measures.map((m) => m.cpuS));
        const size = workload.bytes / workload.files.length / 1e6;
        console.log(
          row([
            `${workload.name}, ${workload.files.length} × ${size.toFixed(2)} MB`,
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
  }
}

async function srVisibleInOrthanc(orthanc: OrthancServer, studyUid: string): Promise<boolean> {
  const response = await fetch(`${orthanc.url}/tools/find`, {
    method: 'POST',
    body: JSON.stringify({
      Level: 'Series',
      Query: { StudyInstanceUID: studyUid, Modality: 'SR' },
    }),
  });
  const series = (await response.json()) as unknown[];
  return series.length > 0;
}

async function latencyBenchmark(work: string): Promise<void> {
  const registry = join(work, 'models');
  await writeTestModelPackage(join(registry, 'densenet121-bench', '1.0.0'), {
    architecture: 'densenet121',
    id: 'densenet121-bench',
    version: '1.0.0',
  });
  const studies = await writeSyntheticRadiographs(join(work, 'latency'), STUDIES + 1, {
    imagesPerStudy: 2,
    seed: 'node-bench-latency',
  });
  const orthanc = await OrthancServer.start({ dicom: true });
  let serve: ServeProcess | undefined;
  try {
    for (const files of studies)
      for (const file of files) await orthanc.upload(await readFile(file));
    serve = await startServe(join(work, 'latency-node'), [
      '--registry',
      registry,
      '--model',
      'densenet121-bench@1.0.0',
      '--send-to',
      `dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`,
      '--quiet-period',
      String(QUIET_SECONDS),
    ]);
    const port = dicomPortOf(serve);
    const latencies: number[] = [];
    for (const [index, files] of studies.entries()) {
      const studyUid = deriveUid('node-bench-latency', 'study', String(index));
      await storescu('RADIOLENS', port, files);
      const t0 = performance.now();
      const deadline = t0 + 60_000;
      while (!(await srVisibleInOrthanc(orthanc, studyUid))) {
        if (performance.now() > deadline) throw new Error(`study ${index}: no SR after 60 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      // The first study loads the model (session creation): reported apart, as a cold start.
      if (index === 0) {
        console.log(
          `\ncold start (model load + first study): ${(performance.now() - t0).toFixed(0)} ms`,
        );
      } else latencies.push(performance.now() - t0);
    }
    const jobs = serve
      .logs()
      .filter((l) => l.event === 'job-done')
      .slice(1);
    const jobMs = jobs.map((l) => Number(l['ms'])).filter(Number.isFinite);
    console.log(
      `\nEnd-to-end latency, last instance received → SR in Orthanc; ${latencies.length} studies ` +
        `of 2 × 2048² CR (PA scored, lateral out of scope); DenseNet-121-sized model; ` +
        `quiet period ${QUIET_SECONDS} s\n`,
    );
    console.log(row(['', 'p50 ms', 'p95 ms', 'max ms', 'target']));
    console.log(row(['---', '---', '---', '---', '---']));
    console.log(
      row([
        'end to end',
        median(latencies).toFixed(0),
        quantile(latencies, 0.95).toFixed(0),
        Math.max(...latencies).toFixed(0),
        'p95 < 2000',
      ]),
    );
    if (jobMs.length > 0) {
      console.log(
        row([
          'of which the analysis job',
          median(jobMs).toFixed(0),
          quantile(jobMs, 0.95).toFixed(0),
          Math.max(...jobMs).toFixed(0),
          '',
        ]),
      );
    }
  } finally {
    await serve?.stop();
    await orthanc.stop();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-node-bench-'));
  try {
    if (!flag('skip-ingest')) await ingestBenchmark(work);
    if (!flag('skip-latency')) await latencyBenchmark(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
