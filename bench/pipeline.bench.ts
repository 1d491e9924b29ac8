/**
 * Pipeline benchmark (issue #2): per-image time of each stage, and the whole pipeline's
 * throughput against a bare onnxruntime session running the same DenseNet-121-sized network
 * in the same run. Target: the pipeline keeps ≥ 90 % of the bare model's throughput.
 *
 * Run: npm run bench   (or: npx tsx bench/pipeline.bench.ts [--images N])
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { analyzeFiles, ModelSessions } from '../src/inference/analysis/index.js';
import { ModelRegistry } from '../src/inference/models/index.js';
import { writeTestModelPackage } from '../test/support/onnxModels.js';
import { writeSyntheticRadiographs } from './syntheticRadiographs.js';

/** CPU milliseconds (user + system, all threads) since `since`. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}
const IMAGES = option('--images', 12);
/** Source image side: 2048 is a typical computed radiograph; --side 512 shows small sources. */
const SIDE = option('--side', 2048);
/** Images per inference batch, the same for the bare session and the pipeline. */
const BATCH = option('--batch', 1);

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-bench-'));
  try {
    const registryDir = join(work, 'models');
    const pkg = await writeTestModelPackage(join(registryDir, 'densenet121-bench', '1.0.0'), {
      architecture: 'densenet121',
      id: 'densenet121-bench',
      version: '1.0.0',
    });
    const files = (
      await writeSyntheticRadiographs(join(work, 'dicom'), IMAGES, { side: SIDE })
    ).flat();

    // Bare onnxruntime: the same graph, same options, same batch size, on ready-made inputs.
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
    const bareCpu: number[] = [];
    const bare = async (): Promise<number> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < IMAGES; i += BATCH) await session.run({ [input.inputName]: tensor });
      const images = Math.ceil(IMAGES / BATCH) * BATCH;
      bareCpu.push(cpuMs(cpu) / images);
      return (performance.now() - started) / images;
    };
    await bare(); // warm-up
    bareCpu.length = 0;
    const bareBefore = await bare();

    // The pipeline: read, decode, preprocess, infer, explain, write SR + SC + FHIR.
    const registry = new ModelRegistry(registryDir);
    // The loaded model is kept across the warm-up and the timed run, as a long-running node
    // keeps it (AnalyzeOptions.sessions) and as the bare session above was created untimed.
    // Everything per image — read, decode, preprocess, inference, explanation, SR/SC/FHIR
    // writing, model choice and its hash check per run — stays inside the timed run.
    const sessions = new ModelSessions();
    await analyzeFiles(files.slice(0, BATCH), {
      registry,
      outDir: join(work, 'warm'),
      batchSize: BATCH,
      sessions,
    }); // warm-up
    const pipelineCpu = process.cpuUsage();
    const started = performance.now();
    const run = await analyzeFiles(files, {
      registry,
      outDir: join(work, 'out'),
      batchSize: BATCH,
      sessions,
    });
    const pipelineMs = (performance.now() - started) / IMAGES;
    const pipelineCpuMs = cpuMs(pipelineCpu) / IMAGES;
    // Bare again after the pipeline, so both see the same machine; the baseline is the mean.
    const bareMs = (bareBefore + (await bare())) / 2;
    await session.release();
    await sessions.dispose();
    if (run.imagesAnalysed !== IMAGES)
      throw new Error(
        `only ${run.imagesAnalysed} of ${IMAGES} images analysed: ${JSON.stringify(run.problems)}`,
      );

    const per = (ms: number): string => (ms / IMAGES).toFixed(1).padStart(9);
    const rows: Array<[string, string]> = [
      ['read + parse', per(run.timings.read)],
      ['decode', per(run.timings.decode)],
      ['preprocess', per(run.timings.preprocess)],
      // Dispatch → result: onnxruntime-node runs the graph on the main thread inside a
      // setImmediate, so this includes the JavaScript that ran before it got its turn.
      ['inference*', per(run.timings.inference)],
      ['explanation', per(run.timings.explanation)],
      ['output encoding', per(run.timings.encoding)],
    ];
    console.log(
      `\nRadiolens pipeline benchmark — ${IMAGES} CR images ${SIDE}x${SIDE} 12-bit, DenseNet-121 (random weights) at 224x224, CPU`,
    );
    console.log('\n| stage            | ms/image |');
    console.log('|------------------|----------|');
    for (const [name, value] of rows)
      console.log(`| ${name.padEnd(16)} | ${value.trim().padStart(8)} |`);
    const ratio = bareMs / pipelineMs;
    // CPU time of the whole process (all threads): what the images cost in core-ms, which
    // on a machine with fewer cores than onnxruntime can use bounds the throughput (ADR 0026).
    const bareCpuMs = bareCpu.reduce((a, b) => a + b, 0) / bareCpu.length;
    console.log(
      '\n* from dispatch to result; it includes JavaScript that ran in between (ADR 0026)',
    );
    console.log('\n| run                         | ms/image | images/s | CPU core-ms/image |');
    console.log('|-----------------------------|----------|----------|-------------------|');
    console.log(
      `| bare onnxruntime (baseline) | ${bareMs.toFixed(1).padStart(8)} | ${(1000 / bareMs).toFixed(2).padStart(8)} | ${bareCpuMs.toFixed(1).padStart(17)} |`,
    );
    console.log(
      `| radiolens pipeline          | ${pipelineMs.toFixed(1).padStart(8)} | ${(1000 / pipelineMs).toFixed(2).padStart(8)} | ${pipelineCpuMs.toFixed(1).padStart(17)} |`,
    );
    console.log(
      `\nwork outside inference: ${(pipelineCpuMs - bareCpuMs).toFixed(1)} core-ms/image on ${availableParallelism()} cores`,
    );
    console.log(
      `\npipeline keeps ${(ratio * 100).toFixed(1)} % of the bare model's throughput (target ≥ 90 %): ${ratio >= 0.9 ? 'MET' : 'NOT MET'}`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
