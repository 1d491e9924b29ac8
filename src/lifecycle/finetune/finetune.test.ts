/**
 * End to end on real site images (NIH PNGs) and a real ONNX graph: no part mocked. A small
 * CNN test model keeps it fast; the path is the one `radiolens finetune` takes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scoreImages } from '../../inference/analysis/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { RunStore } from '../runs/index.js';
import { sharedDir, writeTestModelPackage } from '../../../test/support/index.js';
import { readValidationLabels } from '../validation/index.js';
import { readCsvFile } from '../../foundation/csv/index.js';
import { finetuneHead, type FinetuneResult } from './finetune.js';
import { headRow, readLinearHead } from './head.js';
import { logitOf } from './headFit.js';
import { sigmoid } from './logistic.js';
import { siteDatasetVersion } from './datasetVersion.js';
import { readSiteLabels } from './siteData.js';
import { formatFinetuneSummary } from './summary.js';

const nih = join(sharedDir, 'data', 'cxr-site-nih');
let work: string;
let csv: string;
let registry: ModelRegistry;
let runs: RunStore;
let result: FinetuneResult;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-finetune-e2e-'));
  // 20 pneumonia + 20 no-finding rows of the real site CSV, image paths made absolute.
  const table = readCsvFile(join(nih, 'labels.csv'));
  const pick = (label: string) => table.rows.filter((r) => r['pneumonia'] === label).slice(0, 20);
  const rows = [...pick('1'), ...pick('0')];
  const lines = [table.columns.join(',')];
  for (const row of rows) {
    lines.push(
      table.columns.map((c) => (c === 'image' ? join(nih, row['image']!) : row[c]!)).join(','),
    );
  }
  csv = join(work, 'site', 'labels.csv');
  await mkdir(join(work, 'site'), { recursive: true });
  await writeFile(csv, `${lines.join('\n')}\n`);
  registry = new ModelRegistry(join(work, 'models'));
  await writeTestModelPackage(join(registry.root, 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
    seed: 5,
    // A file the manifest refers to (as an OOD statistics file would be) and one it does not.
    edit: (m) => ({
      ...m,
      lineage: { ...m.lineage, parameters: { featureStats: 'feature-stats.json' } },
    }),
    extraFiles: {
      'feature-stats.json': '{"mean": [0]}',
      'training-run.json': JSON.stringify({
        recipe: 'training/train.py',
        parameters: { epochs: 1 },
        dataset: { path: 'tiny', version: 'sha256:00' },
        history: [{ epoch: 1, train_loss: 0.7, tune_auc: 0.6 }],
        test: { auc: 0.6 },
        artefacts: { 'model.onnx': 'a'.repeat(64) },
        seconds: 3,
      }),
    },
  });
  runs = new RunStore(join(work, 'runs'));
  result = await finetuneHead({
    registry,
    model: { id: 'cxr-test' },
    labelsCsv: csv,
    outDir: join(work, 'out'),
    runs,
    seed: 1,
    targetSensitivity: 0.9,
  });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('registers 1.1.0 whose ONNX head holds the fitted weights, and which runs as fitted', async () => {
  const pkg = await registry.resolve('cxr-test', '1.1.0');
  assert.equal(pkg.manifestSha256, result.pkg.manifestSha256);
  const row = headRow(readLinearHead(await readFile(pkg.modelPath), pkg.manifest), 0);
  assert.deepEqual(row.weights, Float32Array.from(result.head.weights));
  assert.equal(row.bias, Math.fround(result.head.bias));
  // Independently of the verification inside finetuneHead: run the new package here.
  const site = readSiteLabels(csv, { label: 'pneumonia', patientColumn: 'patient_id' });
  const paths = site.images.slice(0, 8).map((image) => image.imagePath);
  const [parentScored, childScored] = [
    await scoreImages(paths, result.parent),
    await scoreImages(paths, pkg),
  ];
  paths.forEach((_, i) => {
    const expected = sigmoid(logitOf(row.weights, row.bias, parentScored[i]!.pooledFeatures!));
    assert.ok(Math.abs(childScored[i]!.scores![0]! - expected) < 1e-5, `image ${i}`);
  });
  assert.ok(result.verification.maxScoreDifference < 1e-4);
});

test('lineage: parent, site dataset version, parameters, run id; splits.json listed', async () => {
  const { manifest } = result.pkg;
  assert.deepEqual(manifest.lineage.parent, { id: 'cxr-test', version: '1.0.0' });
  const site = readSiteLabels(csv, { label: 'pneumonia', patientColumn: 'patient_id' });
  const version = await siteDatasetVersion(site.path, site.images);
  assert.equal(manifest.lineage.trainingDataset?.version, version.version);
  assert.equal(manifest.lineage.trainingDataset?.id, 'site');
  const p = manifest.lineage.parameters!;
  assert.equal(p['seed'], 1);
  assert.equal(p['l2'], result.head.l2);
  assert.equal(p['targetSensitivity'], 0.9);
  assert.match(String(p['splitRule']), /HMAC-SHA256/);
  assert.equal(p['runId'], result.run!.id);
  assert.ok(manifest.files['splits.json']);
  assert.equal(
    manifest.files['feature-stats.json'],
    result.parent.manifest.files['feature-stats.json'],
  );
  assert.equal(
    manifest.files['training-run.json'],
    undefined,
    "the parent's training run stays with it",
  );
  const splits = JSON.parse(await readFile(join(result.pkg.dir, 'splits.json'), 'utf8')) as {
    patients: Record<string, string[]>;
  };
  const all = [
    ...splits.patients['train']!,
    ...splits.patients['tuning']!,
    ...splits.patients['test']!,
  ];
  assert.equal(new Set(all).size, all.length, 'no patient in two splits');
  assert.equal(manifest.labels[0]!.threshold, result.operatingPoint.threshold);
  const auc = manifest.validation.find((v) => v.metric === 'auc');
  assert.equal(auc?.value, result.test.finetuned.auc);
  assert.ok(auc?.ci && auc.ci.lower <= auc.value && auc.value <= auc.ci.upper);
  assert.ok(manifest.validation.some((v) => v.metric.startsWith('DeLong p')));
});

test('threshold reaches the target sensitivity on the tuning split', () => {
  const sensitivity = result.operatingPoint.tuning.sensitivity;
  assert.ok(sensitivity.estimate !== null && sensitivity.estimate >= 0.9);
  assert.equal(
    result.counts.train.images + result.counts.tuning.images + result.counts.test.images,
    40,
  );
});

test('test-labels.csv re-reads as exactly the test split', () => {
  const images = readValidationLabels(result.files.testLabels, { labels: ['pneumonia'] });
  assert.equal(images.length, result.counts.test.images);
  assert.equal(
    images.filter((i) => i.truth['pneumonia'] === 1).length,
    result.counts.test.positives,
  );
  assert.match(formatFinetuneSummary(result), /fine-tuned cxr-test@1\.1\.0 +AUC \d\.\d{3} \[/);
});

test('the run is recorded, with the parent training run imported beside it', async () => {
  const listing = await runs.list();
  assert.deepEqual(listing.runs.map((r) => r.kind).sort(), ['finetune', 'train']);
  const run = await runs.get(result.run!.id);
  assert.deepEqual(run.model, { id: 'cxr-test', version: '1.1.0' });
  assert.equal(run.artefacts['model.onnx'], result.pkg.manifest.files['model.onnx']);
  assert.ok(run.history.some((h) => h['step'] === 'newton'));
});

test('an existing version is never overwritten', async () => {
  await assert.rejects(
    finetuneHead({
      registry,
      model: { id: 'cxr-test' },
      labelsCsv: csv,
      outDir: join(work, 'out2'),
      outVersion: '1.1.0',
    }),
    /E_MODEL_VERSION_EXISTS/,
  );
});
