import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli, sharedDir, type CliRun } from '../../../test/support/index.js';
import type { LocalisationReport } from '../../lifecycle/localisation/index.js';

let work: string;
const nih = join(sharedDir, 'data', 'cxr-site-nih');
const lungSet = join(sharedDir, 'data', 'cxr-lung-masks');

/** The shipped registry: the numbers are the shipped model's, on real annotations. */
function radiolens(...args: string[]): CliRun {
  return runCli(args, { RADIOLENS_MODELS: join(repoRoot, 'models') });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-loc-cli-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('localisation of the shipped model on NIH pneumonia boxes and on lung masks', async () => {
  const boxes = (await readFile(join(nih, 'boxes.csv'), 'utf8')).trim().split('\n').slice(1);
  const boxed = boxes.slice(0, 4).map((row) => row.split(','));
  const labels = await readFile(join(nih, 'labels.csv'), 'utf8');
  const patientOf = (image: string): string =>
    labels
      .split('\n')
      .find((l) => l.startsWith(`${image},`))!
      .split(',')[1]!;
  // Four boxed images and one without a box; absolute paths so both CSVs resolve alike.
  const unboxed = labels
    .split('\n')
    .slice(1)
    .find((l) => !boxes.some((b) => b.startsWith(`${l.split(',')[0]},`)))!
    .split(',')[0]!;
  await writeFile(
    join(work, 'nih.csv'),
    `image,patient_id\n${[...boxed.map((b) => b[0]!), unboxed]
      .map((image) => `${join(nih, image)},${patientOf(image)}`)
      .join('\n')}\n`,
  );
  const out = join(work, 'nih');
  const run = radiolens(
    'localisation',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'nih.csv'),
    '--boxes',
    join(nih, 'boxes.csv'),
    '--finding',
    'Pneumonia',
    '--resamples',
    '200',
    // Boxes only: without this the lung fields would come from the shipped cxr-lungs.
    '--no-lungs',
    '-o',
    out,
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /4 images measured/);
  assert.match(run.stdout, /pointing-game hit rate/);
  const report = JSON.parse(
    await readFile(join(out, 'localisation.json'), 'utf8'),
  ) as LocalisationReport;
  assert.equal(report.schema, 'radiolens.localisation-report/1');
  assert.equal(report.summary.images, 4);
  assert.equal(report.unannotated, 1);
  // The summary is the per-image record counted, and the random baseline is the boxes' area.
  const hits = report.images.filter((i) => i.region!.hit).length;
  assert.equal(report.summary.pointing!.model.successes, hits);
  const boxArea =
    boxed.reduce((sum, b) => sum + (Number(b[4]) * Number(b[5])) / (512 * 512), 0) / 4;
  assert.ok(
    Math.abs(report.summary.pointing!.random.estimate - boxArea) < 0.01,
    `${report.summary.pointing!.random.estimate} vs ${boxArea}`,
  );
  for (const image of report.images) {
    assert.equal(image.width, 512);
    assert.ok(image.score > 0 && image.score < 1);
    assert.ok(image.peak !== null);
  }
  assert.equal(report.summary.energyInLungs, null);
  assert.equal(report.targets.peaksInLungs, null);
  assert.match(await readFile(join(out, 'localisation.html'), 'utf8'), /centre-weighted heatmap/);

  // The lung-mask set: a CSV with image and mask columns, first three rows.
  const rows = (await readFile(join(lungSet, 'labels.csv'), 'utf8')).trim().split('\n');
  await writeFile(
    join(work, 'lungs.csv'),
    `image,mask,patient_id\n${rows
      .slice(1, 4)
      .map((r) => r.split(','))
      .map((c) => `${join(lungSet, c[0]!)},${join(lungSet, c[1]!)},${c[3]}`)
      .join('\n')}\n`,
  );
  const lungs = radiolens(
    'localisation',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'lungs.csv'),
    '--lung-masks',
    join(work, 'lungs.csv'),
    '--resamples',
    '200',
    '-o',
    join(work, 'lungs'),
    '--json',
  );
  assert.equal(lungs.status, 0, lungs.stderr);
  const lungReport = JSON.parse(lungs.stdout) as LocalisationReport;
  assert.equal(lungReport.summary.peakInLungs!.peaks, 3);
  assert.equal(
    lungReport.summary.peakInLungs!.model.successes,
    lungReport.images.filter((i) => i.lungs!.peakInside).length,
  );
  assert.equal(lungReport.summary.pointing, null);
  assert.ok(lungReport.targets.peaksInLungs !== null);
});

test('localisation refuses what it cannot measure, with a reason', async () => {
  await writeFile(join(work, 'one.csv'), `image\n${join(nih, 'images', '00000150_002.png')}\n`);
  const nothing = radiolens(
    'localisation',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'one.csv'),
    '--no-lungs',
    '-o',
    join(work, 'x'),
  );
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /nothing to measure against/);
  // Without --no-lungs, the shipped cxr-lungs gives the lung field (ADR 0161).
  const byModel = radiolens(
    'localisation',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'one.csv'),
    '--resamples',
    '100',
    '-o',
    join(work, 'z'),
  );
  assert.equal(byModel.status, 0, byModel.stderr);
  const report = JSON.parse(
    await readFile(join(work, 'z', 'localisation.json'), 'utf8'),
  ) as LocalisationReport;
  assert.match(report.lungFields ?? '', /cxr-lungs@1\.0\.0/);
  assert.ok(report.summary.energyInLungs !== null);
  await writeFile(join(work, 'other-boxes.csv'), 'image,x,y,width,height\nelsewhere.png,1,1,5,5\n');
  const unmatched = radiolens(
    'localisation',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'one.csv'),
    '--boxes',
    join(work, 'other-boxes.csv'),
    '-o',
    join(work, 'y'),
  );
  assert.equal(unmatched.status, 2);
  assert.match(unmatched.stderr, /no image of .* has an annotated region/);
});
