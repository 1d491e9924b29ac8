/**
 * Does analysis stall ingest? (issue #14, item 6; ADR 0121.) C-STORE acknowledgement latency
 * of `radiolens serve`, measured by dcmtk's storescu itself (its debug log, timestamps to the
 * microsecond: "Sending Store Request" → "Received Store Response"), in two phases of the same
 * run on the same node:
 *
 *   idle  — no analysis running (the baseline);
 *   busy  — while the node's worker analyses other studies with a deliberately slow model
 *           (DenseNet-121's topology at --size² input, ≥ 1 s per inference on 2 cores).
 *
 * Target: busy p99 within 2× of idle p99. The probe instances are small CT slices (256²), each
 * a new SOP instance, sent in rounds of --probes, one association per round, as a modality sends
 * a series. The busy phase goes on, round after round, until at least --busy-jobs analyses have
 * finished inside it, so that its latencies span whole model runs, not the gap between two.
 *
 * Usage: npx tsx bench/responsiveness.bench.ts [--probes 200] [--studies 6] [--size 800]
 *        [--busy-jobs 3]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelPackage } from '../test/support/onnxModels.js';
import { dicomPortOf, startServe, storescu, writeCtSeries } from './nodeHarness.js';
import { writeSyntheticRadiographs } from './syntheticRadiographs.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}

const PROBES = option('probes', 200);
const STUDIES = option('studies', 6);
const SIZE = option('size', 800);
const BUSY_JOBS = option('busy-jobs', 3);

const FINISHED = new Set(['job-done', 'job-not-analysed', 'job-failed']);

const LOG_CONFIG = `log4cplus.rootLogger = DEBUG, console
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%H:%M:%S.%Q} %m%n
`;

/** Per C-STORE of storescu's log: request sent → response received, in ms. */
function ackLatencies(log: string): number[] {
  const at = (line: string): number => {
    const [h, m, rest] = line.slice(0, line.indexOf(' ')).split(':') as [string, string, string];
    const [s, ms, us] = rest.split('.') as [string, string, string];
    return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms) + Number(us) / 1000;
  };
  const latencies: number[] = [];
  let sent: number | undefined;
  for (const line of log.split('\n')) {
    if (line.includes('Sending Store Request')) sent = at(line);
    else if (line.includes('Received Store Response') && sent !== undefined) {
      latencies.push(at(line) - sent);
      sent = undefined;
    }
  }
  return latencies;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-responsive-'));
  const logConfig = join(work, 'storescu-log.cfg');
  await writeFile(logConfig, LOG_CONFIG);
  const registry = join(work, 'models');
  await writeTestModelPackage(join(registry, 'slow-bench', '1.0.0'), {
    architecture: 'densenet121',
    size: SIZE,
    id: 'slow-bench',
    version: '1.0.0',
  });
  const studies = await writeSyntheticRadiographs(join(work, 'studies'), STUDIES, {
    seed: 'responsive-bench',
  });
  const idleProbes = await writeCtSeries(join(work, 'idle'), PROBES, { label: 'idle', side: 256 });
  const serve = await startServe(join(work, 'node'), [
    '--registry',
    registry,
    '--model',
    'slow-bench@1.0.0',
    '--quiet-period',
    '0.2',
    '--workers',
    '1',
  ]);
  const port = dicomPortOf(serve);
  const probe = async (files: string[]): Promise<number[]> => {
    const { stdout, stderr } = await storescu('RADIOLENS', port, files, [
      '--log-config',
      logConfig,
    ]);
    const latencies = ackLatencies(stdout + stderr);
    if (latencies.length !== files.length) {
      throw new Error(`storescu logged ${latencies.length} of ${files.length} acknowledgements`);
    }
    return latencies;
  };
  try {
    // Warm up the receive path (a fresh JavaScript engine is not what a PACS meets).
    await probe(idleProbes.slice(0, 20));
    const idle = await probe(idleProbes);

    // Start analyses: the studies arrive, go quiet, and the worker takes them one by one.
    for (const files of studies) await storescu('RADIOLENS', port, files);
    const started = Date.now();
    while (!serve.logs().some((l) => l.event === 'job-started')) {
      if (Date.now() - started > 120_000) throw new Error('no analysis started within 120 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const finished = (): number => serve.logs().filter((l) => FINISHED.has(String(l.event))).length;
    const jobsBefore = finished();
    const busyT0 = Date.now();
    const busy: number[] = [];
    let rounds = 0;
    // Rounds of new instances until enough model runs have finished inside the phase (or the
    // studies run out): each round is a new association, as a modality's next series would be.
    while (finished() - jobsBefore < Math.min(BUSY_JOBS, STUDIES - 1)) {
      const files = await writeCtSeries(join(work, `busy-${rounds}`), PROBES, {
        label: `busy-${rounds}`,
        side: 256,
      });
      busy.push(...(await probe(files)));
      rounds += 1;
      if (Date.now() - busyT0 > 600_000) throw new Error('busy phase ran past 10 minutes');
    }
    const busyMs = Date.now() - busyT0;
    const jobsDuring = finished() - jobsBefore;
    const stillRunning = serve.logs().filter((l) => l.event === 'job-started').length > finished();

    const inferenceMs = serve
      .logs()
      .filter((l) => l.event === 'job-done')
      .map((l) => Number(l['ms']))
      .filter(Number.isFinite);
    const row = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
    console.log(
      `\nC-STORE acknowledgement latency from storescu, rounds of ${PROBES} instances (256² CT), one association per round\n`,
    );
    console.log(row(['phase', 'p50 ms', 'p99 ms', 'max ms', 'analysis during the phase']));
    console.log(row(['---', '---', '---', '---', '---']));
    console.log(
      row([
        'idle (baseline)',
        quantile(idle, 0.5).toFixed(2),
        quantile(idle, 0.99).toFixed(2),
        Math.max(...idle).toFixed(2),
        'none',
      ]),
    );
    console.log(
      row([
        `busy (DenseNet-121 at ${SIZE}²)`,
        quantile(busy, 0.5).toFixed(2),
        quantile(busy, 0.99).toFixed(2),
        Math.max(...busy).toFixed(2),
        `${jobsDuring} job(s) finished in the ${busyMs} ms phase (${busy.length} C-STOREs in ${rounds} rounds)${stillRunning ? ', one still running at its end' : ''}`,
      ]),
    );
    const ratio = quantile(busy, 0.99) / quantile(idle, 0.99);
    console.log(
      `\nbusy p99 / idle p99 = ${ratio.toFixed(2)}× (target ≤ 2×: ${ratio <= 2 ? 'met' : 'NOT met'})`,
    );
    if (inferenceMs.length > 0) {
      console.log(
        `analysis jobs: ${inferenceMs.length}, median ${quantile(inferenceMs, 0.5).toFixed(0)} ms each`,
      );
    }
  } finally {
    await serve.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
