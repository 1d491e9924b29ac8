/**
 * Both chest models together (issue #11 item 10): per-image milliseconds of the lung-field
 * pipeline — decode, display grey, lung model, lung field (steps 3–6), crop + classifier,
 * CAM over the crop, heatmap lung share — on 2048² 12-bit radiographs. Target: ≤ 100 ms per
 * image for both models together. Named baselines in the same run, interleaved image by image:
 *  - cxr-pneumonia 1.2.0 alone (the one-pass whole-image path, ADR 0024);
 *  - the ADR 0163 path: the pipeline as it was before ADR 0164, which held the full-resolution
 *    display grey (16 MB at 2048²), written by the one pass, and cut the classifier's crop from
 *    it; now the crop's rows are made again from the stored values and no grey is held;
 *  - the previous lung-field path (ADR 0160/0161 as first built): full-resolution grey, then
 *    separate resizes for the overlay and the lung model, the crop copied then resized, the
 *    CAM over the whole overlay then clipped, step 8's mask made whole at the overlay's size
 *    (ADR 0163 lists what changed; shared primitives such as the resize's fast paths speed up
 *    both paths alike);
 *  - the floor: bare onnxruntime sessions of the two networks on the same inputs.
 * `--against DIR` compares instead two builds of the current path (see AGAINST).
 * The three lung-field paths must give identical outputs (scores, lung maps, heatmaps, lung
 * share): the bench checks it on every image and fails otherwise.
 *
 * Inputs: real adult chest radiographs (cxr-site-nih test split, shared data) enlarged to
 * 2048² and stored as 12-bit CR, so that the lung model finds lungs and the classifier runs;
 * a synthetic image would be refused by the lung-field gate and skip the classifier.
 * The classifier is cxr-pneumonia 2.0.0 when models/ has it, else 1.2.0's network fed the
 * lung-field crop as a stand-in of the same input size.
 *
 * Run: npm run bench:cxr   (or: npx tsx bench/cxr.bench.ts [--images N] [--side 2048])
 *      npm run bench:cxr -- --against ../base/dist   (two builds, interleaved)
 *      npm run bench:cxr -- --alone now --edge-guard 0.04   (the edge guard's cost, ADR 0165)
 *      npm run bench:cxr -- --against ../base/dist --edge-guard 0.04   (two builds, guarded)
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { writeFileAtomic } from '../src/foundation/core/index.js';
import { decodeFrame, encodeDicomPart10, readDicomFile } from '../src/foundation/dicom/index.js';
import { decodeRaster } from '../src/foundation/raster/index.js';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { loadCamHead, type CamHead, type Heatmap } from '../src/inference/explain/index.js';
import {
  displaySize,
  resizeArea,
  toDisplayGrey,
  toDisplayGreyAndResized,
  toModelInput,
  toModelInputAndDisplay,
  type GreyImage,
} from '../src/inference/imaging/index.js';
import {
  checkLungFieldUse,
  createModelRunner,
  InferencePool,
  loadModelPackage,
  type ModelPackage,
  type ModelRunner,
} from '../src/inference/models/index.js';
import { exactGradCam } from '../src/inference/explain/index.js';
import {
  classifierInput,
  clipToBox,
  cropGrey,
  edgeGuardBox,
  heatmapInLungs,
  heatmapLungShare,
  heatmapOver,
  lungFieldPlacement,
  lungMaskAt,
  LungSegmenter,
  type ClassifierInput,
  type HeatmapInLungs,
} from '../src/inference/lungField/index.js';
import { crDataset } from '../src/lifecycle/imports/index.js';
import { displayGreyRows } from '../src/inference/imaging/displayGrey.js';
import { AreaResampler } from '../src/inference/imaging/resize.js';
import type { DatasetLike, PixelFrameLike, WindowingRule } from '../src/inference/imaging/index.js';
import type * as DicomModule from '../src/foundation/dicom/index.js';
import type * as ExplainModule from '../src/inference/explain/index.js';
import type * as ImagingModule from '../src/inference/imaging/index.js';
import type * as LungFieldModule from '../src/inference/lungField/index.js';
import type * as ModelsModule from '../src/inference/models/index.js';
import { repoRoot, sharedDir } from '../test/support/index.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}
const IMAGES = option('--images', 10);
const SIDE = option('--side', 2048);
/**
 * --alone now|held: that lung-field path only, without the baselines and the floor, so that the
 * garbage collector sees one path's allocations as a serving node does (ADR 0164); the outputs
 * are then not compared. Run it once per path and compare the two runs.
 */
const ALONE = ((): 'now' | 'held' | null => {
  const at = process.argv.indexOf('--alone');
  if (at < 0) return null;
  const value = process.argv[at + 1];
  if (value !== 'now' && value !== 'held') throw new Error('--alone takes now or held');
  return value;
})();
/**
 * --against DIR: DIR is another build's compiled tree (the dist/ of a second checkout, e.g. the
 * commit before a change, built with `npm run build`). Its current lung-field path runs image
 * by image alternately with this build's, in this process, under the same load: on a shared
 * machine, whose load swings more between runs than a change of a few ms (ADR 0164), the
 * only fair comparison of two versions of the same code. Without the baselines and the
 * floor; the two builds' outputs must be identical. DIR a copy of this build's own dist/ (an
 * A/A run) shows how far apart the same code comes out: totals up to 11 ms at load ~3.9.
 */
const AGAINST = ((): string | null => {
  const at = process.argv.indexOf('--against');
  if (at < 0) return null;
  const value = process.argv[at + 1];
  if (value === undefined || !existsSync(join(value, 'src'))) {
    throw new Error('--against takes a build folder holding src/ (e.g. another checkout’s dist)');
  }
  return resolve(value);
})();
/**
 * --edge-guard INSET (with --alone now or --against DIR): the current path with the lung
 * field's edge guard (LUNG_FIELD.md step 2b, ADR 0165; cxr-pneumonia 2.0.2 and 2.1.0 use 0.04):
 * a second lung inference on the image with INSET cut off each side. Its outputs differ from
 * the other paths' by design, so it runs alone (compare with a plain `--alone now` run) or
 * against another build's current path with the same guard.
 */
const EDGE_GUARD = ((): number | undefined => {
  const inset = option('--edge-guard', 0);
  if (inset === 0) return undefined;
  if (ALONE !== 'now' && AGAINST === null) {
    throw new Error('--edge-guard runs with --alone now or --against DIR');
  }
  return inset;
})();
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

/**
 * ADR 0163's one pass, kept here as the baseline it is: every row written into a held
 * full-resolution grey as it is fed to the resamplers (the bench's images take the table path).
 */
function heldGreyAndResized(
  frame: PixelFrameLike,
  dataset: DatasetLike,
  windowing: WindowingRule | undefined,
  sizes: ReadonlyArray<{ width: number; height: number }>,
): { grey: GreyImage; resized: GreyImage[] } {
  const rows = displayGreyRows(frame, dataset, windowing);
  if (rows.whole !== undefined) throw new Error('the bench expects the stored-value table path');
  const { width, height } = rows;
  const data = new Float32Array(width * height);
  const sinks = sizes.map((size) => new AreaResampler(width, height, size.width, size.height));
  for (let y = 0; y < height; y++) {
    const into = data.subarray(y * width, (y + 1) * width);
    const row = rows.row(y, into);
    if (row !== into) into.set(row);
    for (const sink of sinks) sink.pushRow(into);
  }
  return { grey: { width, height, data }, resized: sinks.map((sink) => sink.finish()) };
}

type Stages = Record<string, number[]>;
function add(stages: Stages, name: string, ms: number): void {
  (stages[name] ??= []).push(ms);
}

/** One lung-field path's outputs for an image, and its stage times. */
interface LungFieldRun {
  display: Float32Array;
  lungs: Float32Array;
  input: Float32Array;
  scores: Float32Array;
  heatmap: Heatmap;
  share: HeatmapInLungs;
  /** The current path's 256² lung grid and prepared input (null for the previous path). */
  grid: GreyImage | null;
  prepared: Extract<ClassifierInput, { kind: 'input' }> | null;
  ms: Record<string, number>;
}

function sameArray(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function sameOutputs(a: LungFieldRun, b: LungFieldRun): boolean {
  return (
    sameArray(a.display, b.display) &&
    sameArray(a.lungs, b.lungs) &&
    sameArray(a.input, b.input) &&
    sameArray(a.scores, b.scores) &&
    sameArray(a.heatmap.data, b.heatmap.data) &&
    a.heatmap.max === b.heatmap.max &&
    a.share.energyInside === b.share.energyInside &&
    a.share.peakInside === b.share.peakInside
  );
}

/** What the current lung-field path calls, from one build: this one's, or --against's. */
interface Pipeline {
  dicom: Pick<typeof DicomModule, 'readDicomFile' | 'decodeFrame'>;
  imaging: Pick<typeof ImagingModule, 'displaySize' | 'toDisplayGreyAndResized'>;
  lungField: Pick<typeof LungFieldModule, 'classifierInput' | 'heatmapOver' | 'heatmapLungShare'>;
  segmenter: LungSegmenter;
  classifier: ModelRunner;
  head: CamHead;
}

/** The current path's modules and models from the build at `root`, on its own inference pool. */
async function pipelineAt(
  root: string,
  lungsPkg: ModelPackage,
  classifierPkg: ModelPackage,
): Promise<Pipeline & { close(): Promise<void> }> {
  const load = async <T>(path: string): Promise<T> =>
    (await import(pathToFileURL(join(root, path)).href)) as T;
  const models = await load<typeof ModelsModule>('src/inference/models/index.js');
  const lungField = await load<typeof LungFieldModule>('src/inference/lungField/index.js');
  const explain = await load<typeof ExplainModule>('src/inference/explain/index.js');
  const pool = new models.InferencePool({ threads: 1 });
  const classifier = await models.createModelRunner(classifierPkg, { pool });
  const segmenter = await lungField.LungSegmenter.open(lungsPkg, { pool });
  return {
    dicom: await load<typeof DicomModule>('src/foundation/dicom/index.js'),
    imaging: await load<typeof ImagingModule>('src/inference/imaging/index.js'),
    lungField,
    segmenter,
    classifier,
    head: await explain.loadCamHead(classifierPkg),
    async close() {
      await Promise.all([classifier.dispose(), segmenter.dispose()]);
      await pool.close();
    },
  };
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
    const own: Pipeline = {
      dicom: { readDicomFile, decodeFrame },
      imaging: { displaySize, toDisplayGreyAndResized },
      lungField: { classifierInput, heatmapOver, heatmapLungShare },
      segmenter,
      classifier,
      head: head2,
    };
    const other = AGAINST === null ? null : await pipelineAt(AGAINST, lungsPkg, lungField);

    // The floor: the two networks alone, in bare sessions with onnxruntime's defaults.
    const bareLungs = await InferenceSession.create(lungsPkg.modelPath);
    const bareClassifier = await InferenceSession.create(lungField.modelPath);
    const lungSpec = lungsPkg.manifest.input;
    const classifierSpec = lungField.manifest.input;

    const base: Stages = {};
    const before: Stages = {};
    const held: Stages = {};
    const both: Stages = {};
    const floor: Stages = {};
    const against: Stages = {};
    let refused = 0;
    let identical = 0;
    let position = 0;

    // What a path costs beyond its wall time, which other processes' load inflates: the
    // process's CPU time while it runs (all threads: the inference thread and the collector's
    // helpers too) and the collector's pauses inside its runs (ADR 0164: the 16 MB grey was
    // what drove the mark-compacts).
    const collections: Array<{ start: number; duration: number; major: boolean }> = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        // @types/node 20 does not declare a gc entry's detail; Node fills it (kind, flags).
        const kind = (entry as { detail?: { kind?: number } | null }).detail?.kind;
        collections.push({
          start: entry.startTime,
          duration: entry.duration,
          major: kind === constants.NODE_PERFORMANCE_GC_MAJOR,
        });
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const costs: Record<string, { cpu: number[]; windows: Array<[number, number]> }> = {};
    async function costed<T>(name: string, measure: boolean, run: () => Promise<T>): Promise<T> {
      const cpu = process.cpuUsage();
      const from = performance.now();
      const result = await run();
      if (measure && result !== null) {
        const used = process.cpuUsage(cpu);
        const entry = (costs[name] ??= { cpu: [], windows: [] });
        entry.cpu.push((used.user + used.system) / 1000);
        entry.windows.push([from, performance.now()]);
      }
      return result;
    }

    /** The previous lung-field path, step by step as it was first built; null if refused. */
    async function previousPath(file: string): Promise<LungFieldRun | null> {
      let t = performance.now();
      const instance = await readDicomFile(file);
      const frame = await decodeFrame(instance, 0);
      const decode = performance.now() - t;
      t = performance.now();
      const grey = toDisplayGrey(frame, instance.dataset, classifierSpec.windowing);
      const shown = displaySize(grey.width, grey.height, OVERLAY);
      const display = resizeArea(grey, shown.width, shown.height);
      const displayMs = performance.now() - t;
      t = performance.now();
      const [lungs] = await segmenter.segment([grey]);
      const lungMs = performance.now() - t;
      t = performance.now();
      const use = checkLungFieldUse(lungField.manifest, lungs!.field);
      if (!use.ok) return null;
      const box = lungs!.field.box!;
      const input = toModelInput(cropGrey(grey, box), { ...classifierSpec, resize: 'stretch' });
      const placement = lungFieldPlacement(
        box,
        grey.width,
        grey.height,
        classifierSpec.width,
        classifierSpec.height,
      );
      const cropMs = performance.now() - t;
      t = performance.now();
      const out = await classifier.run([input]);
      const inferMs = performance.now() - t;
      t = performance.now();
      const heatmap = clipToBox(
        exactGradCam(out.features![0]!, head2.weightsFor(0), {
          width: display.width,
          height: display.height,
          placement,
        }),
        box,
        grey,
      );
      const camMs = performance.now() - t;
      t = performance.now();
      const share = heatmapInLungs(
        heatmap,
        lungMaskAt(lungs!.probabilities, heatmap.width, heatmap.height),
      );
      const shareMs = performance.now() - t;
      return {
        display: display.data,
        lungs: lungs!.probabilities.data,
        input,
        scores: out.scores[0]!,
        heatmap,
        share,
        grid: null,
        prepared: null,
        ms: {
          'read + decode': decode,
          'display grey (full size) + overlay resize': displayMs,
          'lung model: 256² input + onnxruntime + field (steps 1–6)': lungMs,
          'gate + crop (copied) + 224² input (steps 4, 7)': cropMs,
          'classifier (onnxruntime)': inferMs,
          'Grad-CAM over the overlay, then clipped (step 9)': camMs,
          'lung mask (whole) + heatmap share (step 8)': shareMs,
          total: decode + displayMs + lungMs + cropMs + inferMs + camMs + shareMs,
        },
      };
    }

    /**
     * The pipeline as it runs now (inference/analysis/analyze.ts), or with `holdGrey` as ADR
     * 0163 left it (the full-resolution grey held, the crop cut from it); null if refused.
     */
    async function currentPath(
      file: string,
      holdGrey = false,
      p: Pipeline = own,
    ): Promise<LungFieldRun | null> {
      const { segmenter, classifier } = p;
      let t = performance.now();
      const instance = await p.dicom.readDicomFile(file);
      const frame = await p.dicom.decodeFrame(instance, 0);
      const decode = performance.now() - t;
      t = performance.now();
      const shown = p.imaging.displaySize(frame.columns, frame.rows, OVERLAY);
      // --edge-guard: the inset view's grid from the same pass, as analyze makes it.
      const insetBox =
        EDGE_GUARD === undefined ? null : edgeGuardBox(frame.columns, frame.rows, EDGE_GUARD);
      const { grey, resized } = (holdGrey ? heldGreyAndResized : p.imaging.toDisplayGreyAndResized)(
        frame,
        instance.dataset,
        classifierSpec.windowing,
        [
          shown,
          segmenter.gridSize(frame.columns, frame.rows),
          ...(insetBox === null ? [] : [{ width: 256, height: 256, region: insetBox }]),
        ],
      );
      const [display, grid, insetGrid] = resized as [GreyImage, GreyImage, GreyImage?];
      const displayMs = performance.now() - t;
      t = performance.now();
      const [lungs] = await segmenter.segmentResized(
        [
          {
            width: grey.width,
            height: grey.height,
            grid,
            grey,
            ...(insetGrid === undefined ? {} : { insetGrid }),
          },
        ],
        { edgeGuardInset: EDGE_GUARD },
      );
      const lungMs = performance.now() - t;
      t = performance.now();
      const prepared = await p.lungField.classifierInput(lungField, grey, null, lungs!);
      const cropMs = performance.now() - t;
      if (prepared.kind === 'refused') return null;
      t = performance.now();
      const out = await classifier.run([prepared.input]);
      const inferMs = performance.now() - t;
      t = performance.now();
      const heatmap = p.lungField.heatmapOver(
        prepared,
        out.features![0]!,
        p.head.weightsFor(0),
        display,
        grey,
      );
      const camMs = performance.now() - t;
      t = performance.now();
      const share = p.lungField.heatmapLungShare(heatmap, lungs!.probabilities);
      const shareMs = performance.now() - t;
      return {
        display: display.data,
        lungs: lungs!.probabilities.data,
        input: prepared.input,
        scores: out.scores[0]!,
        heatmap,
        share,
        grid,
        prepared,
        ms: {
          'read + decode': decode,
          [holdGrey
            ? 'display grey (held) + overlay + 256² lung grid (one pass)'
            : 'overlay + 256² lung grid (one pass, grey not held)']: displayMs,
          'lung model: input + onnxruntime + field (steps 1–6)': lungMs,
          [holdGrey
            ? 'gate + crop (in place) + 224² input (steps 4, 7)'
            : 'gate + crop (rows re-made from stored values) + 224² input (steps 4, 7)']: cropMs,
          'classifier (onnxruntime)': inferMs,
          'Grad-CAM inside the crop (step 9)': camMs,
          'heatmap share, mask where there is heat (step 8)': shareMs,
          total: decode + displayMs + lungMs + cropMs + inferMs + camMs + shareMs,
        },
      };
    }
    // Warm-up passes of each path (sessions, JIT), not measured: three images, since V8
    // optimises a per-image loop only after a few calls (the lung share's first call takes
    // ~10× its later ones), and a serving node runs warm.
    for (const [round, list] of [
      ['warm-up', files.slice(0, 3)],
      ['measure', files],
    ] as const) {
      for (const file of list) {
        const measure = round === 'measure';
        if (other !== null) {
          // This build and the other, in an order that alternates image by image.
          const pair = [
            ['now', own],
            ['against', other],
          ] as const;
          const runs: Record<string, LungFieldRun | null> = {};
          for (const [name, p] of position++ % 2 === 0 ? pair : [...pair].reverse()) {
            runs[name] = await costed(name, measure, () => currentPath(file, false, p));
          }
          const now = runs['now'] ?? null;
          const then = runs['against'] ?? null;
          if ((now === null) !== (then === null)) {
            throw new Error(`${file}: the two builds disagree on the gate`);
          }
          if (now === null || then === null) {
            refused += measure ? 1 : 0;
            continue;
          }
          if (!sameOutputs(now, then)) throw new Error(`${file}: the two builds' outputs differ`);
          if (!measure) continue;
          identical += 1;
          for (const [name, ms] of Object.entries(now.ms)) add(both, name, ms);
          for (const [name, ms] of Object.entries(then.ms)) add(against, name, ms);
          continue;
        }
        if (ALONE !== null) {
          const run = await costed(ALONE, measure, () => currentPath(file, ALONE === 'held'));
          if (run === null) refused += measure ? 1 : 0;
          else if (measure) {
            for (const [name, ms] of Object.entries(run.ms))
              add(ALONE === 'held' ? held : both, name, ms);
          }
          continue;
        }
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

        // The three lung-field paths, in an order rotated image by image, so that none
        // always pays for the garbage another left.
        const runs: Record<string, LungFieldRun | null> = {};
        const order = ['previous', 'held', 'now'] as const;
        const turn = position++ % order.length;
        for (const name of [...order.slice(turn), ...order.slice(0, turn)]) {
          runs[name] = await costed(name, measure, () =>
            name === 'previous' ? previousPath(file) : currentPath(file, name === 'held'),
          );
        }
        const prev = runs['previous'] ?? null;
        const was = runs['held'] ?? null;
        const now = runs['now'] ?? null;
        if ((now === null) !== (prev === null) || (now === null) !== (was === null)) {
          throw new Error(`${file}: the lung-field paths disagree on the gate`);
        }
        if (now === null || prev === null || was === null) {
          if (measure) refused += 1;
          continue;
        }
        const grid = now.grid!;
        const prepared = now.prepared!;

        // The floor: both networks on the same inputs in bare sessions.
        t = performance.now();
        await bareLungs.run({
          [lungSpec.inputName]: new Tensor('float32', toModelInput(grid, lungSpec), [
            1,
            1,
            lungSpec.height,
            lungSpec.width,
          ]),
        });
        const bareLungMs = performance.now() - t;
        t = performance.now();
        await bareClassifier.run({
          [classifierSpec.inputName]: new Tensor('float32', prepared.input.slice(), [
            1,
            classifierSpec.channels,
            classifierSpec.height,
            classifierSpec.width,
          ]),
        });
        const bareClassifierMs = performance.now() - t;

        if (!sameOutputs(now, prev) || !sameOutputs(now, was)) {
          throw new Error(`${file}: the lung-field paths give different outputs`);
        }
        if (!measure) continue;
        identical += 1;
        for (const [name, ms] of Object.entries(prev.ms)) add(before, name, ms);
        for (const [name, ms] of Object.entries(was.ms)) add(held, name, ms);
        for (const [name, ms] of Object.entries(now.ms)) add(both, name, ms);
        add(floor, 'lung model, bare onnxruntime session', bareLungMs);
        add(floor, 'classifier, bare onnxruntime session', bareClassifierMs);
        add(floor, 'total', bareLungMs + bareClassifierMs);
      }
    }
    await Promise.all([baseline.dispose(), classifier.dispose(), segmenter.dispose()]);
    await other?.close();
    await new Promise((resolve) => setImmediate(resolve)); // the last gc entries
    observer.disconnect();

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const [load1, load5] = loadavg();
    console.log(
      `cxr bench: ${IMAGES} chest radiographs enlarged to ${SIDE}² 12-bit CR; ${availableParallelism()} cores (${cpu}); one inference thread; overlay ${OVERLAY} px; load average ${load1!.toFixed(2)} / ${load5!.toFixed(2)} (1 / 5 min) at the end`,
    );
    console.log(`classifier: ${classifierName}; lung model: cxr-lungs@1.0.0`);
    console.log(
      AGAINST !== null
        ? `--against ${AGAINST}: the current lung-field path of this build and of that one, alternately; outputs identical on ${identical} of ${identical} image(s)`
        : ALONE === null
          ? `outputs of the previous, the ADR 0163 and the current lung-field path identical on ${identical} of ${identical} image(s) (scores, lung maps, inputs, heatmaps, lung share)`
          : `--alone ${ALONE}: that path only, outputs not compared`,
    );
    if (refused > 0)
      console.log(`${refused} image(s) refused by the lung-field gate (not in the medians)`);
    console.log('');
    // The least shows the work itself; the median also holds the garbage collections that
    // land in a stage (mark-compact pauses of tens of ms, every few images, ADR 0163).
    console.log('| path | stage | median ms/image | least ms/image |');
    console.log('|---|---|---|---|');
    const table: Array<[string, Stages]> = [
      ['baseline: 1.2.0 alone', base],
      ['baseline: previous lung-field path', before],
      ['baseline: ADR 0163 path (grey held)', held],
      ['lungs + classifier (now)', both],
      [`baseline: the build at ${AGAINST ?? '--against'}`, against],
      ['floor: the two networks alone', floor],
    ];
    for (const [path, stages] of table) {
      for (const [name, values] of Object.entries(stages)) {
        console.log(
          `| ${path} | ${name} | ${median(values).toFixed(1)} | ${Math.min(...values).toFixed(1)} |`,
        );
      }
    }
    console.log('');
    console.log(
      '| path | process CPU ms/image, median / least (all threads) | mark-compacts per image | collector pauses, ms/image (all kinds) |',
    );
    console.log('|---|---|---|---|');
    const pathNames: Record<string, string> = {
      previous: 'baseline: previous lung-field path',
      held: 'baseline: ADR 0163 path (grey held)',
      now: 'lungs + classifier (now)',
      against: `baseline: the build at ${AGAINST ?? '--against'}`,
    };
    for (const [name, { cpu, windows }] of Object.entries(costs)) {
      const inside = collections.filter(({ start }) =>
        windows.some(([from, to]) => start >= from && start < to),
      );
      const pauses = inside.reduce((sum, { duration }) => sum + duration, 0);
      const majors = inside.filter(({ major }) => major).length;
      console.log(
        `| ${pathNames[name] ?? name} | ${median(cpu).toFixed(1)} / ${Math.min(...cpu).toFixed(1)} | ${(majors / windows.length).toFixed(2)} | ${(pauses / windows.length).toFixed(1)} |`,
      );
    }
    const total = median(both['total'] ?? [NaN]);
    const baseTotal = median(base['total'] ?? [NaN]);
    const beforeTotal = median(before['total'] ?? [NaN]);
    const heldTotal = median(held['total'] ?? [NaN]);
    const floorTotal = median(floor['total'] ?? [NaN]);
    console.log('');
    if (AGAINST !== null) {
      const then = median(against['total'] ?? [NaN]);
      console.log(
        `both models${EDGE_GUARD === undefined ? '' : ` with the edge guard (inset ${EDGE_GUARD})`}, this build: ${total.toFixed(1)} ms/image; the build at ${AGAINST}: ${then.toFixed(1)} ms/image (${(then / total).toFixed(2)}× this one's); medians of the same images, interleaved`,
      );
      await Promise.all([bareLungs.release(), bareClassifier.release()]);
      return;
    }
    if (ALONE !== null) {
      const alone = median((ALONE === 'held' ? held : both)['total'] ?? [NaN]);
      console.log(
        `both models, ${ALONE === 'held' ? 'the ADR 0163 path (grey held)' : 'now'}${EDGE_GUARD === undefined ? '' : ` with the edge guard (inset ${EDGE_GUARD})`}, alone: ${alone.toFixed(1)} ms/image (target ≤ 100 ms: ${alone <= 100 ? 'met' : 'NOT met'})`,
      );
      await Promise.all([bareLungs.release(), bareClassifier.release()]);
      return;
    }
    console.log(
      `both models: ${total.toFixed(1)} ms/image (target ≤ 100 ms: ${total <= 100 ? 'met' : 'NOT met'}); previous path ${beforeTotal.toFixed(1)} ms/image (${(beforeTotal / total).toFixed(2)}× now); ADR 0163 path (grey held) ${heldTotal.toFixed(1)} ms/image (${(heldTotal / total).toFixed(2)}× now); baseline 1.2.0 alone ${baseTotal.toFixed(1)} ms/image (now ${(total / baseTotal).toFixed(2)}× it); floor (the two networks alone) ${floorTotal.toFixed(1)} ms/image: now ${(total - floorTotal).toFixed(1)} ms above it`,
    );
    await Promise.all([bareLungs.release(), bareClassifier.release()]);
  } finally {
    await pool.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
