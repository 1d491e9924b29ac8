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
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

const [header, ...lines] = readFileSync(labels, 'utf8').trim().split(/\r?\n/);
const column = header!.split(',').indexOf('image');
const segmenter = await LungSegmenter.open(await loadModelPackage(resolve(lungDir)));
const tallies = settings.map(() => ({
  plausible: 0,
  reachingEdge: 0,
  changed: 0,
  shifts: [] as number[],
}));
try {
  for (const line of lines) {
    const image = line.split(',')[column]!;
    const { grey } = await readGreyImage(join(dirname(resolve(labels)), image));
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
    images: lines.length,
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
