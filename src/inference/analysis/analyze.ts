import { performance } from 'node:perf_hooks';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  describeError,
  pathInside,
  RadiolensError,
  uidPathSegment,
  writeFileAtomic,
} from '../../foundation/core/index.js';
import { decodeFrame, readDicomFile, type DicomInstance } from '../../foundation/dicom/index.js';
import {
  displaySize,
  toDisplayGreyAndResized,
  toModelInputAndDisplay,
  type GreyImage,
  type PixelRegion,
  type InputPlacement,
} from '../imaging/index.js';
import {
  checkIntendedUse,
  type ModelPackage,
  type ModelRegistry,
  type ModelRunResult,
} from '../models/index.js';
import {
  exactGradCamRows,
  occlusionSensitivity,
  resampleWithMax,
  type Heatmap,
  type HeatmapTarget,
} from '../explain/index.js';
import {
  buildFhirBundle,
  checkCopiedAttributes,
  COMPREHENSIVE_SR_STORAGE,
  encodeHeatmapPng,
  heatmapRegion,
  MEDIA_TYPE,
  PARAMETRIC_MAP_STORAGE,
  resultSeriesNumber,
  SECONDARY_CAPTURE_IMAGE_STORAGE,
  sortArtifacts,
  writeMeasurementReport,
  writeParametricMap,
  writeSecondaryCapture,
  type AnalysisRecord,
  type FindingResult,
  type HeatmapArtifactInfo,
  type HeatmapRowSource,
  type ResultArtifact,
  type SourceImage,
} from '../results/index.js';
import { globalAveragePool, oodCaveat, oodFlag } from '../ood/index.js';
import { inputStatistics, type InputStatistics } from '../monitoring/index.js';
import {
  classifierInput,
  clipToBox,
  edgeGuardBox,
  heatmapOver,
  heatmapLungShare,
  type LungSegmenter,
  type SegmentedLungs,
  type SourceBox,
} from '../lungField/index.js';
import { ModelSessions, type ModelSession } from './modelSessions.js';
import { OutputWrites } from './outputWrites.js';
import {
  emptyTimings,
  noteCaveat,
  type AnalysisRun,
  type StageTimings,
  type StudyOutcome,
} from './types.js';

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
  /**
   * The site's patient identifier system (absolute URI) for the FHIR Patient, used when the
   * source names no issuer as an OID, UUID or URI (ADR 0152).
   */
  patientIdentifierSystem?: string;
  /** A fixed clock for reproducible outputs in tests; defaults to now. */
  now?: () => Date;
  /**
   * Loaded model sessions to use and keep: a long-running node passes one set for all its
   * jobs, because creating an onnxruntime session costs far more than analysing a study.
   * Without it the run loads its own and releases them at the end.
   */
  sessions?: ModelSessions;
  /**
   * A segmentation package (cxr-lungs) that also places the heatmaps of whole-image
   * classifiers relative to the lungs (analysis.json's finding `lungField`; ADR 0161).
   * Classifiers whose input is the lung field (manifest input.region) always use the
   * package they name.
   */
  lungs?: { id: string; version?: string };
}

/** One study on its way through the pipeline. */
interface StudyWork {
  outcome: StudyOutcome;
  pkg: ModelPackage;
  session: ModelSession;
  /** The lung segmentation the study's images go through, when the model needs or was given one. */
  lungs: LungSegmenter | null;
  record: AnalysisRecord;
  /** Images still to be scored; the study's SR and FHIR are written when it reaches 0. */
  remaining: number;
  /** The run's background file writes, and this study's SC writes among them. */
  writes: OutputWrites;
  scWrites: Array<Promise<void>>;
  /**
   * The artifacts encoded for this study so far, registered as each writer's output is handed
   * to the disk (before the write completes): the FHIR bundle links every one of them.
   */
  encoded: ResultArtifact[];
  /** Heatmap PNGs being encoded (off this thread); each lists its artifact when done. */
  heatmapEncodes: Array<Promise<void>>;
}

interface PreparedImage {
  study: StudyWork;
  instance: DicomInstance;
  display: GreyImage;
  input: Float32Array;
  /** Where preprocessing put the image in the model input; heatmaps are mapped back with it. */
  placement: InputPlacement;
  /** Header facts and input pixel statistics, for drift monitoring. */
  statistics: InputStatistics;
  /** Source size, the lung-field crop (heat outside it is zeroed) and the lung segmentation. */
  source: { width: number; height: number };
  box: SourceBox | null;
  lungs: SegmentedLungs | null;
}

const DEFAULT_OVERLAY_MAX_SIDE = 1024;
/** Secondary Captures waiting for the disk at most; beyond it the pipeline waits for one. */
const MAX_WRITES_IN_FLIGHT = 8;

/**
 * Radiolens' core job: read the files, group them into studies, pick the model, check each
 * image against the model's intended use, run the model in batches, explain each score, and
 * write the SR, the Secondary Captures and the FHIR bundle into the output folder. A bad file
 * is reported and skipped; it never stops the others.
 *
 * Batches are started in order (batch k+1 is prepared before batch k's results are used),
 * but note what overlaps: onnxruntime-node 1.30 runs a session synchronously on this thread
 * (its `run` is a setImmediate around the native call), so inference and our JavaScript take
 * turns; only file I/O (reads, and the fsynced output writes, which run in the background —
 * OutputWrites) overlaps them. Every millisecond of JavaScript per image therefore adds to
 * the time per image; ADR 0026 has the measured budget.
 */
export async function analyzeFiles(
  files: readonly string[],
  options: AnalyzeOptions,
): Promise<AnalysisRun> {
  const timings = emptyTimings();
  const problems: AnalysisRun['problems'] = [];
  const byStudy = new Map<string, DicomInstance[]>();
  for (const file of files) {
    const started = performance.now();
    try {
      const instance = await readDicomFile(file);
      // The UIDs name output folders and files: one that is not a UID ('..', empty, 70 000
      // characters) makes this file a problem, never a path (issue #16).
      uidPathSegment(instance.studyInstanceUid, 'Study Instance UID', file);
      uidPathSegment(instance.seriesInstanceUid, 'Series Instance UID', file);
      uidPathSegment(instance.sopInstanceUid, 'SOP Instance UID', file);
      checkCopiedAttributes(instance.dataset, file);
      const list = byStudy.get(instance.studyInstanceUid) ?? [];
      list.push(instance);
      byStudy.set(instance.studyInstanceUid, list);
    } catch (error) {
      problems.push({ file, error: describeError(error) });
    }
    timings.read += performance.now() - started;
    options.onProgress?.({ kind: 'read', file });
  }

  const sessions = options.sessions ?? new ModelSessions();
  const outcomes: StudyOutcome[] = [];
  // One verification per model per run, not per study: hashing a 30 MB model.onnx for every
  // study cost more than analysing a small image, and the session that runs was loaded from
  // the file as verified at its first use anyway.
  const planOptions = { ...options, registry: options.registry.forOneRun() };
  const writes = new OutputWrites();
  try {
    const queue: Array<{ study: StudyWork; instance: DicomInstance }> = [];
    for (const [studyUid, instances] of byStudy) {
      const work = await planStudy(studyUid, instances, planOptions, sessions, writes);
      outcomes.push(work.outcome);
      if (work.study === null) continue;
      for (const instance of work.eligible) queue.push({ study: work.study, instance });
      if (work.eligible.length === 0) finishStudy(work.study, options, timings);
    }
    await runPipelined(queue, options, timings, problems);
    await writes.drain();
  } finally {
    await writes.settle();
    if (options.sessions === undefined) await sessions.dispose();
  }
  const imagesAnalysed = outcomes.reduce(
    (n, outcome) => n + (outcome.record?.sources.length ?? 0),
    0,
  );
  return { files: files.length, studies: outcomes, problems, timings, imagesAnalysed };
}

/** Choose the study's model, check every image's intended use, and set up its record. */
async function planStudy(
  studyUid: string,
  instances: DicomInstance[],
  options: AnalyzeOptions,
  sessions: ModelSessions,
  writes: OutputWrites,
): Promise<{ outcome: StudyOutcome; study: StudyWork | null; eligible: DicomInstance[] }> {
  const studyDir = pathInside(options.outDir, studyUid);
  const outcome: StudyOutcome = {
    studyInstanceUid: studyUid,
    model: null,
    record: null,
    problem: null,
    warnings: [],
    caveats: [],
    ood: {},
    inputs: {},
    artifacts: [],
    outputs: { sr: null, sc: [], pm: [], fhir: null, summary: join(studyDir, 'analysis.json') },
  };
  const images = instances.filter((instance) => instance.hasPixelData);
  const pkg = await chooseModel(images, options);
  if (typeof pkg === 'string') {
    outcome.problem = pkg;
    await writeFileAtomic(
      outcome.outputs.summary,
      `${JSON.stringify(studySummary(outcome), null, 2)}\n`,
    );
    return { outcome, study: null, eligible: [] };
  }
  outcome.model = { id: pkg.manifest.id, version: pkg.manifest.version };
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
  outcome.record = record;
  for (const instance of instances.filter((each) => !each.hasPixelData)) {
    record.notAnalysed.push({ image: sourceOf(instance), reason: 'no pixel data (not an image)' });
  }
  const eligible: DicomInstance[] = [];
  for (const instance of images) {
    const check = checkIntendedUse(pkg.manifest, instance.dataset, {
      rows: Number(instance.dataset['Rows'] ?? 0),
      columns: Number(instance.dataset['Columns'] ?? 0),
    });
    if (check.ok) {
      eligible.push(instance);
      for (const caveat of check.caveats)
        noteCaveat(outcome, { ...caveat, image: instance.sopInstanceUid, demotes: false });
    } else record.notAnalysed.push({ image: sourceOf(instance), reason: check.reasons.join('; ') });
  }
  // Fixed before scoring starts: the key of every result UID of this study (results/resultUids).
  record.inputSopInstanceUids = eligible.map((instance) => instance.sopInstanceUid);
  const session = await sessions.get(pkg);
  let lungs: LungSegmenter | null = null;
  const lungModel = pkg.manifest.input.region?.model ?? options.lungs;
  if (lungModel !== undefined) {
    try {
      const lungPkg = await options.registry.resolve(lungModel.id, lungModel.version);
      lungs = await sessions.segmenter(lungPkg);
      // The lung model shapes the results (the input crop, or where the heatmap lies): it is
      // named beside the classifier in every object written (ADR 0145).
      record.contributors = [
        {
          role:
            pkg.manifest.input.region === undefined
              ? 'lung field segmentation (heatmap placement)'
              : 'lung field segmentation (input region)',
          algorithm: {
            modelId: lungPkg.manifest.id,
            version: lungPkg.manifest.version,
            name: lungPkg.manifest.name,
            manufacturer: lungPkg.manifest.manufacturer,
            manifestSha256: lungPkg.manifestSha256,
          },
        },
      ];
    } catch (error) {
      if (pkg.manifest.input.region !== undefined) {
        // Without its lung field the classifier has no input: nothing of this study is scored.
        for (const instance of eligible) {
          record.notAnalysed.push({
            image: sourceOf(instance),
            reason: `${pkg.manifest.id}@${pkg.manifest.version} needs the lung segmentation ${lungModel.id}@${lungModel.version ?? 'active'}: ${describeError(error)}`,
          });
        }
        eligible.length = 0;
        record.inputSopInstanceUids = [];
      } else {
        noteCaveat(outcome, {
          code: 'lungs-not-placed',
          image: null,
          text: `heatmaps not placed relative to the lungs: ${describeError(error)}`,
          demotes: false,
        });
      }
    }
  }
  const study: StudyWork = {
    outcome,
    pkg,
    session,
    lungs,
    record,
    remaining: eligible.length,
    writes,
    scWrites: [],
    encoded: [],
    heatmapEncodes: [],
  };
  return { outcome, study, eligible };
}

/**
 * Score the queue in batches of one model each, overlapping inference of one batch with the
 * preparation of the next and the explanation and output writing of the previous one.
 */
async function runPipelined(
  queue: ReadonlyArray<{ study: StudyWork; instance: DicomInstance }>,
  options: AnalyzeOptions,
  timings: StageTimings,
  problems: AnalysisRun['problems'],
): Promise<void> {
  const batches = splitIntoBatches(queue, options.batchSize ?? 4);
  let running: { batch: PreparedImage[]; output: Promise<ModelRunResult>; started: number } | null =
    null;
  for (let index = 0; index <= batches.length; index++) {
    const next =
      index < batches.length ? await prepareBatch(batches[index]!, options, timings, problems) : [];
    if (running) {
      const output = await running.output;
      timings.inference += performance.now() - running.started;
      const finished = running;
      running = next.length > 0 ? startInference(next) : null;
      await explainAndWrite(finished.batch, output, options, timings);
    } else if (next.length > 0) {
      running = startInference(next);
    }
  }
  if (running) {
    const output = await running.output;
    timings.inference += performance.now() - running.started;
    await explainAndWrite(running.batch, output, options, timings);
  }
}

function splitIntoBatches<T extends { study: StudyWork }>(
  queue: readonly T[],
  size: number,
): T[][] {
  const batches: T[][] = [];
  for (const item of queue) {
    const last = batches[batches.length - 1];
    // A batch holds one model's images only.
    if (last && last.length < size && last[0]!.study.pkg === item.study.pkg) last.push(item);
    else batches.push([item]);
  }
  return batches;
}

function startInference(batch: PreparedImage[]): {
  batch: PreparedImage[];
  output: Promise<ModelRunResult>;
  started: number;
} {
  const session = batch[0]!.study.session;
  return {
    batch,
    output: session.runner.run(batch.map((item) => item.input)),
    started: performance.now(),
  };
}

async function prepareBatch(
  items: ReadonlyArray<{ study: StudyWork; instance: DicomInstance }>,
  options: AnalyzeOptions,
  timings: StageTimings,
  problems: AnalysisRun['problems'],
): Promise<PreparedImage[]> {
  const prepared: PreparedImage[] = [];
  for (const { study, instance } of items) {
    try {
      let t = performance.now();
      const frame = await decodeFrame(instance, 0);
      timings.decode += performance.now() - t;
      t = performance.now();
      const source = { width: frame.columns, height: frame.rows };
      if (study.lungs !== null) {
        // The lung model needs the full-resolution display grey (LUNG_FIELD.md step 1) and
        // the classifier a crop of it; one pass makes the overlay and the lung model's grid,
        // bit-identical to separate resizes (ADR 0024, ADR 0163), and the crop's rows are made
        // again from the stored values rather than a 16 MB grey being held (ADR 0164).
        const spec = study.pkg.manifest.input;
        const shown = displaySize(
          source.width,
          source.height,
          options.overlayMaxSide ?? DEFAULT_OVERLAY_MAX_SIDE,
        );
        const sizes: Array<{ width: number; height: number; region?: PixelRegion }> = [
          shown,
          study.lungs.gridSize(source.width, source.height),
        ];
        // With the edge guard (ADR 0165) the same pass also makes the inset view's grid.
        const inset = spec.region?.edgeGuard?.inset;
        if (inset !== undefined) {
          const region = edgeGuardBox(source.width, source.height, inset);
          const size = study.lungs.gridSize(region.right - region.left, region.bottom - region.top);
          sizes.push({ ...size, region });
        }
        const { grey, resized } = toDisplayGreyAndResized(
          frame,
          instance.dataset,
          spec.windowing,
          sizes,
        );
        const [display, grid, insetGrid] = resized as [GreyImage, GreyImage, GreyImage?];
        const [lungs] = await study.lungs.segmentResized(
          [{ ...source, grid, grey, ...(insetGrid === undefined ? {} : { insetGrid }) }],
          { edgeGuardInset: inset },
        );
        const input = await classifierInput(study.pkg, grey, null, lungs!);
        timings.preprocess += performance.now() - t;
        if (input.kind === 'refused') {
          study.record.notAnalysed.push({
            image: sourceOf(instance),
            reason: input.reason,
            codes: input.codes,
          });
          study.remaining -= 1;
          if (study.remaining === 0) finishStudy(study, options, timings);
          continue;
        }
        const statistics = inputStatistics(instance.dataset, input.input, spec);
        prepared.push({
          study,
          instance,
          display,
          input: input.input,
          placement: input.placement,
          statistics,
          source,
          box: input.box,
          lungs: input.lungs,
        });
        continue;
      }
      // One pass over the full-resolution pixels feeds both the model input and the
      // smaller overlay image (imaging/inputAndDisplay.ts).
      const { input, display, placement } = toModelInputAndDisplay(
        frame,
        instance.dataset,
        study.pkg.manifest.input,
        options.overlayMaxSide ?? DEFAULT_OVERLAY_MAX_SIDE,
      );
      const statistics = inputStatistics(instance.dataset, input, study.pkg.manifest.input);
      timings.preprocess += performance.now() - t;
      prepared.push({
        study,
        instance,
        display,
        input,
        placement,
        statistics,
        source,
        box: null,
        lungs: null,
      });
    } catch (error) {
      problems.push({ file: instance.source, error: describeError(error) });
      study.record.notAnalysed.push({ image: sourceOf(instance), reason: describeError(error) });
      study.remaining -= 1;
      if (study.remaining === 0) finishStudy(study, options, timings);
    }
  }
  return prepared;
}

async function explainAndWrite(
  batch: PreparedImage[],
  output: ModelRunResult,
  options: AnalyzeOptions,
  timings: StageTimings,
): Promise<void> {
  for (const [index, item] of batch.entries()) {
    const { study } = item;
    const labels = study.pkg.manifest.labels;
    let t = performance.now();
    const image = sourceOf(item.instance);
    const scores = output.scores[index]!;
    const findings = labels.map((label, labelIndex): FindingResult => {
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
    // The SC shows what drove the most probable finding and lists every finding; every finding
    // that can be explained also gets its map as data, at the source's size (ADR 0151).
    const top = argmax(scores, labels.length);
    const features = output.features?.[index];
    const camHead = study.session.camHead;
    const input = study.pkg.manifest.input;
    const placement = { ...item.placement, inputWidth: input.width, inputHeight: input.height };
    const target = { width: item.display.width, height: item.display.height, placement };
    const sourceTarget = { ...item.source, placement };
    const explanation = study.pkg.manifest.explanation;
    let heatmap: Heatmap | null = null;
    const maps: ExplainedMap[] = [];
    if (features && camHead?.weightsFor(top)) {
      // A lung-field crop's heatmap is made inside the crop only: clipToBox's map, bit for bit,
      // without resampling the rest of the overlay only to zero it (ADR 0163, 0164).
      heatmap = heatmapOver(
        { placement, box: item.box },
        features,
        camHead.weightsFor(top)!,
        item.display,
        item.source,
      );
      for (const [labelIndex, label] of labels.entries()) {
        const weights = camHead.weightsFor(labelIndex);
        if (!weights) continue;
        maps.push({
          labelId: label.id,
          method: 'grad-cam',
          grid: { width: features.w, height: features.h },
          // Made row by row as the PNG is written: never held whole (16 MB per label at 2048²).
          map: exactGradCamRows(features, weights, sourceTarget),
        });
      }
    } else if (explanation.method === 'occlusion') {
      // Model-agnostic fallback: forward passes only, one per patch position (ADR 0033), so
      // only the most probable finding is explained: each further label costs as much again.
      const runner = study.session.runner;
      const grid = await occlusionSensitivity(
        (batch) => runner.run(batch),
        { data: item.input, channels: input.channels, width: input.width, height: input.height },
        {
          patch: explanation.patch,
          stride: explanation.stride,
          ...(explanation.baseline === undefined ? {} : { baseline: explanation.baseline }),
        },
        { labelIndex: top },
      );
      heatmap = resampled(grid, target);
      if (item.box !== null) heatmap = clipToBox(heatmap, item.box, item.source);
      maps.push({
        labelId: labels[top]!.id,
        method: 'occlusion',
        grid: { width: grid.width, height: grid.height },
        map: resampled(grid, sourceTarget),
      });
    }
    if (heatmap && item.lungs !== null) {
      // Where the evidence lies: the share of the heatmap's energy inside the lung mask, at
      // the overlay's size (ADR 0161). It belongs to the finding the heatmap explains.
      const share = heatmapLungShare(heatmap, item.lungs.probabilities);
      findings[top]!.heatmapInLungs = share;
    }
    if (features && study.session.ood) {
      // Scored either way; a flag tells the reader the image is unlike what the model knows.
      const flag = oodFlag(study.session.ood, globalAveragePool(features));
      study.outcome.ood[image.sopInstanceUid] = flag;
      if (flag.flagged) {
        // The caveat says what the flag has been shown to mean for this model (ADR 0086).
        noteCaveat(study.outcome, {
          code: 'out-of-distribution',
          image: image.sopInstanceUid,
          text: oodCaveat(flag, study.session.ood.meaning),
          demotes: true,
        });
      }
    }
    study.outcome.inputs[image.sopInstanceUid] = item.statistics;
    study.record.sources.push(image);
    study.record.findings.push(...findings);
    timings.explanation += performance.now() - t;

    t = performance.now();
    if (heatmap) {
      // The SR draws the top finding where its heatmap is hottest and links the heatmap's
      // objects (ADR 0141); the other findings are marked on the whole image.
      const explained = findings[top];
      if (explained) explained.explanation = { region: heatmapRegion(heatmap, image) };
      const sc = writeSecondaryCapture({
        record: study.record,
        image,
        display: item.display,
        heatmap,
        findings,
      });
      if (explained?.explanation) {
        explained.explanation.secondaryCapture = {
          sopClassUid: SECONDARY_CAPTURE_IMAGE_STORAGE,
          sopInstanceUid: sc.sopInstanceUid,
        };
      }
      const algorithm = study.record.algorithm;
      const artifact: ResultArtifact = {
        kind: 'sc',
        path: pathInside(
          options.outDir,
          study.record.studyInstanceUid,
          `SC_${sc.sopInstanceUid}.dcm`,
        ),
        mediaType: MEDIA_TYPE.dicom,
        dicom: {
          sopClassUid: SECONDARY_CAPTURE_IMAGE_STORAGE,
          sopInstanceUid: sc.sopInstanceUid,
          seriesInstanceUid: sc.seriesInstanceUid,
          modality: 'OT',
          seriesNumber: resultSeriesNumber(algorithm, 'sc'),
        },
        sourceSopInstanceUid: image.sopInstanceUid,
      };
      study.scWrites.push(study.writes.add(writeArtifact(study, artifact, sc.bytes)));
      // The same heatmap as float values, for tools that read a Parametric Map (ADR 0142).
      if (explained) {
        const pm = writeParametricMap({ record: study.record, image, heatmap, finding: explained });
        if (explained.explanation) {
          explained.explanation.parametricMap = {
            sopClassUid: PARAMETRIC_MAP_STORAGE,
            sopInstanceUid: pm.sopInstanceUid,
          };
        }
        const pmArtifact: ResultArtifact = {
          kind: 'parametric-map',
          path: pathInside(
            options.outDir,
            study.record.studyInstanceUid,
            `PM_${pm.sopInstanceUid}.dcm`,
          ),
          mediaType: MEDIA_TYPE.dicom,
          dicom: {
            sopClassUid: PARAMETRIC_MAP_STORAGE,
            sopInstanceUid: pm.sopInstanceUid,
            seriesInstanceUid: pm.seriesInstanceUid,
            modality: 'OT',
            seriesNumber: resultSeriesNumber(algorithm, 'pm'),
          },
          sourceSopInstanceUid: image.sopInstanceUid,
        };
        study.scWrites.push(study.writes.add(writeArtifact(study, pmArtifact, pm.bytes)));
      }
    }
    for (const map of maps) writeHeatmapPng(study, image, map, options);
    timings.encoding += performance.now() - t;
    options.onProgress?.({ kind: 'analysed', file: item.instance.source });
    study.remaining -= 1;
    if (study.remaining === 0) finishStudy(study, options, timings);
    await study.writes.throttle(MAX_WRITES_IN_FLIGHT);
  }
}

/**
 * Write the study's SR, FHIR bundle and summary once all its images are scored, in the
 * background (OutputWrites). The summary is written last, after the SCs, SR and bundle it
 * lists are on disk. `timings.encoding` counts the encoding work, not the waits for the disk,
 * which overlap the next images.
 */
function finishStudy(study: StudyWork, options: AnalyzeOptions, timings: StageTimings): void {
  // One study whose results cannot be built is that study's problem, never the whole run's.
  try {
    writeStudyOutputs(study, options, timings);
  } catch (error) {
    study.outcome.problem = `results not written: ${describeError(error)}`;
  }
}

function writeStudyOutputs(study: StudyWork, options: AnalyzeOptions, timings: StageTimings): void {
  const t = performance.now();
  const { record, outcome } = study;
  const studyDir = pathInside(options.outDir, record.studyInstanceUid);
  const files: Array<Promise<void>> = [...study.scWrites];
  if (record.sources.length > 0) {
    const sr = writeMeasurementReport(record);
    const srArtifact: ResultArtifact = {
      kind: 'sr',
      path: join(studyDir, `SR_${sr.sopInstanceUid}.dcm`),
      mediaType: MEDIA_TYPE.dicom,
      dicom: {
        sopClassUid: COMPREHENSIVE_SR_STORAGE,
        sopInstanceUid: sr.sopInstanceUid,
        seriesInstanceUid: sr.seriesInstanceUid,
        modality: 'SR',
        seriesNumber: resultSeriesNumber(record.algorithm, 'sr'),
      },
    };
    files.push(writeArtifact(study, srArtifact, sr.bytes));
    const fhirArtifact: ResultArtifact = {
      kind: 'fhir',
      path: join(studyDir, 'fhir-bundle.json'),
      mediaType: MEDIA_TYPE.fhirJson,
    };
    // The bundle links every artifact, so it waits for the heatmap PNGs' encoding (not writes).
    const fhir = Promise.allSettled(study.heatmapEncodes).then(() => {
      const t = performance.now();
      const bundle = buildFhirBundle(record, {
        srSopInstanceUid: sr.sopInstanceUid,
        // Paths as the bundle's Media name them: relative to the study folder it lies in.
        artifacts: sortArtifacts(study.encoded).map((artifact) => ({
          ...artifact,
          path: relative(studyDir, artifact.path).split(sep).join('/'),
        })),
        ...(options.patientIdentifierSystem === undefined
          ? {}
          : { patientIdentifierSystem: options.patientIdentifierSystem }),
      });
      const text = `${JSON.stringify(bundle, null, 2)}\n`;
      timings.encoding += performance.now() - t;
      return writeArtifact(study, fhirArtifact, text);
    });
    files.push(fhir);
  } else {
    outcome.problem = "no image in this study is within the model's intended use";
  }
  timings.encoding += performance.now() - t;
  const summary = async (): Promise<void> => {
    // A file that failed is left out of the summary; the run then fails with its error.
    await Promise.allSettled(files);
    outcome.artifacts = sortArtifacts(outcome.artifacts);
    outcome.outputs.sc.sort();
    outcome.outputs.pm.sort();
    await writeFileAtomic(
      outcome.outputs.summary,
      `${JSON.stringify(studySummary(outcome), null, 2)}\n`,
    );
  };
  // Tracked, not floating: the run's drain() waits for it and rethrows its failure.
  void study.writes.add(
    Promise.all(files).then(summary, async (error: unknown) => {
      await summary();
      throw error;
    }),
  );
}

/** One finding's heatmap on the source image, and how it was made. */
interface ExplainedMap {
  labelId: string;
  method: HeatmapArtifactInfo['method'];
  grid: { width: number; height: number };
  map: Heatmap | HeatmapRowSource;
}

function resampled(grid: Heatmap, target: HeatmapTarget): Heatmap {
  return resampleWithMax(grid, target);
}

/**
 * Encode one finding's heatmap as a 16-bit PNG (in zlib's thread pool) and write it to
 * `heatmaps/<SOP Instance UID>_<label>.png` in the study folder. The name keeps only
 * [0-9A-Za-z._-] (a malformed UID in a source file must not name a path elsewhere) and never
 * starts with a dot (a UID starts with a digit, and a label id, by the manifest schema, with a
 * letter or digit), so it cannot leave the folder; the check says so if that ever changes.
 */
function writeHeatmapPng(
  study: StudyWork,
  image: SourceImage,
  explained: ExplainedMap,
  options: AnalyzeOptions,
): void {
  const studyDir = resolve(options.outDir, study.record.studyInstanceUid);
  const name = `${image.sopInstanceUid}_${explained.labelId}`.replace(/[^0-9A-Za-z._-]/g, '_');
  const path = resolve(studyDir, 'heatmaps', `${name}.png`);
  if (dirname(path) !== join(studyDir, 'heatmaps')) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `heatmap file name for image ${image.sopInstanceUid}, label ${explained.labelId} would leave the study folder`,
    );
  }
  const encoded = encodeHeatmapPng(explained.map).then((png) => {
    const artifact: ResultArtifact = {
      kind: 'heatmap-png',
      path: join(options.outDir, study.record.studyInstanceUid, relative(studyDir, path)),
      mediaType: MEDIA_TYPE.png,
      sourceSopInstanceUid: image.sopInstanceUid,
      heatmap: {
        labelId: explained.labelId,
        method: explained.method,
        width: png.width,
        height: png.height,
        bitDepth: 16,
        maxRaw: png.maxRaw,
        grid: explained.grid,
        sha256: png.sha256,
        size: png.png.length,
        peak: png.peak,
      },
    };
    return { artifact, png: png.png };
  });
  study.heatmapEncodes.push(encoded.then(() => undefined));
  const write = encoded.then(({ artifact, png }) => writeArtifact(study, artifact, png));
  study.scWrites.push(study.writes.add(write));
}

/**
 * Hand an artifact to the disk: it is listed as encoded at once (the study's FHIR bundle links
 * it) and registered in the outcome when its bytes are durably written.
 */
function writeArtifact(
  study: StudyWork,
  artifact: ResultArtifact,
  content: Uint8Array | string,
): Promise<void> {
  study.encoded.push(artifact);
  return writeFileAtomic(artifact.path, content).then(() => register(study.outcome, artifact));
}

function register(outcome: StudyOutcome, artifact: ResultArtifact): void {
  outcome.artifacts.push(artifact);
  switch (artifact.kind) {
    case 'sr':
      outcome.outputs.sr = artifact.path;
      break;
    case 'sc':
      outcome.outputs.sc.push(artifact.path);
      break;
    case 'fhir':
      outcome.outputs.fhir = artifact.path;
      break;
    case 'parametric-map':
      outcome.outputs.pm.push(artifact.path);
      break;
    case 'heatmap-png':
      break;
  }
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

function argmax(values: Float32Array, count: number): number {
  let best = 0;
  for (let index = 1; index < count; index += 1) if (values[index]! > values[best]!) best = index;
  return best;
}

/** The finding's heatmap PNG as analysis.json names it (ADR 0151), or null when none was made. */
function heatmapEntry(outcome: StudyOutcome, finding: FindingResult): object | null {
  const artifact = outcome.artifacts.find(
    (each) =>
      each.kind === 'heatmap-png' &&
      each.sourceSopInstanceUid === finding.image.sopInstanceUid &&
      each.heatmap?.labelId === finding.labelId,
  );
  if (artifact?.heatmap === undefined) return null;
  const info = artifact.heatmap;
  return {
    file: relative(dirname(outcome.outputs.summary), artifact.path).split(sep).join('/'),
    mediaType: artifact.mediaType,
    width: info.width,
    height: info.height,
    bitDepth: info.bitDepth,
    method: info.method,
    scale: {
      fullScale: 65535,
      maxRaw: info.maxRaw,
      meaning:
        info.method === 'grad-cam'
          ? 'linear: raw = value / 65535 × maxRaw, raw being ReLU(Σ_k w_ck A_k), the class evidence of the feature map (exact Grad-CAM times the map area)'
          : 'linear: raw = value / 65535 × maxRaw, raw being the mean drop of the class score when a patch covering the pixel is occluded',
    },
    grid: info.grid,
    peak: info.peak,
    sha256: info.sha256,
  };
}

/** The machine-readable summary of one study: no pixel data, no full datasets. */
export function studySummary(outcome: StudyOutcome): object {
  const record = outcome.record;
  return {
    studyInstanceUid: outcome.studyInstanceUid,
    model: outcome.model,
    problem: outcome.problem,
    warnings: outcome.warnings,
    caveats: outcome.caveats,
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
      ood: outcome.ood[finding.image.sopInstanceUid] ?? null,
      lungField: finding.heatmapInLungs ?? null,
      heatmap: heatmapEntry(outcome, finding),
    })),
    notAnalysed: (record?.notAnalysed ?? []).map((item) => ({
      sopInstanceUid: item.image.sopInstanceUid,
      reason: item.reason,
      ...(item.codes === undefined ? {} : { codes: item.codes }),
    })),
    inputs: outcome.inputs,
    outputs: outcome.outputs,
    // Typed, with paths relative to the study folder (the folder can be moved as a whole).
    artifacts: outcome.artifacts.map((artifact) => ({
      kind: artifact.kind,
      file: relative(dirname(outcome.outputs.summary), artifact.path).split(sep).join('/'),
      mediaType: artifact.mediaType,
      ...(artifact.dicom === undefined ? {} : { dicom: artifact.dicom }),
      ...(artifact.sourceSopInstanceUid === undefined
        ? {}
        : { sourceSopInstanceUid: artifact.sourceSopInstanceUid }),
    })),
  };
}
