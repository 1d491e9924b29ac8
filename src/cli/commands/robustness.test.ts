import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli, sharedDir, type CliRun } from '../../../test/support/index.js';
import type { RobustnessReport } from '../../lifecycle/robustness/index.js';

let work: string;
const nih = join(sharedDir, 'data', 'cxr-site-nih');

function radiolens(...args: string[]): CliRun {
  return runCli(args, { RADIOLENS_MODELS: join(repoRoot, 'models') });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-rob-cli-'));
  // Three images of the shipped model's site test split, with the site's own labels file
  // layout (image relative to the CSV): a copy of labels.csv's rows beside the images.
  const rows = (await readFile(join(nih, 'labels.csv'), 'utf8')).trim().split('\n');
  const splits = JSON.parse(
    await readFile(join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'splits.json'), 'utf8'),
  ) as { images: { test: string[] } };
  const wanted = new Set(splits.images.test.slice(0, 3));
  await writeFile(
    join(work, 'labels.csv'),
    `${rows[0]}\n${rows
      .slice(1)
      .filter((r) => wanted.has(r.split(',')[0]!))
      .map((r) => `${join(nih, r.split(',')[0]!)},${r.split(',').slice(1).join(',')}`)
      .join('\n')}\n`,
  );
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('robustness of the shipped model: every perturbation scored, the report adds up', async () => {
  const out = join(work, 'out');
  const run = radiolens(
    'robustness',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'labels.csv'),
    '--resamples',
    '200',
    '-o',
    out,
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /12-bit storage without a VOI window/);
  const report = JSON.parse(
    await readFile(join(out, 'robustness.json'), 'utf8'),
  ) as RobustnessReport;
  assert.equal(report.schema, 'radiolens.robustness-report/1');
  assert.equal(report.images.length, 3);
  assert.equal(report.settings.clusteredBy, 'patient_id');
  assert.match(report.defaultWindow, /percentile.*as the package declares/);
  for (const p of report.perturbations) {
    const flips = report.images.filter(
      (i) => i.scores[p.changed] >= report.threshold !== i.scores[p.reference] >= report.threshold,
    ).length;
    assert.equal(p.flips.count, flips, p.name);
  }
  const check = report.perturbations.find((p) => p.id === 'dicomPath')!;
  assert.equal(check.meanAbsoluteChange.estimate, 0, 'the 8-bit DICOM must score as the PNG');
  assert.match(await readFile(join(out, 'robustness.html'), 'utf8'), /JPEG quality 85/);

  const whatIf = radiolens(
    'robustness',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'labels.csv'),
    '--default-window',
    'storedRange',
    '--resamples',
    '200',
    '-o',
    join(work, 'what-if'),
    '--json',
  );
  assert.equal(whatIf.status, 0, whatIf.stderr);
  const stored = JSON.parse(whatIf.stdout) as RobustnessReport;
  assert.match(stored.defaultWindow, /NOT what the package declares/);
  const noWindow = stored.perturbations.find((p) => p.id === 'dicom12NoWindow')!;
  // The 12-bit samples are the 8-bit ones scaled to the stored range: read over that range
  // they are the original again, up to the rounding to 12 bits.
  assert.ok(
    noWindow.meanAbsoluteChange.estimate < 0.005,
    `${noWindow.meanAbsoluteChange.estimate}`,
  );

  const bad = radiolens(
    'robustness',
    '-m',
    'cxr-pneumonia@1.2.0',
    '--labels',
    join(work, 'labels.csv'),
    '--default-window',
    'brightest',
    '-o',
    join(work, 'bad'),
  );
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /use percentile, minMax or storedRange/);
});
