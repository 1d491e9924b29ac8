/**
 * Which images of a labels CSV a lung-field classifier refuses (no plausible pair of lungs,
 * LUNG_FIELD.md step 4), found by the TypeScript pipeline itself: the model's own lung package
 * and edge guard, the same image loading as validate. tools/measure-cxr-pneumonia-2.sh leaves
 * them out of validate (which never drops an image silently) for a version whose lung field
 * differs from its training record's — e.g. 2.0.2, whose edge guard (ADR 0165) the recipe did
 * not have. Writes `{"lung_fields": {"site_implausible_images": [...]}}`, the shape of the
 * recipe record's list, with each refused image's reason codes beside it.
 *
 * Usage: npx tsx tools/lung-field-refusals.ts <model dir> <labels.csv> <out.json>
 *   image paths in the CSV's `image` column are relative to the CSV's folder
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readImageRows } from '../src/cli/labelledImages.js';
import { readGreyImage } from '../src/inference/imaging/index.js';
import {
  classifierInput,
  regionPackageOf,
  LungSegmenter,
} from '../src/inference/lungField/index.js';
import { loadModelPackage } from '../src/inference/models/index.js';

const [modelDir, labels, out] = process.argv.slice(2);
if (modelDir === undefined || labels === undefined || out === undefined) {
  console.error('usage: lung-field-refusals.ts <model dir> <labels.csv> <out.json>');
  process.exit(2);
}
const pkg = await loadModelPackage(resolve(modelDir));
const lungs = await regionPackageOf(pkg);
if (lungs === null) {
  console.error(
    `${pkg.manifest.id}@${pkg.manifest.version} sees the whole image: nothing is refused by a lung field`,
  );
  process.exit(2);
}
// The labels CSV read as every measuring command reads it (quoting, BOM, the image column).
const { table, imageRow } = readImageRows(labels, false);
const rows = table.rows.map(imageRow);
const segmenter = await LungSegmenter.open(lungs);
const refused: string[] = [];
const reasons: Record<string, string[]> = {};
try {
  for (const { image, path } of rows) {
    const { grey } = await readGreyImage(path, {
      ...(pkg.manifest.input.windowing === undefined
        ? {}
        : { windowing: pkg.manifest.input.windowing }),
    });
    const input = await classifierInput(pkg, grey, segmenter);
    if (input.kind === 'refused') {
      refused.push(image);
      reasons[image] = input.codes;
    }
  }
} finally {
  await segmenter.dispose();
}
writeFileSync(
  out,
  `${JSON.stringify({ model: `${pkg.manifest.id}@${pkg.manifest.version}`, images: rows.length, lung_fields: { site_implausible_images: refused, reasons } }, null, 1)}\n`,
);
console.log(
  `${refused.length} of ${rows.length} images refused by the lung field: ${refused.join(' ')}`,
);
