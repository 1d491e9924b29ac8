/**
 * How still a lung field holds when an image is cropped 2% tighter (ADR 0162, 0165), through
 * the TypeScript pipeline: for each image of a labels CSV, the lung field of the whole image
 * and of the image with floor(2% of its width / height) cut off each side (as the robustness
 * report's crop), with and without an edge guard. Prints, per setting: plausible fields, those
 * whose grid box reaches within two cells of the image's edge, verdicts changed by the crop,
 * and how far the classifier's crop box moves — the largest move of one of its sides (the
 * cropped image's box mapped back by the cut) over the whole image's box width (left, right)
 * or height (top, bottom), for images plausible both ways.
 *
 * Usage: npx tsx tools/lung-field-stability.ts <lung model dir> <labels.csv> [inset ...] [--json out.json]
 *   e.g. npx tsx tools/lung-field-stability.ts models/cxr-lungs/1.0.0 ../shared/data/cxr-site-nih/labels.csv 0.04
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readImageRows } from '../src/cli/labelledImages.js';
import { readGreyImage } from '../src/inference/imaging/index.js';
import { cropGrey, LungSegmenter, type LungField } from '../src/inference/lungField/index.js';
import { loadModelPackage } from '../src/inference/models/index.js';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const [lungDir, labels, ...insetArgs] = jsonAt >= 0 ? args.slice(0, jsonAt) : args;
if (lungDir === undefined || labels === undefined) {
  console.error(
    'usage: lung-field-stability.ts <lung model dir> <labels.csv> [inset ...] [--json out.json]',
  );
  process.exit(2);
}
const settings: Array<number | undefined> = [undefined, ...insetArgs.map(Number)];
const EDGE_CELLS = 2;
const MOVED = 0.05;

// The labels CSV read as every measuring command reads it (quoting, BOM, the image column).
const { table, imageRow } = readImageRows(labels, false);
const images = table.rows.map(imageRow);
const lungPkg = await loadModelPackage(resolve(lungDir));
// A DICOM input is windowed as the lung model's manifest says, as in the pipeline.
const windowing = lungPkg.manifest.input.windowing;
const segmenter = await LungSegmenter.open(lungPkg);
const tallies = settings.map(() => ({
  plausible: 0,
  reachingEdge: 0,
  changed: 0,
  shifts: [] as number[],
}));
try {
  for (const { path } of images) {
    const { grey } = await readGreyImage(path, {
      ...(windowing === undefined ? {} : { windowing }),
    });
    const dx = Math.floor(0.02 * grey.width);
    const dy = Math.floor(0.02 * grey.height);
    const cut = cropGrey(grey, {
      left: dx,
      top: dy,
      right: grey.width - dx,
      bottom: grey.height - dy,
    });
    for (const [k, inset] of settings.entries()) {
      const [whole, cropped] = await segmenter.segment([grey, cut], { edgeGuardInset: inset });
      const tally = tallies[k]!;
      const a = whole!.field;
      const b = cropped!.field;
      if (a.plausible !== b.plausible) tally.changed += 1;
      if (!a.plausible) continue;
      tally.plausible += 1;
      const [x0, y0, x1, y1] = a.box256!;
      if (Math.min(x0, y0, 255 - x1, 255 - y1) <= EDGE_CELLS) tally.reachingEdge += 1;
      if (b.plausible) tally.shifts.push(boxShift(a, b, dx, dy));
    }
  }
} finally {
  await segmenter.dispose();
}

const rows = settings.map((inset, k) => {
  const t = tallies[k]!;
  const sorted = [...t.shifts].sort((p, q) => p - q);
  return {
    edgeGuardInset: inset ?? null,
    images: images.length,
    plausible: t.plausible,
    reachingEdge: t.reachingEdge,
    verdictChangedByCrop: t.changed,
    boxShift: {
      n: sorted.length,
      mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
      median: sorted[Math.floor(sorted.length / 2)]!,
      p90: sorted[Math.floor(0.9 * (sorted.length - 1))]!,
      movedOver5Percent: sorted.filter((v) => v > MOVED).length,
    },
  };
});
console.log(
  '| edge guard | images | plausible | reaching the edge | verdict changed by the crop | box shift mean | median | 90th pct | moved > 5% |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const s = r.boxShift;
  console.log(
    `| ${r.edgeGuardInset ?? 'none'} | ${r.images} | ${r.plausible} | ${r.reachingEdge} | ${r.verdictChangedByCrop} | ${s.mean.toFixed(4)} | ${s.median.toFixed(4)} | ${s.p90.toFixed(4)} | ${s.movedOver5Percent} of ${s.n} |`,
  );
}
if (jsonOut !== undefined)
  writeFileSync(jsonOut, `${JSON.stringify({ lungModel: lungDir, labels, rows }, null, 1)}\n`);

/** The largest move of a crop-box side under the cut, over the whole image's box size. */
function boxShift(whole: LungField, cropped: LungField, dx: number, dy: number): number {
  const a = whole.box!;
  const b = cropped.box!;
  const w = a.right - a.left;
  const h = a.bottom - a.top;
  return Math.max(
    Math.abs(b.left + dx - a.left) / w,
    Math.abs(b.right + dx - a.right) / w,
    Math.abs(b.top + dy - a.top) / h,
    Math.abs(b.bottom + dy - a.bottom) / h,
  );
}
