/**
 * Local adaptation of a GAP + linear-head model to a site (ADR 0070): patient-level split of
 * the site's labelled images, pooled features from the unchanged backbone, an L2-regularised
 * class-weighted logistic regression of the head chosen on the tuning split, the operating
 * threshold for a target sensitivity chosen on the tuning split, and a new model version in
 * the registry whose head is the fitted one — verified by running it — with lineage to its
 * parent and to the site dataset version, and test-split results of parent and child.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { scoreImages, type ScoredImage } from '../../inference/analysis/index.js';
import {
  isSemver,
  MODEL_FILE,
  writeModelPackage,
  type ModelManifest,
  type ModelPackage,
  type ModelRegistry,
} from '../../inference/models/index.js';
import {
  importPythonTrainingRun,
  newRunId,
  RUN_SCHEMA,
  type RunRecord,
  type RunStore,
} from '../runs/index.js';
import {
  aucWithDelong,
  delongTest,
  operatingPoint,
  tuneOperatingPoint,
  type AucEstimate,
  type DelongComparison,
  type OperatingPoint,
  type TunedOperatingPoint,
} from '../validation/index.js';
import { siteDatasetVersion, type DatasetVersion } from './datasetVersion.js';
import { replaceHeadRow } from './head.js';
import { fitHead, logitOf, type HeadFit } from './headFit.js';
import { sigmoid } from './logistic.js';
import {
  DEFAULT_SPLIT_FRACTIONS,
  splitByPatient,
  type PatientSplit,
  type SplitFractions,
  type SplitName,
} from './patientSplit.js';
import { readSiteLabels, writeSiteLabels, type SiteImage } from './siteData.js';

export const FINETUNE_RECIPE = 'radiolens finetune (src/finetune, ADR 0070)';

/** Largest |package score − TS score| accepted when verifying the new package. */
export const VERIFY_TOLERANCE = 1e-4;

export interface FinetuneOptions {
  registry: ModelRegistry;
  model: { id: string; version?: string };
  labelsCsv: string;
  /** Label id to adapt; default the model's only label. */
  label?: string;
  /** Default: the parent's next minor version (1.0.0 → 1.1.0). */
  outVersion?: string;
  targetSensitivity?: number;
  seed?: number;
  patientColumn?: string;
  l2Grid?: readonly number[];
  fractions?: SplitFractions;
  /** Name of the site dataset in the lineage; default the labels CSV's folder name. */
  datasetId?: string;
  /**
   * Folder for test-labels.csv, tuning-labels.csv and finetune-report.json. Default: a folder
   * named after the run inside the runs folder (runs/<run-id>/), so they sit by the record.
   */
  outDir?: string;
  /** Where the run is recorded; none: not recorded. */
  runs?: RunStore;
  now?: () => Date;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface FinetuneResult {
  parent: ModelPackage;
  pkg: ModelPackage;
  label: string;
  dataset: DatasetVersion & { id: string };
  split: PatientSplit;
  counts: Record<SplitName, { images: number; positives: number; patients: number }>;
  head: HeadFit;
  /** Threshold chosen on tuning, its operating point on tuning and on test. */
  operatingPoint: TunedOperatingPoint;
  /** The parent at its own threshold on the test split. */
  parentOperatingPoint: OperatingPoint;
  test: { parent: AucEstimate; finetuned: AucEstimate; comparison: DelongComparison };
  verification: { images: number; maxScoreDifference: number; maxPooledDifference: number };
  files: { testLabels: string; tuningLabels: string; report: string; run: string | null };
  run: RunRecord | null;
}

export async function finetuneHead(options: FinetuneOptions): Promise<FinetuneResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const seed = options.seed ?? 1;
  const targetSensitivity = options.targetSensitivity ?? 0.9;
  const patientColumn = options.patientColumn ?? 'patient_id';
  const fractions = options.fractions ?? DEFAULT_SPLIT_FRACTIONS;
  if (!(targetSensitivity > 0 && targetSensitivity <= 1)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--target-sensitivity must be in (0, 1], got ${targetSensitivity}`,
    );
  }
  const parent = await options.registry.resolve(options.model.id, options.model.version);
  const manifest = parent.manifest;
  const labelIndex = chooseLabel(manifest, options.label);
  const label = manifest.labels[labelIndex]!.id;
  if (manifest.outputs.activation === 'softmax') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${manifest.id}@${manifest.version} uses a softmax output; head fine-tuning here fits one sigmoid per label`,
    );
  }
  const outVersion = options.outVersion ?? nextMinor(manifest.version);
  if (!isSemver(outVersion)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--out-version ${outVersion} is not a semantic version such as 1.1.0`,
    );
  }
  const targetDir = join(options.registry.root, manifest.id, outVersion);
  if (await exists(targetDir)) {
    throw new RadiolensError(
      'E_MODEL_VERSION_EXISTS',
      `${manifest.id}@${outVersion} already exists in ${options.registry.root} — choose another --out-version`,
      { subject: targetDir },
    );
  }

  const site = readSiteLabels(options.labelsCsv, { label, patientColumn });
  const datasetId = options.datasetId ?? basename(dirname(site.path));
  const dataset = { id: datasetId, ...(await siteDatasetVersion(site.path, site.images)) };
  const split = splitByPatient(
    site.images.map((image) => ({ patientId: image.patientId, truth: image.truth })),
    { seed, fractions },
  );
  const bySplit = (name: SplitName): SiteImage[] =>
    site.images.filter((_, i) => split.assignment[i] === name);
  const parts = { train: bySplit('train'), tuning: bySplit('tuning'), test: bySplit('test') };
  const counts = countSplits(parts);
  for (const name of ['train', 'tuning', 'test'] as const) {
    if (counts[name].positives < 2 || counts[name].images - counts[name].positives < 2) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${site.path}: the ${name} split has ${counts[name].positives} positive and ${counts[name].images - counts[name].positives} negative image(s); each split needs at least 2 of each — add images`,
        { subject: site.path },
      );
    }
  }

  // 1. The parent's pooled features (and scores) for every image.
  const parentScored = await scoreAll(site.images, parent, 'score (parent)', options.onProgress);
  const pooled = new Map(
    site.images.map((image, i) => [image.imagePath, parentScored[i]!.pooledFeatures!]),
  );
  const parentScore = new Map(
    site.images.map((image, i) => [image.imagePath, parentScored[i]!.scores![labelIndex]!]),
  );
  const labelled = (images: SiteImage[]): { features: Float32Array[]; truth: (0 | 1)[] } => ({
    features: images.map((image) => pooled.get(image.imagePath)!),
    truth: images.map((image) => image.truth),
  });

  // 2. The head, L2 strength chosen on tuning.
  const head = fitHead(labelled(parts.train), labelled(parts.tuning), {
    ...(options.l2Grid ? { l2Grid: options.l2Grid } : {}),
  });
  // The graph stores float32: compare the package against the rounded head it really holds.
  const weights32 = Float32Array.from(head.weights);
  const bias32 = Math.fround(head.bias);
  const tsScore = (image: SiteImage): number =>
    sigmoid(logitOf(weights32, bias32, pooled.get(image.imagePath)!));
  const parentBytes = await readFile(parent.modelPath);
  const inherited = await inheritedFiles(parent);
  const modelBytes = replaceHeadRow(parentBytes, manifest, labelIndex, {
    weights: weights32,
    bias: bias32,
  });

  // 3. Run the new graph on tuning + test and check it computes sigmoid(pooled·w + b).
  const checked = [...parts.tuning, ...parts.test];
  const scratch = await mkdtemp(join(tmpdir(), 'radiolens-finetune-'));
  let packageScore: Map<string, number>;
  let verification: FinetuneResult['verification'];
  try {
    const candidate = await writeModelPackage(
      join(scratch, manifest.id, outVersion),
      { ...withoutFiles(manifest), version: outVersion, validation: [] },
      { ...inherited, [MODEL_FILE]: modelBytes },
    );
    const scored = await scoreAll(checked, candidate, 'verify (fine-tuned)', options.onProgress);
    let maxScoreDifference = 0;
    let maxPooledDifference = 0;
    checked.forEach((image, i) => {
      const got = scored[i]!;
      maxScoreDifference = Math.max(
        maxScoreDifference,
        Math.abs(got.scores![labelIndex]! - tsScore(image)),
      );
      const before = pooled.get(image.imagePath)!;
      got.pooledFeatures!.forEach((v, k) => {
        maxPooledDifference = Math.max(maxPooledDifference, Math.abs(v - before[k]!));
      });
    });
    verification = { images: checked.length, maxScoreDifference, maxPooledDifference };
    if (!(maxScoreDifference <= VERIFY_TOLERANCE) || !(maxPooledDifference <= VERIFY_TOLERANCE)) {
      throw new RadiolensError(
        'E_FINETUNE_VERIFY',
        `the fine-tuned graph does not compute sigmoid(pooled features · w + b) as fitted (max score difference ${maxScoreDifference}, pooled-feature difference ${maxPooledDifference}) — is the parent's scores output sigmoid(Gemm(GAP(features)))? Nothing was registered`,
      );
    }
    packageScore = new Map(
      checked.map((image, i) => [image.imagePath, scored[i]!.scores![labelIndex]!]),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  // 4. Operating point on tuning (package scores: the numbers a user will reproduce), test metrics.
  const outcomes = (images: SiteImage[], score: (image: SiteImage) => number) => ({
    truth: images.map((image) => image.truth),
    scores: images.map(score),
  });
  const byPackage = (image: SiteImage): number => packageScore.get(image.imagePath)!;
  const byParent = (image: SiteImage): number => parentScore.get(image.imagePath)!;
  const tuned = tuneOperatingPoint(
    outcomes(parts.tuning, byPackage),
    outcomes(parts.test, byPackage),
    {
      sensitivity: targetSensitivity,
    },
  );
  const testTruth = parts.test.map((image) => image.truth);
  const test = {
    parent: aucWithDelong(outcomes(parts.test, byParent), {
      what: 'parent scores on the test split',
    }),
    finetuned: aucWithDelong(outcomes(parts.test, byPackage), {
      what: 'fine-tuned scores on the test split',
    }),
    comparison: delongTest(testTruth, parts.test.map(byPackage), parts.test.map(byParent), {
      what: ['fine-tuned', 'parent'],
    }),
  };
  const parentOperatingPoint = operatingPoint(
    outcomes(parts.test, byParent),
    manifest.labels[labelIndex]!.threshold,
  );

  // 5. The run id is known before the package is written, so the manifest can name it.
  const parameters = {
    label,
    l2: head.l2,
    l2Grid: head.candidates.map((c) => c.l2).join(','),
    classWeightPositive: head.classWeights.positive,
    classWeightNegative: head.classWeights.negative,
    featureStandardisation: 'z-score on the train split (weights stored in raw feature space)',
    optimiser: 'Newton/IRLS, full batch, backtracking line search',
    splitRule: split.rule,
    seed,
    patientColumn,
    targetSensitivity,
    thresholdChosenOn: 'tuning split',
    trainImages: counts.train.images,
    tuningImages: counts.tuning.images,
    testImages: counts.test.images,
  };
  const runId = newRunId(
    startedAt,
    JSON.stringify({
      parent: parent.manifestSha256,
      dataset: dataset.version,
      parameters,
      outVersion,
    }),
  );
  const outDir = options.outDir ?? (options.runs ? join(options.runs.dir, runId) : undefined);
  if (outDir === undefined) {
    throw new RadiolensError('E_BAD_INPUT', 'finetune needs an output folder or a runs folder');
  }
  const testDataset = `${datasetId} test split`;
  const validation: ModelManifest['validation'] = [
    aucEntry(testDataset, dataset.version, label, 'auc', test.finetuned),
    aucEntry(
      testDataset,
      dataset.version,
      label,
      `auc of parent ${manifest.id}@${manifest.version}`,
      test.parent,
    ),
    {
      dataset: testDataset,
      datasetVersion: dataset.version,
      label,
      metric: `auc difference vs parent (DeLong)`,
      value: test.comparison.difference,
      ci: {
        lower: test.comparison.ci[0],
        upper: test.comparison.ci[1],
        level: test.comparison.level,
      },
      n: parts.test.length,
    },
    {
      dataset: testDataset,
      datasetVersion: dataset.version,
      label,
      metric: 'DeLong p vs parent (two-sided)',
      value: test.comparison.p,
      n: parts.test.length,
    },
    ...proportionEntry(
      testDataset,
      dataset.version,
      label,
      'sensitivity at threshold',
      tuned.test.sensitivity,
    ),
    ...proportionEntry(
      testDataset,
      dataset.version,
      label,
      'specificity at threshold',
      tuned.test.specificity,
    ),
  ];
  const splitsJson = {
    rule: split.rule,
    seed,
    fractions,
    patientColumn,
    dataset: { id: datasetId, version: dataset.version },
    counts,
    patients: split.patients,
    images: {
      train: parts.train.map((image) => image.image),
      tuning: parts.tuning.map((image) => image.image),
      test: parts.test.map((image) => image.image),
    },
  };
  const pkg = await writeModelPackage(
    targetDir,
    {
      ...withoutFiles(manifest),
      version: outVersion,
      name: `${manifest.name}, head adapted to ${datasetId}`,
      labels: manifest.labels.map((l, i) =>
        i === labelIndex ? { ...l, threshold: tuned.threshold } : l,
      ),
      limitations: [
        ...manifest.limitations,
        `Only the linear head of ${manifest.id}@${manifest.version} was re-fitted, on ${counts.train.images} images of ${datasetId} (threshold on ${counts.tuning.images} more); the feature extractor is the parent's, and the results hold for that site's population.`,
      ],
      lineage: {
        trainingDataset: { id: datasetId, version: dataset.version, sha256: dataset.sha256 },
        recipe: FINETUNE_RECIPE,
        parameters: { ...parameters, runId },
        parent: { id: manifest.id, version: manifest.version },
      },
      validation,
    },
    {
      ...inherited,
      [MODEL_FILE]: modelBytes,
      'splits.json': `${JSON.stringify(splitsJson, null, 2)}\n`,
    },
  );

  // 6. Split CSVs for independent re-validation, a report, and the run record.
  const testLabels = join(outDir, 'test-labels.csv');
  const tuningLabels = join(outDir, 'tuning-labels.csv');
  await writeSiteLabels(testLabels, site.columns, parts.test);
  await writeSiteLabels(tuningLabels, site.columns, parts.tuning);
  const finishedAt = now();
  const metrics: Record<string, number> = {
    parent_test_auc: test.parent.auc,
    finetuned_test_auc: test.finetuned.auc,
    auc_difference: test.comparison.difference,
    delong_p: test.comparison.p,
    threshold: tuned.threshold,
    tuning_auc: head.candidates.find((c) => c.l2 === head.l2)!.tuningAuc,
    verify_max_score_difference: verification.maxScoreDifference,
  };
  if (tuned.test.sensitivity.estimate !== null)
    metrics['test_sensitivity'] = tuned.test.sensitivity.estimate;
  if (tuned.test.specificity.estimate !== null)
    metrics['test_specificity'] = tuned.test.specificity.estimate;
  const record: RunRecord = {
    schema: RUN_SCHEMA,
    id: runId,
    kind: 'finetune',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    recipe: FINETUNE_RECIPE,
    parameters: { ...parameters, labelsCsv: site.path, fractions },
    dataset: { id: datasetId, version: dataset.version },
    parentModel: { id: manifest.id, version: manifest.version },
    model: { id: manifest.id, version: outVersion },
    history: [
      ...head.candidates.map((c) => ({
        step: 'l2-grid',
        l2: c.l2,
        tuning_auc: c.tuningAuc,
        tuning_log_loss: c.tuningLogLoss,
        train_loss: c.trainLoss,
        iterations: c.iterations,
      })),
      ...head.fit.history.map((h) => ({
        step: 'newton',
        l2: head.l2,
        iteration: h.iteration,
        train_loss: h.loss,
        gradient_max: h.gradientMax,
        step_length: h.step,
      })),
    ],
    metrics,
    artefacts: { ...pkg.manifest.files, 'manifest.json': pkg.manifestSha256 },
  };
  let runPath: string | null = null;
  if (options.runs) {
    // The parent's own training run, if it shipped one, so the lineage is listed end to end.
    const parentRun = join(parent.dir, 'training-run.json');
    if (await exists(parentRun)) {
      await importPythonTrainingRun(options.runs, parentRun, {
        model: { id: manifest.id, version: manifest.version },
        now: startedAt,
      });
    }
    runPath = await options.runs.write(record);
  }
  const result: FinetuneResult = {
    parent,
    pkg,
    label,
    dataset,
    split,
    counts,
    head,
    operatingPoint: tuned,
    parentOperatingPoint,
    test,
    verification,
    files: {
      testLabels,
      tuningLabels,
      report: join(outDir, 'finetune-report.json'),
      run: runPath,
    },
    run: options.runs ? record : null,
  };
  await writeReport(result);
  return result;
}

function chooseLabel(manifest: ModelManifest, wanted: string | undefined): number {
  if (wanted === undefined) {
    if (manifest.labels.length === 1) return 0;
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${manifest.id}@${manifest.version} has ${manifest.labels.length} labels (${manifest.labels.map((l) => l.id).join(', ')}) — choose one with --label`,
    );
  }
  const index = manifest.labels.findIndex((l) => l.id === wanted);
  if (index < 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${manifest.id}@${manifest.version} has no label ${wanted} (it has ${manifest.labels.map((l) => l.id).join(', ')})`,
    );
  }
  return index;
}

function nextMinor(version: string): string {
  const [major, minor] = version.split(/[.+-]/).map(Number);
  return `${major}.${(minor ?? 0) + 1}.0`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Parent files the manifest itself refers to (e.g. the out-of-distribution statistics named
 * by a manifest field): they describe the backbone's pooled features, which the child shares,
 * so they are carried over. Files nothing refers to (the parent's training run, a model card)
 * describe the parent only and are left behind.
 */
async function inheritedFiles(parent: ModelPackage): Promise<Record<string, Uint8Array>> {
  const { files, ...rest } = parent.manifest;
  const referenced = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string' && value in files && value !== MODEL_FILE) referenced.add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(rest);
  const out: Record<string, Uint8Array> = {};
  for (const file of referenced) out[file] = await readFile(join(parent.dir, file));
  return out;
}

function withoutFiles(manifest: ModelManifest): Omit<ModelManifest, 'files'> {
  const { files: _files, ...rest } = manifest;
  return rest;
}

function countSplits(parts: Record<SplitName, SiteImage[]>): FinetuneResult['counts'] {
  const count = (images: SiteImage[]) => ({
    images: images.length,
    positives: images.filter((image) => image.truth === 1).length,
    patients: new Set(images.map((image) => image.patientId)).size,
  });
  return { train: count(parts.train), tuning: count(parts.tuning), test: count(parts.test) };
}

async function scoreAll(
  images: readonly SiteImage[],
  pkg: ModelPackage,
  stage: string,
  onProgress: FinetuneOptions['onProgress'],
): Promise<ScoredImage[]> {
  const scored = await scoreImages(
    images.map((image) => image.imagePath),
    pkg,
    { onProgress: (done, total) => onProgress?.(stage, done, total) },
  );
  const failed = scored.filter((s) => s.scores === null || s.pooledFeatures === null);
  if (failed.length > 0) {
    const listed = failed
      .slice(0, 10)
      .map((s) => `  ${s.path}: ${s.problem ?? 'no feature output'}`)
      .join('\n');
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${failed.length} of ${images.length} image(s) could not be scored with ${pkg.manifest.id}@${pkg.manifest.version}; fix or remove them from the labels file:\n${listed}`,
    );
  }
  return scored;
}

function aucEntry(
  dataset: string,
  datasetVersion: string,
  label: string,
  metric: string,
  auc: AucEstimate,
): ModelManifest['validation'][number] {
  return {
    dataset,
    datasetVersion,
    label,
    metric,
    value: auc.auc,
    ci: { lower: auc.ci[0], upper: auc.ci[1], level: auc.level },
    n: auc.positives + auc.negatives,
  };
}

function proportionEntry(
  dataset: string,
  datasetVersion: string,
  label: string,
  metric: string,
  p: OperatingPoint['sensitivity'],
): ModelManifest['validation'] {
  if (p.estimate === null) return [];
  return [
    {
      dataset,
      datasetVersion,
      label,
      metric,
      value: p.estimate,
      ci: { lower: p.ci[0], upper: p.ci[1], level: 0.95 },
      n: p.total,
    },
  ];
}

async function writeReport(result: FinetuneResult): Promise<void> {
  const report = {
    parent: `${result.parent.manifest.id}@${result.parent.manifest.version}`,
    model: `${result.pkg.manifest.id}@${result.pkg.manifest.version}`,
    modelDir: result.pkg.dir,
    label: result.label,
    dataset: result.dataset,
    splitRule: result.split.rule,
    counts: result.counts,
    head: {
      l2: result.head.l2,
      classWeights: result.head.classWeights,
      candidates: result.head.candidates,
      newtonIterations: result.head.fit.iterations,
    },
    test: result.test,
    operatingPoint: result.operatingPoint,
    parentOperatingPoint: result.parentOperatingPoint,
    verification: result.verification,
    files: result.files,
    runId: result.run?.id ?? null,
  };
  await writeFileAtomic(result.files.report, `${JSON.stringify(report, null, 2)}\n`);
}
