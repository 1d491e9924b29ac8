/**
 * Both chest models together (issue #11 item 10): per-image milliseconds of the lung-field
 * pipeline — decode, display grey, lung model, lung field (steps 3–6), crop + classifier,
 * CAM over the crop, lung mask and heatmap share — on 2048² 12-bit radiographs, against the
 * named baseline in the same run: cxr-pneumonia 1.2.0 alone (the one-pass whole-image path
 * the pipeline takes today, ADR 0024). Target: ≤ 100 ms per image for both models together.
 *
 * Inputs: real adult chest radiographs (cxr-site-nih test split, shared data) enlarged to
 * 2048² and stored as 12-bit CR, so that the lung model finds lungs and the classifier runs;
 * a synthetic image would be refused by the lung-field gate and skip the classifier.
 * The classifier is cxr-pneumonia 2.0.0 when models/ has it, else 1.2.0's network fed the
 * lung-field crop as a stand-in of the same input size (the 2.0.0 network is larger: re-run
 * when it is packaged).
 *
 * Run: npm run bench:cxr   (or: npx tsx bench/cxr.bench.ts [--images N] [--side 2048])
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeFileAtomic } from '../src/foundation/core/index.js';
import { decodeFrame, encodeDicomPart10, readDicomFile } from '../src/foundation/dicom/index.js';
import { decodeRaster } from '../src/foundation/raster/index.js';
import { loadCamHead } from '../src/inference/explain/index.js';
import {
  displaySize,
  resizeArea,
  toDisplayGrey,
  toModelInputAndDisplay,
} from '../src/inference/imaging/index.js';
import {
  createModelRunner,
  InferencePool,
  loadModelPackage,
  type ModelPackage,
} from '../src/inference/models/index.js';
import { exactGradCam } from '../src/inference/explain/index.js';
import {
  classifierInput,
  heatmapLungShare,
  heatmapOver,
  LungSegmenter,
} from '../src/inference/lungField/index.js';
import { crDataset } from '../src/lifecycle/imports/index.js';
import { repoRoot, sharedDir } from '../test/support/index.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}
const IMAGES = option('--images', 10);
const SIDE = option('--side', 2048);
const OVERLAY = 1024;
const SITE = join(sharedDir, 'data', 'cxr-site-nih');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Real chest radiographs, enlarged to SIDE² and stored 12-bit with a window (CR, MONOCHROME2). */
async function writeInputs(dir: string): Promise<string[]> {
  const splits = JSON.parse(
    readFileSync(join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'splits.json'), 'utf8'),
  ) as { images: { test: string[] } };
  const files: string[] = [];
  for (const [n, image] of splits.images.test.slice(0, IMAGES).entries()) {
    const raster = decodeRaster(readFileSync(join(SITE, image)), image);
    const grey = {
      width: raster.width,
      height: raster.height,
      data: Float32Array.from(raster.samples, (v) => v / 255),
    };
    const big = resizeArea(grey, SIDE, SIDE);
    const samples = Uint16Array.from(big.data, (v) =>
      Math.round(Math.min(1, Math.max(0, v)) * 4095),
    );
    const dataset = crDataset(
      {
        width: SIDE,
        height: SIDE,
        bitDepth: 16,
        samples,
        lossy: false,
        convertedFromColour: false,
      },
      {
        studyInstanceUid: `1.2.826.0.1.3680043.8.498.1111.${n}`,
        seriesInstanceUid: `1.2.826.0.1.3680043.8.498.1112.${n}`,
        sopInstanceUid: `1.2.826.0.1.3680043.8.498.1113.${n}`,
        patientId: `BENCH${n}`,
        bodyPart: 'CHEST',
        viewPosition: 'PA',
        sourceName: image,
      },
      { bitsStored: 12 },
    );
    const path = join(dir, `cxr-${n}.dcm`);
    await writeFileAtomic(path, encodeDicomPart10(dataset));
    files.push(path);
  }
  return files;
}

type Stages = Record<string, number[]>;
function add(stages: Stages, name: string, ms: number): void {
  (stages[name] ??= []).push(ms);
}

async function main(): Promise<void> {
  if (!existsSync(SITE)) {
    throw new Error(
      `no chest radiographs under ${SITE}: set RADIOLENS_SHARED_DIR (the bench needs real chests)`,
    );
  }
  const work = await mkdtemp(join(tmpdir(), 'radiolens-bench-cxr-'));
  const pool = new InferencePool({ threads: 1 });
  try {
    const files = await writeInputs(work);
    const lungsPkg = await loadModelPackage(join(repoRoot, 'models', 'cxr-lungs', '1.0.0'));
    const v12 = await loadModelPackage(join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0'));
    const v2Dir = join(repoRoot, 'models', 'cxr-pneumonia', '2.0.0');
    const lungField: ModelPackage = existsSync(v2Dir)
      ? await loadModelPackage(v2Dir)
      : {
          ...v12,
          manifest: {
            ...v12.manifest,
            input: {
              ...v12.manifest.input,
              normalisation: { kind: 'meanStd', mean: [0.5], std: [0.25] },
              region: { kind: 'lungField', model: { id: 'cxr-lungs', version: '1.0.0' } },
            },
          },
        };
    const classifierName = existsSync(v2Dir)
      ? 'cxr-pneumonia@2.0.0'
      : 'cxr-pneumonia@1.2.0 network on the lung-field crop (2.0.0 not packaged)';
    const baseline = await createModelRunner(v12, { pool });
    const classifier = await createModelRunner(lungField, { pool });
    const segmenter = await LungSegmenter.open(lungsPkg, { pool });
    const head12 = await loadCamHead(v12);
    const head2 = await loadCamHead(lungField);

    const base: Stages = {};
    const both: Stages = {};
    let refused = 0;
    // One warm-up pass of each path (sessions, JIT), not measured.
    for (const [round, list] of [
      ['warm-up', files.slice(0, 1)],
      ['measure', files],
    ] as const) {
      for (const file of list) {
        const measure = round === 'measure';
        // Baseline: 1.2.0 alone, the one-pass whole-image path.
        let t = performance.now();
        const instanceA = await readDicomFile(file);
        const frameA = await decodeFrame(instanceA, 0);
        const decodeA = performance.now() - t;
        t = performance.now();
        const one = toModelInputAndDisplay(frameA, instanceA.dataset, v12.manifest.input, OVERLAY);
        const prepA = performance.now() - t;
        t = performance.now();
        const outA = await baseline.run([one.input]);
        const inferA = performance.now() - t;
        t = performance.now();
        exactGradCam(outA.features![0]!, head12.weightsFor(0), {
          width: one.display.width,
          height: one.display.height,
          placement: { ...one.placement, inputWidth: 224, inputHeight: 224 },
        });
        const camA = performance.now() - t;
        if (measure) {
          add(base, 'read + decode', decodeA);
          add(base, 'display grey + resize (one pass)', prepA);
          add(base, 'classifier (onnxruntime)', inferA);
          add(base, 'Grad-CAM', camA);
          add(base, 'total', decodeA + prepA + inferA + camA);
        }

        // Both models: lungs, the lung field, the crop, the classifier, CAM, where the heat lies.
        t = performance.now();
        const instance = await readDicomFile(file);
        const frame = await decodeFrame(instance, 0);
        const decode = performance.now() - t;
        t = performance.now();
        const grey = toDisplayGrey(frame, instance.dataset, lungField.manifest.input.windowing);
        const shown = displaySize(grey.width, grey.height, OVERLAY);
        const display = resizeArea(grey, shown.width, shown.height);
        const displayMs = performance.now() - t;
        t = performance.now();
        const [lungs] = await segmenter.segment([grey]);
        const lungMs = performance.now() - t;
        t = performance.now();
        const prepared = await classifierInput(lungField, grey, null, lungs!);
        const cropMs = performance.now() - t;
        if (prepared.kind === 'refused') {
          refused += 1;
          continue;
        }
        t = performance.now();
        const out = await classifier.run([prepared.input]);
        const inferMs = performance.now() - t;
        t = performance.now();
        const heatmap = heatmapOver(
          prepared,
          out.features![0]!,
          head2.weightsFor(0),
          display,
          grey,
        );
        const camMs = performance.now() - t;
        t = performance.now();
        heatmapLungShare(heatmap, lungs!.probabilities);
        const shareMs = performance.now() - t;
        if (measure) {
          add(both, 'read + decode', decode);
          add(both, 'display grey (full size) + overlay resize', displayMs);
          add(both, 'lung model: 256² input + onnxruntime + field (steps 1–6)', lungMs);
          add(both, 'gate + crop + 224² input (steps 4, 7)', cropMs);
          add(both, 'classifier (onnxruntime)', inferMs);
          add(both, 'Grad-CAM over the crop (step 9)', camMs);
          add(both, 'lung mask + heatmap share (step 8)', shareMs);
          add(both, 'total', decode + displayMs + lungMs + cropMs + inferMs + camMs + shareMs);
        }
      }
    }
    await Promise.all([baseline.dispose(), classifier.dispose(), segmenter.dispose()]);

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `cxr bench: ${IMAGES} chest radiographs enlarged to ${SIDE}² 12-bit CR; ${availableParallelism()} cores (${cpu}); one inference thread; overlay ${OVERLAY} px; median ms per image`,
    );
    console.log(`classifier: ${classifierName}; lung model: cxr-lungs@1.0.0`);
    if (refused > 0)
      console.log(`${refused} image(s) refused by the lung-field gate (not in the medians)`);
    console.log('');
    console.log('| path | stage | median ms/image |');
    console.log('|---|---|---|');
    for (const [name, values] of Object.entries(base)) {
      console.log(`| baseline: 1.2.0 alone | ${name} | ${median(values).toFixed(1)} |`);
    }
    for (const [name, values] of Object.entries(both)) {
      console.log(`| lungs + classifier | ${name} | ${median(values).toFixed(1)} |`);
    }
    const total = median(both['total'] ?? [NaN]);
    const baseTotal = median(base['total'] ?? [NaN]);
    console.log('');
    console.log(
      `both models: ${total.toFixed(1)} ms/image (target ≤ 100 ms: ${total <= 100 ? 'met' : 'NOT met'}); baseline 1.2.0 alone ${baseTotal.toFixed(1)} ms/image; ratio ${(total / baseTotal).toFixed(2)}×`,
    );
  } finally {
    await pool.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
