import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  conformanceDir,
  sharedDir,
  writeTestModelPackage,
  runCli,
  type CliRun,
} from '../../../test/support/index.js';

let work: string;

function radiolens(...args: string[]): CliRun {
  return runCli(args, { RADIOLENS_MODELS: join(work, 'models') });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-ood-cli-'));
  await writeTestModelPackage(join(work, 'models', 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    size: 32,
  });
  // 40 site radiographs as the fit set (the CSV lists them relative to itself).
  const nih = join(sharedDir, 'data', 'cxr-site-nih');
  const rows = (await readFile(join(nih, 'labels.csv'), 'utf8')).trim().split('\n').slice(1, 41);
  await writeFile(
    join(work, 'fit.csv'),
    `image,patient_id\n${rows.map((r) => `${join(nih, r.split(',')[0]!)},${r.split(',')[1]}`).join('\n')}\n`,
  );
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('ood fit writes statistics; ood check flags a CT slice and passes a fitted radiograph', () => {
  const stats = join(work, 'ood.json');
  const fit = radiolens(
    'ood',
    'fit',
    '-m',
    'cxr-test',
    '--images',
    join(work, 'fit.csv'),
    '--out',
    stats,
    '--folds',
    '4',
  );
  assert.equal(fit.status, 0, fit.stderr);
  assert.match(
    fit.stdout,
    /fitted on 40 images \(8 features, shrinkage \d\.\d{3}\); threshold [\d.]+ = out-of-fold p99/,
  );

  const ct = join(conformanceDir, 'cornerstone3D', 'CTImage.dcm');
  const chest = join(sharedDir, 'data', 'cxr-site-nih', 'images', '00000061_012.png');
  const check = radiolens('ood', 'check', '-m', 'cxr-test', '--stats', stats, '--json', ct, chest);
  assert.equal(check.status, 1, 'exit 1 when any image is flagged');
  const results = JSON.parse(check.stdout) as Array<{
    path: string;
    flagged: boolean;
    distance: number;
  }>;
  assert.equal(results[0]!.flagged, true);
  assert.equal(results[1]!.flagged, false);

  const human = radiolens('ood', 'check', '-m', 'cxr-test', '--stats', stats, chest);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^ok {2}distance [\d.]+ \(threshold [\d.]+\)/);
});

test('ood check without statistics says how to get them', () => {
  const run = radiolens(
    'ood',
    'check',
    '-m',
    'cxr-test',
    join(sharedDir, 'data', 'cxr-site-nih', 'images', '00000061_012.png'),
  );
  assert.equal(run.status, 2);
  assert.match(
    run.stderr,
    /ships no OOD statistics — pass --stats <file> from `radiolens ood fit`/,
  );
});
