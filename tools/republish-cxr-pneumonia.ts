/**
 * Publish cxr-pneumonia 1.2.0: the same weights as 1.1.0 (model.onnx and splits.json copied
 * byte for byte) with (a) an intended use that says what the evidence showed — the site-adapted
 * head fails on children (paediatric internal test AUC 0.110, models/cxr-pneumonia/evidence) —
 * and (b) the out-of-distribution statistics shipped in the package (ADR 0080), so analyze
 * flags images unlike its frontal chest radiographs. A released version is never edited in
 * place; corrections are a new version whose lineage names the old one.
 *
 * Usage: npx tsx tools/republish-cxr-pneumonia.ts <ood.json> [--registry models]
 *   ood.json: radiolens ood fit -m cxr-pneumonia@1.1.0 --images <training-seen.csv> <site tuning csv> --out ood.json
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  loadModelPackage,
  writeModelPackage,
  type ModelManifest,
} from '../src/inference/models/index.js';

const args = process.argv.slice(2);
const oodPath = resolve(args[0] ?? 'ood.json');
const registry = resolve(
  args.includes('--registry') ? args[args.indexOf('--registry') + 1]! : 'models',
);
const from = await loadModelPackage(join(registry, 'cxr-pneumonia', '1.1.0'));
const oodText = readFileSync(oodPath, 'utf8');
const ood = JSON.parse(oodText) as { threshold: number; percentile: number };

const { files: _files, ...previous } = from.manifest;
const manifest: Omit<ModelManifest, 'files'> = {
  ...previous,
  version: '1.2.0',
  intendedUse: {
    ...previous.intendedUse,
    summary:
      'Second reader that flags pneumonia on frontal (PA/AP) chest radiographs of ADULTS for review by a radiologist. ' +
      'Research use; not a diagnosis. Convolutional features trained on paediatric radiographs (Kermany); ' +
      'the linear head re-fitted on adult site data (NIH ChestX-ray8) with radiolens finetune. ' +
      'Confirm its performance on your own site with radiolens validate before use.',
    notFor: [
      'children: the site-adapted head scores paediatric radiographs almost in reverse (paediatric internal test AUC 0.110, see MODEL_CARD.md)',
      ...previous.intendedUse.notFor,
    ],
  },
  limitations: [
    ...previous.limitations,
    'Images far from the chest radiographs it was fitted on are flagged (out-of-distribution check), not refused: the flag is shown with the finding.',
  ],
  lineage: {
    ...previous.lineage,
    parameters: {
      ...previous.lineage.parameters,
      republishedFrom:
        '1.1.0: same model.onnx and splits.json; intended use corrected, OOD statistics added',
    },
    parent: { id: 'cxr-pneumonia', version: '1.1.0' },
  },
  ood: {
    file: 'ood.json',
    method: 'mahalanobis-ledoit-wolf',
    threshold: ood.threshold,
    percentile: ood.percentile,
  },
};

const pkg = await writeModelPackage(join(registry, 'cxr-pneumonia', '1.2.0'), manifest, {
  'model.onnx': readFileSync(join(from.dir, 'model.onnx')),
  'splits.json': readFileSync(join(from.dir, 'splits.json')),
  'ood.json': oodText,
});
console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
