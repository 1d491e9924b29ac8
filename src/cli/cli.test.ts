import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir, repoRoot, runCli, type CliRun } from '../../test/support/index.js';
import { writeTestModelPackage } from '../../test/support/onnxModels.js';
import type { TaggedDataset } from '../foundation/dicom/index.js';
import { readTaggedFile, writeTaggedFile } from '../lifecycle/deid/dicomIo.js';

function radiolens(...args: string[]): CliRun {
  return runCli(args, { RADIOLENS_MODELS: registry });
}

let work: string;
let registry: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-cli-'));
  registry = join(work, 'models');
  await writeTestModelPackage(join(registry, 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
    size: 32,
    edit: (m) => ({ ...m, intendedUse: { ...m.intendedUse, allowMissing: ['ViewPosition'] } }),
  });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('--help works for the program and every command', () => {
  const top = radiolens('--help');
  assert.equal(top.status, 0);
  for (const command of ['analyze', 'import-images', 'models', 'demo', 'validate', 'stats']) {
    assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
    const help = radiolens(command, '--help');
    assert.equal(help.status, 0, `${command} --help`);
    assert.match(help.stdout, /Usage: radiolens/);
  }
});

test('import-images then analyze: exit 0, outputs per study, human summary on stdout', async () => {
  const dicom = join(work, 'dicom');
  const imported = radiolens('import-images', join(repoRoot, 'samples', 'cxr'), '--out', dicom);
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stdout, /4 image\(s\) imported/);
  const out = join(work, 'out');
  const files = (await readdir(dicom))
    .filter((name) => name.endsWith('.dcm'))
    .map((name) => join(dicom, name));
  const run = radiolens('analyze', ...files, '--out', out);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /model +cxr-test@1\.0\.0/);
  assert.match(run.stdout, /Pneumonia p=0\.\d{3} \(threshold 0\.500\)/);
  assert.match(run.stdout, /second reader/);
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as {
    imagesAnalysed: number;
  };
  assert.equal(summary.imagesAnalysed, 4);
  const studies = (await readdir(out)).filter((name) => name.startsWith('2.25.'));
  assert.equal(studies.length, 4);
  // No temporary files left behind by the atomic writes.
  const everything = (await readdir(out, { recursive: true })).map(String);
  assert.equal(everything.filter((name) => name.includes('.tmp-')).length, 0);
});

test('analyze exits 1 and names the reason when a file is bad or out of intended use', () => {
  const ct = join(
    conformanceDir,
    'cornerstone3D',
    'CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm',
  );
  const run = radiolens(
    'analyze',
    ct,
    join(repoRoot, 'package.json'),
    '--model',
    'cxr-test',
    '--out',
    join(work, 'out-bad'),
  );
  assert.equal(run.status, 1);
  assert.match(run.stdout, /not analysed: image .*modality CT is not in the model's intended use/);
  assert.match(run.stdout, /skipped .*package\.json: E_/);
});

test('models list and show read the registry and verify the package', () => {
  const list = radiolens('models', 'list');
  assert.equal(list.status, 0);
  assert.match(list.stdout, /cxr-test@1\.0\.0/);
  const show = radiolens('models', 'show', 'cxr-test@1.0.0');
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /sha256 verified/);
  assert.match(show.stdout, /pneumonia +SCT 233604007 "Pneumonia"/);
  assert.match(show.stdout, /^ood +— \(no out-of-distribution statistics/m);
  // A shipped package with statistics says what they were fitted on and whether the flag's
  // meaning was measured (ADR 0086).
  const shipped = runCli(['models', 'show', 'cxr-pneumonia@2.0.3'], {
    RADIOLENS_MODELS: join(repoRoot, 'models'),
  });
  assert.equal(shipped.status, 0, shipped.stderr);
  assert.match(
    shipped.stdout,
    /^ood +ood\.json: fitted on 456 images, threshold 10\.838 \(p99, out-of-fold\); what the flag means was measured .* on 116 held-out images/m,
  );
  const missing = radiolens('models', 'show', 'nope');
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /E_MODEL_NOT_FOUND/);
});

test('usage errors exit 2 with a message', () => {
  const run = radiolens('analyze', join(work, 'does-not-exist'), '--out', join(work, 'x'));
  assert.equal(run.status, 2);
  assert.match(run.stderr, /E_IO: cannot read .*does-not-exist/);
});

test('validate scores labelled PNGs and writes report.html and report.json with every score', async () => {
  const site = join(conformanceDir, '..', 'cxr-site-nih');
  const rows = (await readFile(join(site, 'labels.csv'), 'utf8')).trim().split('\n');
  // 20 positives and 20 negatives: enough for an AUC with a CI, quick on a test model.
  const header = rows[0]!;
  const positives = rows
    .slice(1)
    .filter((row) => row.split(',')[3] === '1')
    .slice(0, 20);
  const negatives = rows
    .slice(1)
    .filter((row) => row.split(',')[3] === '0')
    .slice(0, 20);
  const csv = join(work, 'labels.csv');
  const body = [...positives, ...negatives].map((row) =>
    row.replace(/^images\//, `${join(site, 'images')}/`),
  );
  await writeFile(csv, `${header}\n${body.join('\n')}\n`);
  const out = join(work, 'validation');
  const run = radiolens('validate', '--model', 'cxr-test', '--labels', csv, '--out', out);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /pneumonia: AUC 0\.\d{3} \(95% CI 0\.\d{3}-[01]\.\d{3}\) on 40 images/);
  // The site CSV names each image's patient: intervals that respect clustering come too.
  assert.match(run.stdout, /clustered by patient_id \(\d+\): AUC 95% CI .*\(Obuchowski\)/);
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as {
    cases: Array<{ cluster?: string }>;
    labels: Array<{ clustered?: { unit: string; auc: { clusters: number } } }>;
  };
  const perImage = report.cases;
  assert.equal(perImage.length, 40, 'report.json keeps every image score');
  assert.ok(perImage.every((c) => typeof c.cluster === 'string'));
  const patients = new Set(perImage.map((c) => c.cluster)).size;
  assert.equal(report.labels[0]!.clustered!.unit, 'patient_id');
  assert.equal(report.labels[0]!.clustered!.auc.clusters, patients);
  const html = await readFile(join(out, 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /Clustered by patient_id/);

  const independent = radiolens(
    'validate',
    '--model',
    'cxr-test',
    '--labels',
    csv,
    '--out',
    join(work, 'validation-images'),
    '--no-patient-column',
  );
  assert.equal(independent.status, 0, independent.stderr);
  assert.doesNotMatch(independent.stdout, /clustered/);
});

test('the README quick start: demo imports the shipped samples and analyses them with the shipped model', async () => {
  const out = join(work, 'demo');
  const run = runCli(['demo', '--out', out], { RADIOLENS_MODELS: '' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /model +cxr-pneumonia@1\.\d+\.\d+/);
  assert.match(run.stdout, /4 file\(s\), 4 study\(ies\), 4 image\(s\) analysed, 0 problem\(s\)/);
  assert.match(run.stdout, /Where to look/);
  const results = (await readdir(join(out, 'results'), { recursive: true })).map(String);
  assert.equal(results.filter((name) => /SR_.*\.dcm$/.test(name)).length, 4);
  assert.equal(results.filter((name) => /SC_.*\.dcm$/.test(name)).length, 4);
  assert.equal(results.filter((name) => /PM_.*\.dcm$/.test(name)).length, 4);
});

test('analyze: a ".." UID, an empty SOP Instance UID or a 70,000-character name fails that file only; nothing is written outside --out', async () => {
  const dicom = join(work, 'hostile-in');
  const imported = radiolens('import-images', join(repoRoot, 'samples', 'cxr'), '--out', dicom);
  assert.equal(imported.status, 0, imported.stderr);
  const [good, ...others] = (await readdir(dicom)).filter((n) => n.endsWith('.dcm')).sort();
  const source = await readFile(join(dicom, others[0]!));
  const variant = async (name: string, edit: (dict: TaggedDataset) => void): Promise<string> => {
    const file = readTaggedFile(source, name);
    edit(file.dict);
    const path = join(work, 'hostile-in', name);
    await writeFile(path, writeTaggedFile(file));
    return path;
  };
  const files = [
    join(dicom, good!),
    await variant('dotdot.dcm', (d) => (d['0020000D'] = { vr: 'UI', Value: ['..'] })),
    await variant('dotdot2.dcm', (d) => (d['0020000D'] = { vr: 'UI', Value: ['../..'] })),
    await variant('nosop.dcm', (d) => (d['00080018'] = { vr: 'UI', Value: [''] })),
    await variant(
      'longname.dcm',
      (d) => (d['00100010'] = { vr: 'PN', Value: ['A'.repeat(70_000)] }),
    ),
  ];
  const outParent = join(work, 'hostile-run');
  const out = join(outParent, 'out');
  const run = radiolens('analyze', ...files, '--out', out);
  // Partial problems: exit 1 (the CLI's convention), a summary, and every bad file named.
  assert.equal(run.status, 1, run.stdout + run.stderr);
  for (const name of ['dotdot.dcm', 'dotdot2.dcm', 'nosop.dcm']) {
    assert.match(run.stdout, new RegExp(`${name}: E_BAD_INPUT`), name);
  }
  assert.match(run.stdout, /1 image\(s\) analysed, 4 problem\(s\)/);
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as {
    imagesAnalysed: number;
  };
  assert.ok(summary.imagesAnalysed >= 1, 'the good file was analysed');
  // Nothing escaped --out: no analysis.json beside it or above it.
  assert.deepEqual((await readdir(outParent)).sort(), ['out']);
  assert.deepEqual(
    (await readdir(work)).filter((n) => n === 'analysis.json'),
    [],
  );
});
