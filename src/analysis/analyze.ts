import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { describeError, writeFileAtomic } from '../core/index.js';
import { decodeFrame, readDicomFile, type DicomInstance } from '../dicom/index.js';
import { resizeArea, toDisplayGrey, toModelInput, type GreyImage } from '../imaging/index.js';
import { checkIntendedUse, type ModelPackage, type ModelRegistry } from '../models/index.js';
import { exactGradCam, letterboxGeometry } from '../explain/index.js';
import {
  buildFhirBundle,
  writeMeasurementReport,
  writeSecondaryCapture,
  type AnalysisRecord,
  type FindingResult,
  type SourceImage,
} from '../results/index.js';
import { ModelSessions } from './modelSessions.js';
import { emptyTimings, type AnalysisRun, type StageTimings, type StudyOutcome } from './types.js';

export interface AnalyzeOptions {
  registry: ModelRegistry;
  /** An explicit model; without it the installed model whose intended use matches is chosen. */
  model?: { id: string; version?: string };
  outDir: string;
  batchSize?: number;
  /** Called after each file is read and after each image is analysed. */
  onProgress?: (event: { kind: 'read' | 'analysed'; file: string }) => void;
  /**
   * Longest side of the Secondary Capture overlay, in pixels (default 1024). The SC is a
   * review aid beside the original, not a replacement for it; full-resolution RGB copies of
   * 3000-pixel radiographs cost 27 MB each and most of the pipeline's time (ADR 0002).
   */
  overlayMaxSide?: number;
  /** A fixed clock for reproducible outputs in tests; defaults to now. */
  now?: () => Date;
}

/**
 * Radiolens' core job: read the files, group them into studies, pick the model, check each
 * image against the model's intended use, run the model in batches, explain each score, and
 * write the SR, the Secondary Captures and the FHIR bundle into the output folder. A bad file
 * is reported and skipped; it never stops the others.
 */
export async function analyzeFiles(
  files: readonly string[],
  options: AnalyzeOptions,
): Promise<AnalysisRun> {
  const timings = emptyTimings();
  const problems: AnalysisRun['problems'] = [];
  const studies = new Map<string, DicomInstance[]>();

  for (const file of files) {
    const started = performance.now();
    try {
      const instance = await readDicomFile(file);
      const list = studies.get(instance.studyInstanceUid) ?? [];
      list.push(instance);
      studies.set(instance.studyInstanceUid, list);
    } catch (error) {
      problems.push({ file, error: describeError(error) });
    }
    timings.read += performance.now() - started;
    options.onProgress?.({ kind: 'read', file });
  }

  const sessions = new ModelSessions();
  const outcomes: StudyOutcome[] = [];
  let imagesAnalysed = 0;
  try {
    for (const [studyUid, instances] of studies) {
      const outcome = await analyzeStudy(studyUid, instances, options, sessions, timings, problems);
      imagesAnalysed += outcome.record?.sources.length ?? 0;
      outcomes.push(outcome);
    }
  } finally {
    await sessions.dispose();
  }
  return { files: files.length, studies: outcomes, problems, timings, imagesAnalysed };
}

async function analyzeStudy(
  studyUid: string,
  instances: DicomInstance[],
  options: AnalyzeOptions,
  sessions: ModelSessions,
  timings: StageTimings,
  problems: AnalysisRun['problems'],
): Promise<StudyOutcome> {
  const studyDir = join(options.outDir, studyUid);
  const outcome: StudyOutcome = {
    studyInstanceUid: studyUid,
    model: null,
    record: null,
    problem: null,
    outputs: { sr: null, sc: [], fhir: null, summary: join(studyDir, 'analysis.json') },
  };
  const images = instances.filter((instance) => instance.hasPixelData);
  const pkg = await chooseModel(images, options);
  if (typeof pkg === 'string') {
    outcome.problem = pkg;
    await writeFileAtomic(
      outcome.outputs.summary,
      `${JSON.stringify(studySummary(outcome), null, 2)}\n`,
    );
    return outcome;
  }
  outcome.model = { id: pkg.manifest.id, version: pkg.manifest.version };
  const session = await sessions.get(pkg);

  const record: AnalysisRecord = {
    studyInstanceUid: studyUid,
    sources: [],
    findings: [],
    algorithm: {
      modelId: pkg.manifest.id,
      version: pkg.manifest.version,
      name: pkg.manifest.name,
      manufacturer: pkg.manifest.manufacturer,
      manifestSha256: pkg.manifestSha256,
    },
    performedAt: (options.now ?? (() => new Date()))(),
    notAnalysed: [],
  };
  for (const instance of instances.filter((each) => !each.hasPixelData)) {
    record.notAnalysed.push({ image: sourceOf(instance), reason: 'no pixel data (not an image)' });
  }

  const eligible: DicomInstance[] = [];
  for (const instance of images) {
    const check = checkIntendedUse(pkg.manifest, instance.dataset, {
      rows: Number(instance.dataset['Rows'] ?? 0),
      columns: Number(instance.dataset['Columns'] ?? 0),
    });
    if (check.ok) eligible.push(instance);
    else record.notAnalysed.push({ image: sourceOf(instance), reason: check.reasons.join('; ') });
  }

  const batchSize = options.batchSize ?? 4;
  const overlays: Array<{
    image: SourceImage;
    display: GreyImage;
    findings: FindingResult[];
    heatmap: ReturnType<typeof exactGradCam>;
  }> = [];
  for (let start = 0; start < eligible.length; start += batchSize) {
    const batch: Array<{ instance: DicomInstance; display: GreyImage; input: Float32Array }> = [];
    for (const instance of eligible.slice(start, start + batchSize)) {
      try {
        let t = performance.now();
        const frame = await decodeFrame(instance, 0);
        timings.decode += performance.now() - t;
        t = performance.now();
        const fullDisplay = toDisplayGrey(frame, instance.dataset);
        const input = toModelInput(fullDisplay, pkg.manifest.input);
        const display = limitSize(fullDisplay, options.overlayMaxSide ?? DEFAULT_OVERLAY_MAX_SIDE);
        timings.preprocess += performance.now() - t;
        batch.push({ instance, display, input });
      } catch (error) {
        problems.push({ file: instance.source, error: describeError(error) });
        record.notAnalysed.push({ image: sourceOf(instance), reason: describeError(error) });
      }
    }
    if (batch.length === 0) continue;

    let t = performance.now();
    const output = await session.runner.run(batch.map((item) => item.input));
    timings.inference += performance.now() - t;

    t = performance.now();
    batch.forEach((item, index) => {
      const image = sourceOf(item.instance);
      const scores = output.scores[index]!;
      const findings = pkg.manifest.labels.map((label, labelIndex): FindingResult => {
        const probability = scores[labelIndex]!;
        return {
          labelId: label.id,
          finding: label.code,
          probability,
          threshold: label.threshold,
          present: probability >= label.threshold,
          alertLevel: label.alertLevel,
          image,
        };
      });
      // The heatmap shows what drove the most probable finding; the SC lists every finding.
      const top = argmax(scores, pkg.manifest.labels.length);
      const features = output.features?.[index];
      const weights = session.camHead?.weightsFor(top);
      if (features && weights) {
        const heatmap = exactGradCam(features, weights, {
          width: item.display.width,
          height: item.display.height,
          ...(pkg.manifest.input.resize === 'letterbox'
            ? {
                letterbox: letterboxGeometry(
                  item.display.width,
                  item.display.height,
                  pkg.manifest.input.width,
                  pkg.manifest.input.height,
                ),
              }
            : {}),
        });
        overlays.push({ image, display: item.display, findings, heatmap });
      }
      record.sources.push(image);
      record.findings.push(...findings);
      options.onProgress?.({ kind: 'analysed', file: item.instance.source });
    });
    timings.explanation += performance.now() - t;
  }

  const t = performance.now();
  if (record.sources.length > 0) {
    const sr = writeMeasurementReport(record);
    outcome.outputs.sr = join(studyDir, `SR_${sr.sopInstanceUid}.dcm`);
    await writeFileAtomic(outcome.outputs.sr, sr.bytes);
    for (const overlay of overlays) {
      const sc = writeSecondaryCapture({ record, ...overlay });
      const path = join(studyDir, `SC_${sc.sopInstanceUid}.dcm`);
      await writeFileAtomic(path, sc.bytes);
      outcome.outputs.sc.push(path);
    }
    const bundle = buildFhirBundle(record, { srSopInstanceUid: sr.sopInstanceUid });
    outcome.outputs.fhir = join(studyDir, 'fhir-bundle.json');
    await writeFileAtomic(outcome.outputs.fhir, `${JSON.stringify(bundle, null, 2)}\n`);
  } else {
    outcome.problem = "no image in this study is within the model's intended use";
  }
  outcome.record = record;
  await writeFileAtomic(
    outcome.outputs.summary,
    `${JSON.stringify(studySummary(outcome), null, 2)}\n`,
  );
  timings.encoding += performance.now() - t;
  return outcome;
}

/** The model to run: the one asked for, or the installed one whose intended use matches. */
async function chooseModel(
  images: DicomInstance[],
  options: AnalyzeOptions,
): Promise<ModelPackage | string> {
  if (options.model) return options.registry.resolve(options.model.id, options.model.version);
  const first = images[0];
  if (!first) return 'the study has no images';
  const candidates = await options.registry.findForImage(first.dataset);
  const chosen = candidates[0];
  if (!chosen) {
    const modality = String(first.dataset['Modality'] ?? 'unknown');
    const bodyPart = String(first.dataset['BodyPartExamined'] ?? 'unknown');
    return `no installed model is intended for these images (modality ${modality}, body part ${bodyPart}); install one or pass --model`;
  }
  return chosen;
}

function sourceOf(instance: DicomInstance): SourceImage {
  return {
    sopClassUid: instance.sopClassUid,
    sopInstanceUid: instance.sopInstanceUid,
    seriesInstanceUid: instance.seriesInstanceUid,
    dataset: instance.dataset,
  };
}

const DEFAULT_OVERLAY_MAX_SIDE = 1024;

/** Shrink (area averaging) so the longest side is at most maxSide; smaller images are kept. */
function limitSize(image: GreyImage, maxSide: number): GreyImage {
  const scale = maxSide / Math.max(image.width, image.height);
  if (scale >= 1) return image;
  return resizeArea(
    image,
    Math.max(1, Math.round(image.width * scale)),
    Math.max(1, Math.round(image.height * scale)),
  );
}

function argmax(values: Float32Array, count: number): number {
  let best = 0;
  for (let index = 1; index < count; index += 1) if (values[index]! > values[best]!) best = index;
  return best;
}

/** The machine-readable summary of one study: no pixel data, no full datasets. */
export function studySummary(outcome: StudyOutcome): object {
  const record = outcome.record;
  return {
    studyInstanceUid: outcome.studyInstanceUid,
    model: outcome.model,
    problem: outcome.problem,
    algorithm: record?.algorithm ?? null,
    performedAt: record?.performedAt.toISOString() ?? null,
    findings: (record?.findings ?? []).map((finding) => ({
      sopInstanceUid: finding.image.sopInstanceUid,
      label: finding.labelId,
      code: finding.finding,
      probability: finding.probability,
      threshold: finding.threshold,
      present: finding.present,
      alertLevel: finding.alertLevel,
    })),
    notAnalysed: (record?.notAnalysed ?? []).map((item) => ({
      sopInstanceUid: item.image.sopInstanceUid,
      reason: item.reason,
    })),
    outputs: outcome.outputs,
  };
}
