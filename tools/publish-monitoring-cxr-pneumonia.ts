/**
 * Add post-market monitoring to the shipped cxr-pneumonia packages (ADRs 0035, 0087): each
 * version gets `drift-reference.json`, computed on the site test split it was validated on
 * (the split in its splits.json; 1.0.0, which has none, was validated on the same split as
 * 1.1.0/1.2.0, see evidence/1.0.0/validation-site-test-split.json), and 1.2.0, the default,
 * gets its change-control plan. The manifest's file list is re-hashed and every package is
 * verified after the write. The network, intended use, labels and thresholds are untouched, so
 * every score stays what it was; only the manifest hash that outputs name changes.
 *
 * Usage: (RADIOLENS_SHARED_DIR=<shared> when not beside the checkout) npx tsx tools/publish-monitoring-cxr-pneumonia.ts \
 *          --locked <version printed by tools/lock-site-test-dataset.ts> [--registry models] [--versions 2.1.0,…]
 * --versions: only these versions (default 1.0.0,1.1.0,1.2.0); a 2.x trained by
 * pneumonia_v2.py was validated on 1.2.0's split and gets its drift reference from it (2.1.0,
 * ADR 0166), so that a 2.x that passes the gate brings post-market monitoring with it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCsvFile } from '../src/foundation/csv/index.js';
import {
  ModelRegistry,
  loadModelPackage,
  parseManifest,
  sha256,
  type ChangeControlPlan,
} from '../src/inference/models/index.js';
import { computeDriftReference, DRIFT_REFERENCE_FILE } from '../src/lifecycle/monitoring/index.js';
import { LOCKED_DATASET_NAME, SITE_DIR } from '../test/support/siteData.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
const registryDir = resolve(option('--registry') ?? 'models');
const locked = option('--locked');
if (locked === undefined || !/^[0-9a-f]{64}$/.test(locked)) {
  throw new Error('--locked <dataset version>: run tools/lock-site-test-dataset.ts first');
}

/** PCCP-CXR-PNEUMONIA-1: what may change in a successor of 1.2.0, and what it must show. */
export const PLAN: ChangeControlPlan = {
  plan: 'PCCP-CXR-PNEUMONIA-1 (Radiolens project, for successors of cxr-pneumonia 1.2.0; a site adopts it through its AI governance committee)',
  allowedModifications: [
    {
      kind: 'operating-point',
      description:
        'moving the pneumonia operating threshold, chosen on a tuning split for a stated clinical aim',
    },
    {
      kind: 'head-refit',
      description: 're-fitting the linear head on site data (radiolens finetune)',
    },
    {
      kind: 'network-retrain',
      description:
        "retraining the network's weights on adult frontal chest radiographs, patient-level splits",
    },
    {
      kind: 'architecture',
      description:
        'another convolutional network that keeps a global-average-pooling + linear head (exact Grad-CAM) and the same label',
    },
    {
      kind: 'input-preprocessing',
      description:
        'input size, windowing, normalisation or a lung-field crop of the same frontal radiograph',
    },
    {
      kind: 'explanation',
      description: 'the explanation method, when it stays exact for the network (ADR 0033)',
    },
    {
      kind: 'ood-statistics',
      description: 're-fitting the out-of-distribution statistics and threshold',
    },
    {
      kind: 'monitoring-reference',
      description: 'recomputing the drift reference on the new version’s validation images',
    },
    {
      kind: 'intended-use-narrowing',
      description: 'narrowing the intended use (fewer modalities, views, sizes or populations)',
    },
  ],
  acceptance: {
    testDataset: { name: LOCKED_DATASET_NAME, version: locked },
    level: 0.95,
    patient: 'patient',
    minimumAnalysedFraction: 0.95,
    labels: [
      {
        label: 'pneumonia',
        truth: 'pneumonia',
        aucNonInferiorityMargin: 0.05,
        sensitivity: { minimum: 0.9, minimumLowerBound: 0.8 },
        specificity: { minimum: 0.25 },
        calibration: { maximumEce: 0.15, bins: 10 },
        subgroups: { columns: ['visit'], maxAucDrop: 0.1, minCasesPerClass: 5 },
      },
    ],
  },
};

const registry = new ModelRegistry(registryDir);
const sharedSplit = join(registryDir, 'cxr-pneumonia', '1.2.0', 'splits.json');
const versions = (option('--versions') ?? '1.0.0,1.1.0,1.2.0').split(',');
for (const version of versions) {
  const dir = join(registryDir, 'cxr-pneumonia', version);
  const own = join(dir, 'splits.json');
  const splitsFile =
    (await loadModelPackage(dir)).manifest.files['splits.json'] === undefined ? sharedSplit : own;
  const splits = JSON.parse(await readFile(splitsFile, 'utf8')) as {
    patientColumn: string;
    dataset: { id: string; version: string };
    patients: { test: string[] };
  };
  const patients = new Set(splits.patients.test);
  const work = await mkdtemp(join(tmpdir(), 'radiolens-publish-'));
  try {
    const reference = await computeDriftReference({
      registry,
      model: { id: 'cxr-pneumonia', version },
      labelsCsv: join(SITE_DIR, 'labels.csv'),
      patientColumn: splits.patientColumn,
      select: (row) => patients.has(row[splits.patientColumn] ?? ''),
      description: `cxr-site-nih test split (splits.json of cxr-pneumonia@${splitsFile === own ? version : '1.2.0'}), the split this version was validated on`,
      dataset: splits.dataset,
      workDir: work,
    });
    const referenceText = `${JSON.stringify(reference, null, 2)}\n`;
    await writeFile(join(dir, DRIFT_REFERENCE_FILE), referenceText);
    const manifest = parseManifest(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const updated = {
      ...manifest,
      lineage: {
        ...manifest.lineage,
        parameters: {
          ...manifest.lineage.parameters,
          postMarket: `drift reference (site test split)${version === '1.2.0' ? ' and change-control plan PCCP-CXR-PNEUMONIA-1' : ''} added by tools/publish-monitoring-cxr-pneumonia.ts; network, intended use, labels and thresholds unchanged`,
        },
      },
      monitoring: { reference: DRIFT_REFERENCE_FILE },
      ...(version === '1.2.0' ? { changeControl: PLAN } : {}),
      files: { ...manifest.files, [DRIFT_REFERENCE_FILE]: sha256(Buffer.from(referenceText)) },
    };
    await writeFile(
      join(dir, 'manifest.json'),
      `${JSON.stringify(parseManifest(JSON.stringify(updated)), null, 2)}\n`,
    );
    const pkg = await loadModelPackage(dir);
    const rows = readCsvFile(join(SITE_DIR, 'labels.csv')).rows.filter((row) =>
      patients.has(row[splits.patientColumn] ?? ''),
    ).length;
    process.stdout.write(
      `cxr-pneumonia@${version}: reference of ${reference.source.images}/${rows} images, manifest sha256 ${pkg.manifestSha256}\n`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
