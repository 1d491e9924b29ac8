/**
 * Package the chest-radiograph model trained by training/train.py as the registry package
 * models/cxr-pneumonia/<version>/: model.onnx, the training run record, and a manifest whose
 * lineage points at the exact dataset version, recipe commit, parameters and splits.
 *
 * Usage: npx tsx tools/package-cxr-model.ts <train-out-dir> [--version 1.0.0] [--registry models]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeModelPackage, type ModelManifest } from '../src/inference/models/index.js';

interface TrainingRun {
  recipe: string;
  parameters: Record<string, unknown> & {
    normalisation: { mean: number; std: number };
    input_size: number;
  };
  dataset: { path: string; version: string };
  splits: Record<string, { images: number; positive: number; patients: number }>;
  split_rule: string;
  shortcut_checks: Record<string, number>;
  head: { weight_initializer: string; bias_initializer: string };
  artefacts: Record<string, string>;
}

const args = process.argv.slice(2);
const trainDir = resolve(args[0] ?? 'build/train');
const version = args.includes('--version') ? args[args.indexOf('--version') + 1]! : '1.0.0';
const registry = resolve(
  args.includes('--registry') ? args[args.indexOf('--registry') + 1]! : 'models',
);

const runText = readFileSync(join(trainDir, 'training-run.json'), 'utf8');
const run = JSON.parse(runText) as TrainingRun;
const onnx = readFileSync(join(trainDir, 'model.onnx'));
const commit = execFileSync('git', ['log', '-1', '--format=%H', '--', 'training/train.py'], {
  encoding: 'utf8',
}).trim();

const scalarParameters: Record<string, string | number | boolean> = {};
for (const [key, value] of Object.entries(run.parameters)) {
  if (['string', 'number', 'boolean'].includes(typeof value))
    scalarParameters[key] = value as string | number | boolean;
}
scalarParameters['normalisation_mean'] = run.parameters.normalisation.mean;
scalarParameters['normalisation_std'] = run.parameters.normalisation.std;
scalarParameters['split_rule'] = run.split_rule;
for (const [split, counts] of Object.entries(run.splits)) {
  scalarParameters[`split_${split}`] =
    `${counts.images} images, ${counts.patients} patients, ${counts.positive} pneumonia`;
}

const manifest: Omit<ModelManifest, 'files'> = {
  id: 'cxr-pneumonia',
  version,
  name: 'Radiolens CXR pneumonia (compact CNN)',
  task: 'classification',
  manufacturer: 'Radiolens project',
  intendedUse: {
    summary:
      'Second reader that flags pneumonia on frontal (PA/AP) chest radiographs for review by a radiologist. ' +
      'Research use; not a diagnosis. Trained on paediatric radiographs from one hospital: its performance on ' +
      "adults must be shown on the site's own data (radiolens validate) before use.",
    modalities: ['CR', 'DX'],
    bodyParts: ['CHEST'],
    viewPositions: ['PA', 'AP'],
    // Imported legacy radiographs often lack View Position; they are accepted with a warning.
    allowMissing: ['ViewPosition'],
    photometric: ['MONOCHROME1', 'MONOCHROME2'],
    minRows: 224,
    minColumns: 224,
    bitsStored: { min: 8, max: 16 },
    notFor: [
      'lateral or oblique views',
      'non-chest images and other modalities (CT, MR, US)',
      'screening decisions without a radiologist',
      'findings other than pneumonia (effusion, nodules, pneumothorax, lines and tubes)',
    ],
  },
  limitations: [
    'Trained only on paediatric (1-5 years) frontal radiographs from one hospital (Guangzhou); adults, other scanners and other populations are outside its training data.',
    'Training labels are image-level (pneumonia vs normal); the heatmap shows what drove the score, not a delineation of the consolidation.',
    'Pneumonia vs no finding only: radiographs with other abnormalities were not in the training data and may be scored unpredictably.',
  ],
  input: {
    width: run.parameters.input_size,
    height: run.parameters.input_size,
    channels: 1,
    resize: 'stretch',
    normalisation: {
      kind: 'meanStd',
      mean: [run.parameters.normalisation.mean],
      std: [run.parameters.normalisation.std],
    },
    windowing: { kind: 'voiLut' },
    inputName: 'image',
  },
  outputs: { scores: 'scores', activation: 'none', features: 'features' },
  labels: [
    {
      id: 'pneumonia',
      code: { scheme: 'SCT', value: '233604007', meaning: 'Pneumonia' },
      threshold: 0.5,
      alertLevel: 'routine',
    },
  ],
  explanation: {
    method: 'cam',
    headWeight: run.head.weight_initializer,
    headWeightLayout: 'classByChannel',
    headBias: run.head.bias_initializer,
  },
  lineage: {
    trainingDataset: { id: run.dataset.path, version: run.dataset.version },
    recipe: `${run.recipe}@${commit}`,
    parameters: scalarParameters,
  },
  validation: [],
};

const pkg = await writeModelPackage(join(registry, manifest.id, version), manifest, {
  'model.onnx': onnx,
  'training-run.json': runText,
});
console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
