/**
 * Pipeline benchmark (issue #14 item 7, restating ADR 0026 as a budget): what Radiolens
 * costs per image outside inference, stage by stage, and the pipeline's throughput against a
 * bare onnxruntime session running the same DenseNet-121-sized network in the same run.
 *
 * Targets:
 *  - at most 30 core-ms of our own work per 2048² 12-bit radiograph (read, decode, LUT and
 *    model input, heatmap and overlay, SR/SC/FHIR encoding);
 *  - at least 50 % of bare onnxruntime's throughput at 2048² and 80 % at 512², with
 *    inference overlapped in the worker threads (ADR 0121).
 *
 * Run: npm run bench   (or: node dist/bench/pipeline.bench.js [--images N] [--side S] [--batch B]
 *                       [--repeats R] [--stages-only])
 * Without --side it measures both 2048 and 512. The budget table is core-ms (CPU time) per
 * stage, each stage run on its own (stageCosts.ts): on a shared machine wall time is not ours.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { analyzeFiles, ModelSessions } from '../src/inference/analysis/index.js';
import type { StageTimings } from '../src/inference/analysis/types.js';
import { ModelRegistry, type ModelPackage } from '../src/inference/models/index.js';
import { writeTestModelPackage } from '../test/support/onnxModels.js';
import { measureStageCosts, type StageCost } from './stageCosts.js';
import { writeSyntheticRadiographs } from './syntheticRadiographs.js';

/** CPU milliseconds (user + system, all threads of the process) since `since`. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function option(name: string): number | undefined {
  const at = process.argv.indexOf(name);
  if (at < 0) return undefined;
  const value = Number(process.argv[at + 1]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
const IMAGES = option('--images') ?? 12;
/** Source image sides: 2048 is a typical computed radiograph, 512 a small source. */
const SIDES = option('--side') === undefined ? [2048, 512] : [option('--side')!];
/** Images per inference batch, the same for the bare session and the pipeline. */
const BATCH = option('--batch') ?? 1;
/** Repeats of each stage in the core-ms table (least and median shown). */
const STAGE_REPEATS = option('--repeats') ?? 9;
/** Only the per-stage core-ms table, no throughput run (quick, for profiling work). */
const STAGES_ONLY = process.argv.includes('--stages-only');

const BUDGET_CORE_MS = 30;
/** The stages the 30 core-ms budget covers (ADR 0127): everything but the full-size outputs. */
const CORE_STAGES = [
  'read',
  'decode',
  'LUT',
  'Grad-CAM on the overlay grid',
  'SR region',
  'SR (encode)',
  'FHIR',
] as const;
/** The full-size outputs and all writes: the aim, this many times their physical floor. */
const BULK_FLOOR_FACTOR = 2;
const THROUGHPUT_TARGET: Record<number, number> = { 2048: 0.5, 512: 0.8 };

interface Measurement {
  side: number;
  bareMs: number;
  bareCpuMs: number;
  pipelineMs: number;
  pipelineCpuMs: number;
  /** The pipeline's system CPU and minor page faults per image (process.resourceUsage). */
  pipelineSystemMs: number;
  pipelineMinorFaults: number;
  /** Main-thread garbage-collection pauses per image (PerformanceObserver 'gc', wall ms). */
  pipelineGcMs: number;
  /** Main-thread stage times per image (inference excluded: it runs in worker threads). */
  stages: StageTimings;
  /** Core-ms per stage, each stage measured on its own (stageCosts.ts). */
  costs: StageCost[];
}

/** Bare onnxruntime on ready-made inputs: the same graph, options and batch size. */
async function bareRun(
  pkg: ModelPackage,
): Promise<{ run: () => Promise<{ ms: number; cpuMs: number }>; release: () => Promise<void> }> {
  const session = await InferenceSession.create(pkg.modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  const { input } = pkg.manifest;
  const plane = input.channels * input.height * input.width;
  const tensor = new Tensor('float32', new Float32Array(plane * BATCH).fill(0.1), [
    BATCH,
    input.channels,
    input.height,
    input.width,
  ]);
  return {
    run: async () => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < IMAGES; i += BATCH) await session.run({ [input.inputName]: tensor });
      const images = Math.ceil(IMAGES / BATCH) * BATCH;
      return { ms: (performance.now() - started) / images, cpuMs: cpuMs(cpu) / images };
    },
    release: () => session.release(),
  };
}

async function measure(
  work: string,
  pkg: ModelPackage,
  side: number,
  files: string[],
  costs: StageCost[],
): Promise<Measurement> {
  const bare = await bareRun(pkg);
  await bare.run(); // warm-up
  const bareBefore = await bare.run();

  // The loaded model is kept across the warm-up and the timed run, as a long-running node
  // keeps it (AnalyzeOptions.sessions) and as the bare session above was created untimed.
  // Everything per image — read, decode, preprocess, inference, explanation, SR/SC/FHIR
  // writing, model choice and its hash check per run — stays inside the timed run.
  const registry = new ModelRegistry(join(work, 'models'));
  const sessions = new ModelSessions();
  try {
    await analyzeFiles(files.slice(0, BATCH), {
      registry,
      outDir: join(work, `warm-${side}`),
      batchSize: BATCH,
      sessions,
    });
    const pipelineCpu = process.cpuUsage();
    const pipelineUsage = process.resourceUsage();
    let gcMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcMs += entry.duration;
    });
    gc.observe({ entryTypes: ['gc'] });
    const started = performance.now();
    const run = await analyzeFiles(files, {
      registry,
      outDir: join(work, `out-${side}`),
      batchSize: BATCH,
      sessions,
    });
    const pipelineMs = (performance.now() - started) / IMAGES;
    const pipelineCpuMs = cpuMs(pipelineCpu) / IMAGES;
    const usage = process.resourceUsage();
    gc.disconnect();
    const pipelineGcMs = gcMs / IMAGES;
    const pipelineSystemMs = (usage.systemCPUTime - pipelineUsage.systemCPUTime) / 1000 / IMAGES;
    const pipelineMinorFaults = (usage.minorPageFault - pipelineUsage.minorPageFault) / IMAGES;
    if (run.imagesAnalysed !== IMAGES)
      throw new Error(
        `only ${run.imagesAnalysed} of ${IMAGES} images analysed: ${JSON.stringify(run.problems)}`,
      );
    // Bare again after the pipeline, so both see the same machine; the baseline is the mean.
    const bareAfter = await bare.run();
    const perImage = (ms: number): number => ms / IMAGES;
    return {
      side,
      costs,
      bareMs: (bareBefore.ms + bareAfter.ms) / 2,
      bareCpuMs: (bareBefore.cpuMs + bareAfter.cpuMs) / 2,
      pipelineMs,
      pipelineCpuMs,
      pipelineSystemMs,
      pipelineMinorFaults,
      pipelineGcMs,
      stages: {
        read: perImage(run.timings.read),
        decode: perImage(run.timings.decode),
        preprocess: perImage(run.timings.preprocess),
        inference: perImage(run.timings.inference),
        explanation: perImage(run.timings.explanation),
        encoding: perImage(run.timings.encoding),
      },
    };
  } finally {
    await bare.release();
    await sessions.dispose();
  }
}

const cell = (value: number, width = 8): string => value.toFixed(1).padStart(width);

/**
 * The budget table: core-ms per stage, each measured on its own (stageCosts.ts), against the
 * 30 core-ms budget at 2048².
 */
function printStageCosts(side: number, costs: StageCost[], floor: StageCost[]): void {
  const total = costs.reduce((sum, cost) => sum + cost.coreMs, 0);
  console.log(
    `\n### ${side}×${side} 12-bit CR: core-ms of our own work per image, stage by stage (least and median of ${STAGE_REPEATS}; CPU time, all threads)\n`,
  );
  console.log(
    '| stage                                            |  core-ms |   median |      bytes |',
  );
  console.log(
    '|--------------------------------------------------|----------|----------|------------|',
  );
  for (const cost of costs) {
    const bytes = cost.bytes === undefined ? '' : String(cost.bytes);
    console.log(
      `| ${cost.stage.padEnd(48)} | ${cell(cost.coreMs)} | ${cell(cost.medianMs)} | ${bytes.padStart(10)} |`,
    );
  }
  const medians = costs.reduce((sum, cost) => sum + cost.medianMs, 0);
  console.log(
    `| ${'**total outside inference**'.padEnd(48)} | ${cell(total)} | ${cell(medians)} |            |`,
  );
  const floorTotal = floor.reduce((sum, cost) => sum + cost.coreMs, 0);
  console.log('\nThe physical floor of the same outputs (no code of ours could do less):\n');
  console.log(
    '| floor                                            |  core-ms |   median |      bytes |',
  );
  console.log(
    '|--------------------------------------------------|----------|----------|------------|',
  );
  for (const cost of floor) {
    const bytes = cost.bytes === undefined ? '' : String(cost.bytes);
    console.log(
      `| ${cost.stage.padEnd(48)} | ${cell(cost.coreMs)} | ${cell(cost.medianMs)} | ${bytes.padStart(10)} |`,
    );
  }
  console.log(`| ${'**floor**'.padEnd(48)} | ${cell(floorTotal)} |          |            |`);
  if (side === 2048) {
    // ADR 0127: the issue's 30 core-ms budget is held by the core path; the full-size outputs
    // of issue #12 (SC on the source grid, Parametric Map, source-grid heatmap PNG) and the
    // writes of all outputs are reported against their measured floor, aiming at 2× it.
    const core = costs.filter((cost) => CORE_STAGES.some((name) => cost.stage.startsWith(name)));
    const coreTotal = core.reduce((sum, cost) => sum + cost.coreMs, 0);
    const bulk = total - coreTotal;
    console.log(
      `\nbudget, core path (${CORE_STAGES.join(', ')}): ${coreTotal.toFixed(1)} core-ms ≤ ${BUDGET_CORE_MS}: ${coreTotal <= BUDGET_CORE_MS ? 'MET' : 'NOT MET'}`,
    );
    console.log(
      `full-size outputs and writes: ${bulk.toFixed(1)} core-ms, ${(bulk / floorTotal).toFixed(1)} × their floor of ${floorTotal.toFixed(1)} (aim ≤ ${BULK_FLOOR_FACTOR} ×: ${bulk <= BULK_FLOOR_FACTOR * floorTotal ? 'MET' : 'NOT MET'})`,
    );
    console.log(
      `all of our own work: ${total.toFixed(1)} core-ms against the issue's ${BUDGET_CORE_MS}: ${total <= BUDGET_CORE_MS ? 'MET' : 'NOT MET'}`,
    );
  }
}

/** The pipeline seen from outside: its stage clocks, and its process CPU beyond bare's. */
function printPipelineStages(m: Measurement): void {
  const rows: Array<[string, number]> = [
    ['read + parse', m.stages.read],
    ['decode', m.stages.decode],
    ['LUT + model input', m.stages.preprocess],
    ['heatmap + overlay', m.stages.explanation],
    ['SR/SC/FHIR encoding', m.stages.encoding],
  ];
  const stageSum = rows.reduce((sum, [, ms]) => sum + ms, 0);
  // Process CPU beyond what bare onnxruntime spends on the same images: our work measured
  // from the other side, threads included (file writes, hashing, the inference thread's
  // message passing). The stage column is main-thread wall time, which under load includes
  // time the thread waited for a core.
  const outsideCore = m.pipelineCpuMs - m.bareCpuMs;
  console.log(`\n### ${m.side}×${m.side}: the pipeline run (${IMAGES} images)\n`);
  console.log('| stage (main thread, wall) | ms/image |');
  console.log('|---------------------------|----------|');
  for (const [name, ms] of rows) console.log(`| ${name.padEnd(25)} | ${cell(ms)} |`);
  console.log(`| **sum of stages**         | ${cell(stageSum)} |`);
  console.log(
    `| process CPU − bare CPU    | ${cell(outsideCore)} | (core-ms/image, all threads) |`,
  );
  console.log(
    `| of the pipeline's CPU: system | ${cell(m.pipelineSystemMs)} | (core-ms/image; ${Math.round(m.pipelineMinorFaults)} minor page faults/image; GC pauses ${m.pipelineGcMs.toFixed(1)} ms/image) |`,
  );
}

/**
 * The share of bare throughput our own work leaves at best (ADR 0129). Bare onnxruntime keeps
 * every core busy (its intra-op threads), so it takes bare CPU / cores ms per image; the
 * pipeline, inference overlapped in its thread and every core busy, at least
 * (bare CPU + J) / cores, J being the stage table's core-ms. The share is then
 * bare CPU / (bare CPU + J) — the arithmetic of ADR 0127 from this run's CPU times, which a
 * loaded machine inflates less than it inflates wall times.
 */
function ceilingShare(m: Measurement): number {
  const ours = m.costs.reduce((sum, cost) => sum + cost.coreMs, 0);
  return m.bareCpuMs / (m.bareCpuMs + ours);
}

function printThroughput(results: Measurement[]): void {
  console.log(
    '\n| side | run                         | ms/image | images/s | CPU core-ms/image | share of bare | target |',
  );
  console.log(
    '|------|-----------------------------|----------|----------|-------------------|---------------|--------|',
  );
  for (const m of results) {
    const share = m.bareMs / m.pipelineMs;
    const target = THROUGHPUT_TARGET[m.side];
    const verdict =
      target === undefined ? '—' : `≥ ${target * 100} % ${share >= target ? 'MET' : 'NOT MET'}`;
    console.log(
      `| ${String(m.side).padStart(4)} | bare onnxruntime (baseline) | ${cell(m.bareMs)} | ${cell(1000 / m.bareMs)} | ${cell(m.bareCpuMs, 17)} |               |        |`,
    );
    console.log(
      `| ${String(m.side).padStart(4)} | radiolens pipeline          | ${cell(m.pipelineMs)} | ${cell(1000 / m.pipelineMs)} | ${cell(m.pipelineCpuMs, 17)} | ${`${(share * 100).toFixed(1)} %`.padStart(13)} | ${verdict} |`,
    );
    console.log(
      `| ${String(m.side).padStart(4)} | ceiling from our core-ms    |          |          |                   | ${`${(ceilingShare(m) * 100).toFixed(1)} %`.padStart(13)} |        |`,
    );
  }
  console.log(
    "\nceiling: bare CPU / (bare CPU + the stage table's core-ms), the share of bare onnxruntime's throughput a perfect overlap on all cores allows (ADR 0129).",
  );
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-bench-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'models', 'densenet121-bench', '1.0.0'), {
      architecture: 'densenet121',
      id: 'densenet121-bench',
      version: '1.0.0',
    });
    console.log(
      `Radiolens pipeline benchmark — ${IMAGES} synthetic CR images per size, DenseNet-121 (random weights) at 224×224, batch ${BATCH}, CPU, ${availableParallelism()} cores`,
    );
    const results: Measurement[] = [];
    for (const side of SIDES) {
      const files = (
        await writeSyntheticRadiographs(join(work, `dicom-${side}`), IMAGES, { side })
      ).flat();
      const { costs, floor } = await measureStageCosts(files[0]!, pkg, STAGE_REPEATS);
      printStageCosts(side, costs, floor);
      if (!STAGES_ONLY) results.push(await measure(work, pkg, side, files, costs));
    }
    if (STAGES_ONLY) return;
    for (const m of results) printPipelineStages(m);
    printThroughput(results);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
