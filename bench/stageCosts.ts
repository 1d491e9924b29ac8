/**
 * Core-ms per stage of our own work on one image (issue #14 item 7), measured as process CPU
 * time (user + system, every thread: zlib's pool for the PNG deflate, the kernel for the file
 * writes) with each stage run on its own while nothing else runs, so a model training on the
 * same machine or the inference thread cannot be counted as ours. Wall time is no measure on a
 * shared machine: it includes the time a thread waited for a core.
 *
 * The stages are the ones `analyzeFiles` runs per image (analysis/analyze.ts), called through
 * the same public functions in the same order: read + checks, decode, LUT + model input +
 * input statistics, Grad-CAM (overlay grid and every label on the source grid), SR region,
 * Secondary Capture (overlay + Part 10), Parametric Map, heatmap PNG, SR, FHIR bundle +
 * analysis-sized JSON, and the atomic fsynced writes of all of them. Each stage is repeated;
 * the least time is its cost (others' load only ever adds), the median shows the spread.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uidPathSegment, writeFileAtomic } from '../src/foundation/core/index.js';
import { decodeFrame, readDicomFile } from '../src/foundation/dicom/index.js';
import { ModelSessions } from '../src/inference/analysis/index.js';
import { exactGradCam, exactGradCamRows, type Heatmap } from '../src/inference/explain/index.js';
import { toModelInputAndDisplay } from '../src/inference/imaging/index.js';
import type { ModelPackage } from '../src/inference/models/index.js';
import { inputStatistics } from '../src/inference/monitoring/index.js';
import {
  buildFhirBundle,
  checkCopiedAttributes,
  encodeHeatmapPng,
  heatmapRegion,
  writeMeasurementReport,
  writeParametricMap,
  writeSecondaryCapture,
  type AnalysisRecord,
  type FindingResult,
  type SourceImage,
} from '../src/inference/results/index.js';

export interface StageCost {
  stage: string;
  /** Least core-ms of one run of the stage: its own cost, with the least of others' noise. */
  coreMs: number;
  /** Median core-ms, for how much the machine's load spread the runs. */
  medianMs: number;
  /** Bytes the stage hands to the disk, where it produces a file. */
  bytes?: number;
}

const OVERLAY_MAX_SIDE = 1024;

/**
 * Before a timed write: remove what the runs before wrote, so the page cache does not grow
 * run by run (on a machine short of memory the kernel then reclaims pages inside our write
 * calls, and the last runs cost four times the first), and flush every dirty page to disk (a
 * child process, not counted as ours), because an fsync can commit the file system's journal
 * with whatever else is dirty.
 */
function settleDisk(dir: string): () => void {
  return () => {
    rmSync(dir, { recursive: true, force: true });
    execFileSync('sync');
  };
}

function cpuNow(): NodeJS.CpuUsage {
  return process.cpuUsage();
}
function coreMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * Least and median core-ms of `repeats` runs of `work`, and its last result. `before` runs
 * untimed ahead of each run.
 */
async function timed<T>(
  repeats: number,
  work: () => T | Promise<T>,
  before?: () => void,
): Promise<{ coreMs: number; medianMs: number; value: T }> {
  const samples: number[] = [];
  let value!: T;
  for (let i = 0; i < repeats; i++) {
    before?.();
    const started = cpuNow();
    value = await work();
    samples.push(coreMsSince(started));
  }
  samples.sort((a, b) => a - b);
  return { coreMs: samples[0]!, medianMs: samples[Math.floor(samples.length / 2)]!, value };
}

export async function measureStageCosts(
  file: string,
  pkg: ModelPackage,
  repeats = 5,
): Promise<{ costs: StageCost[]; floor: StageCost[] }> {
  const out = await mkdtemp(join(tmpdir(), 'radiolens-stages-'));
  const sessions = new ModelSessions();
  const costs: StageCost[] = [];
  try {
    const read = await timed(repeats, async () => {
      const instance = await readDicomFile(file);
      uidPathSegment(instance.studyInstanceUid, 'Study Instance UID', file);
      uidPathSegment(instance.seriesInstanceUid, 'Series Instance UID', file);
      uidPathSegment(instance.sopInstanceUid, 'SOP Instance UID', file);
      checkCopiedAttributes(instance.dataset, file);
      return instance;
    });
    costs.push({ stage: 'read + parse + checks', coreMs: read.coreMs, medianMs: read.medianMs });
    const instance = read.value;
    const decoded = await timed(repeats, () => decodeFrame(instance, 0));
    costs.push({ stage: 'decode', coreMs: decoded.coreMs, medianMs: decoded.medianMs });
    const frame = decoded.value;
    const spec = pkg.manifest.input;
    const prepared = await timed(repeats, () => {
      const made = toModelInputAndDisplay(frame, instance.dataset, spec, OVERLAY_MAX_SIDE);
      return { ...made, statistics: inputStatistics(instance.dataset, made.input, spec) };
    });
    costs.push({
      stage: 'LUT + model input + statistics',
      coreMs: prepared.coreMs,
      medianMs: prepared.medianMs,
    });
    const { input, display, placement } = prepared.value;

    // Inference is not ours: run once, untimed, for the features the explanation needs.
    const session = await sessions.get(pkg);
    const output = await session.runner.run([input]);
    const features = output.features?.[0];
    const camHead = session.camHead;
    if (features === undefined || camHead === null) {
      throw new Error('the bench model must expose features and a CAM head');
    }
    const labels = pkg.manifest.labels;
    const full = { ...placement, inputWidth: spec.width, inputHeight: spec.height };
    const source = { width: frame.columns, height: frame.rows, placement: full };
    const target = { width: display.width, height: display.height, placement: full };
    // The overlay's map (the SC and PM draw it; the SR's region comes from it) and each
    // label's map on the source grid (only the heatmap PNGs need those, ADR 0151), which is
    // made row by row as its PNG is written: its cost is in the PNG stage.
    const overlayMap = await timed(repeats, () =>
      exactGradCam(features, camHead.weightsFor(0)!, target),
    );
    costs.push({
      stage: 'Grad-CAM on the overlay grid',
      coreMs: overlayMap.coreMs,
      medianMs: overlayMap.medianMs,
    });
    const sourceMaps = await timed(repeats, () =>
      labels.map((_, index) => exactGradCamRows(features, camHead.weightsFor(index)!, source)),
    );
    costs.push({
      stage: `Grad-CAM on the source grid (${labels.length} label${labels.length === 1 ? '' : 's'}, set-up)`,
      coreMs: sourceMaps.coreMs,
      medianMs: sourceMaps.medianMs,
    });
    const explained = { value: { overlay: overlayMap.value, maps: sourceMaps.value } };
    const heatmap: Heatmap = explained.value.overlay;

    const image: SourceImage = {
      sopClassUid: instance.sopClassUid,
      sopInstanceUid: instance.sopInstanceUid,
      seriesInstanceUid: instance.seriesInstanceUid,
      dataset: instance.dataset,
    };
    const scores = output.scores[0]!;
    const findings = labels.map((label, index): FindingResult => ({
      labelId: label.id,
      finding: label.code,
      probability: scores[index]!,
      threshold: label.threshold,
      present: scores[index]! >= label.threshold,
      alertLevel: label.alertLevel,
      image,
    }));
    const record: AnalysisRecord = {
      studyInstanceUid: instance.studyInstanceUid,
      inputSopInstanceUids: [instance.sopInstanceUid],
      sources: [image],
      findings,
      algorithm: {
        modelId: pkg.manifest.id,
        version: pkg.manifest.version,
        name: pkg.manifest.name,
        manufacturer: pkg.manifest.manufacturer,
        manifestSha256: pkg.manifestSha256,
      },
      performedAt: new Date('2026-01-01T00:00:00Z'),
      notAnalysed: [],
    };
    const region = await timed(repeats, () => heatmapRegion(heatmap, image));
    findings[0]!.explanation = { region: region.value };
    costs.push({
      stage: 'SR region of the heatmap',
      coreMs: region.coreMs,
      medianMs: region.medianMs,
    });

    const sc = await timed(repeats, () =>
      writeSecondaryCapture({ record, image, display, heatmap, findings }),
    );
    costs.push({
      stage: 'Secondary Capture (overlay + encode)',
      coreMs: sc.coreMs,
      medianMs: sc.medianMs,
      bytes: sc.value.bytes.length,
    });
    const pm = await timed(repeats, () =>
      writeParametricMap({ record, image, heatmap, finding: findings[0]! }),
    );
    costs.push({
      stage: 'Parametric Map (encode)',
      coreMs: pm.coreMs,
      medianMs: pm.medianMs,
      bytes: pm.value.bytes.length,
    });
    const pngs = await timed(repeats, () =>
      Promise.all(explained.value.maps.map((map) => encodeHeatmapPng(map))),
    );
    costs.push({
      stage: 'source-grid map + heatmap PNG (deflate in pool)',
      coreMs: pngs.coreMs,
      medianMs: pngs.medianMs,
      bytes: pngs.value.reduce((n, png) => n + png.png.length, 0),
    });
    const sr = await timed(repeats, () => writeMeasurementReport(record));
    costs.push({
      stage: 'SR (encode)',
      coreMs: sr.coreMs,
      medianMs: sr.medianMs,
      bytes: sr.value.bytes.length,
    });
    const fhir = await timed(repeats, () => {
      const bundle = buildFhirBundle(record, { srSopInstanceUid: sr.value.sopInstanceUid });
      return `${JSON.stringify(bundle, null, 2)}\n`;
    });
    costs.push({
      stage: 'FHIR bundle (build + JSON)',
      coreMs: fhir.coreMs,
      medianMs: fhir.medianMs,
      bytes: fhir.value.length,
    });

    const files: Array<[string, Uint8Array | string]> = [
      ['sc.dcm', sc.value.bytes],
      ['pm.dcm', pm.value.bytes],
      ...pngs.value.map((png, i): [string, Uint8Array] => [`heatmap-${i}.png`, png.png]),
      ['sr.dcm', sr.value.bytes],
      ['fhir-bundle.json', fhir.value],
    ];
    const written = await timed(
      repeats,
      async () => {
        const dir = join(out, 'written');
        await Promise.all(
          files.map(([name, content]) => writeFileAtomic(join(dir, name), content)),
        );
        return files.reduce((n, [, content]) => n + content.length, 0);
      },
      settleDisk(join(out, 'written')),
    );
    costs.push({
      stage: 'file writes (atomic, fsynced)',
      coreMs: written.coreMs,
      medianMs: written.medianMs,
      bytes: written.value,
    });
    return { costs, floor: await measureFloor(frame.rows * frame.columns, files, out, repeats) };
  } finally {
    await sessions.dispose();
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * The physical floor of what the stages must do, whatever the code: one pass over the
 * source's 16-bit samples, every output byte made once (the SC's RGB, the Parametric Map's
 * floats, the PNG's 16-bit samples before deflate: fresh memory, so the page faults count as
 * they do for real outputs), and the same bytes written and fsynced as the outputs are.
 */
async function measureFloor(
  pixels: number,
  files: ReadonlyArray<[string, Uint8Array | string]>,
  out: string,
  repeats: number,
): Promise<StageCost[]> {
  const source = new Uint16Array(pixels).fill(1000);
  const pass = await timed(repeats, () => {
    let sum = 0;
    for (let i = 0; i < source.length; i++) sum += source[i]!;
    return sum;
  });
  const sizes = files.map(([, content]) => content.length);
  // The PNG's deflate input, not its compressed size: 2 bytes per source pixel.
  const made = [
    ...files.filter(([name]) => name.endsWith('.dcm')).map(([, content]) => content.length),
    2 * pixels,
  ];
  const fill = await timed(repeats, () => made.map((n) => new Uint8Array(n).fill(7)).length);
  // Bytes already in memory (touched), as the real outputs are when they are written.
  const contents = sizes.map((n) => new Uint8Array(n).fill(7));
  const written = await timed(
    repeats,
    async () => {
      const dir = join(out, 'floor');
      await Promise.all(files.map(([name], i) => writeFileAtomic(join(dir, name), contents[i]!)));
    },
    settleDisk(join(out, 'floor')),
  );
  return [
    { stage: 'one pass over the source samples', coreMs: pass.coreMs, medianMs: pass.medianMs },
    {
      stage: 'make every output byte once (fresh memory)',
      coreMs: fill.coreMs,
      medianMs: fill.medianMs,
      bytes: made.reduce((a, b) => a + b, 0),
    },
    {
      stage: 'write + fsync the outputs',
      coreMs: written.coreMs,
      medianMs: written.medianMs,
      bytes: sizes.reduce((a, b) => a + b, 0),
    },
  ];
}
