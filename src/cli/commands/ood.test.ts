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

test('ood evaluate measures what the flag means, and analyze quotes it on a flagged image', async () => {
  const nih = join(sharedDir, 'data', 'cxr-site-nih');
  const stats = join(work, 'ood-for-meaning.json');
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
  // 24 labelled site images that the fit never saw (rows 41-64 of the site's labels).
  const rows = (await readFile(join(nih, 'labels.csv'), 'utf8')).trim().split('\n');
  await writeFile(
    join(work, 'held-out.csv'),
    `${rows[0]}\n${rows
      .slice(41, 65)
      .map((r) => `${join(nih, r.split(',')[0]!)},${r.split(',').slice(1).join(',')}`)
      .join('\n')}\n`,
  );
  const kermany = join(sharedDir, 'data', 'cxr-train-kermany');
  const children = (await readFile(join(kermany, 'labels.csv'), 'utf8')).trim().split('\n');
  await writeFile(
    join(work, 'children.csv'),
    `image\n${children
      .slice(1, 9)
      .map((r) => join(kermany, r.split(',')[0]!))
      .join('\n')}\n`,
  );
  const report = join(work, 'ood-evaluation.json');
  const withMeaning = join(work, 'ood-with-meaning.json');
  const run = radiolens(
    'ood',
    'evaluate',
    '-m',
    'cxr-test',
    '--stats',
    stats,
    '--labels',
    `site held-out=${join(work, 'held-out.csv')}`,
    '--paediatric',
    join(work, 'children.csv'),
    '--non-chest',
    join(conformanceDir, 'pydicom-data'),
    '-o',
    report,
    '--meaning-out',
    withMeaning,
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /wrong decisions: \d+\/\d+ flagged, \d+\/\d+ unflagged/);
  const parsed = JSON.parse(await readFile(report, 'utf8')) as {
    variants: Array<{
      origin: string;
      errors: { images: number; flagged: { count: number; n: number }; unflagged: { n: number } };
      detection: Array<{ kind: string; flagged: { n: number } }>;
      notMeasured: string[];
    }>;
  };
  const given = parsed.variants.find((v) => v.origin === 'given')!;
  assert.equal(given.errors.images, 24);
  assert.equal(given.errors.flagged.n + given.errors.unflagged.n, 24);
  assert.equal(given.detection.find((d) => d.kind === 'paediatric')!.flagged.n, 8);
  assert.ok(given.detection.some((d) => d.kind === 'non-chest'));
  assert.match(given.notMeasured.join(), /lateral views/);
  assert.match(
    await readFile(report.replace(/json$/, 'html'), 'utf8'),
    /predictor of a wrong decision/,
  );

  // A package shipping these statistics, with the threshold lowered so every image is flagged
  // (a test fixture: the text, not the threshold, is under test here).
  const measured = JSON.parse(await readFile(withMeaning, 'utf8')) as {
    threshold: number;
    model: { id: string; version: string; onnxSha256: string };
    meaning: { reference: { name: string; images: number }; error: { auc: { estimate: number } } };
  };
  assert.equal(measured.meaning.reference.name, 'site held-out');
  const base = JSON.parse(
    await readFile(join(work, 'models', 'cxr-test', '1.0.0', 'manifest.json'), 'utf8'),
  ) as {
    files: Record<string, string>;
  };
  const lowered = {
    ...measured,
    threshold: 1e-6,
    model: {
      ...measured.model,
      onnxSha256: base.files['model.onnx'],
    },
  };
  await writeTestModelPackage(join(work, 'models', 'cxr-flagged', '1.0.0'), {
    id: 'cxr-flagged',
    size: 32,
    extraFiles: { 'ood.json': JSON.stringify(lowered) },
    edit: (m) => ({
      ...m,
      intendedUse: { ...m.intendedUse, allowMissing: ['ViewPosition'] },
      ood: { file: 'ood.json', method: 'mahalanobis-ledoit-wolf', threshold: 1e-6, percentile: 99 },
    }),
  });
  const dicom = join(work, 'dicom');
  const imported = radiolens('import-images', join(work, 'children.csv'), '--out', dicom);
  assert.equal(imported.status, 0, imported.stderr);
  const map = (await readFile(join(dicom, 'import-map.csv'), 'utf8')).trim().split('\n');
  const out = join(work, 'analysed');
  const analysed = radiolens(
    'analyze',
    join(dicom, map[1]!.split(',')[1]!),
    '--model',
    'cxr-flagged',
    '--out',
    out,
  );
  assert.equal(analysed.status, 0, analysed.stderr);
  const study = map[1]!.split(',')[2]!;
  const summary = JSON.parse(await readFile(join(out, study, 'analysis.json'), 'utf8')) as {
    warnings: string[];
  };
  const caveat = summary.warnings.find((w) => /out of distribution/.test(w))!;
  assert.match(caveat, /Measured on 24 held-out images \(site held-out\)/);
  assert.ok(
    caveat.includes(
      `AUC of the distance for a wrong decision ${measured.meaning.error.auc.estimate.toFixed(2)}`,
    ),
    caveat,
  );
});
