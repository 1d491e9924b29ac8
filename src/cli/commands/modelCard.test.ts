import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
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
  work = await mkdtemp(join(tmpdir(), 'radiolens-card-cli-'));
  await writeTestModelPackage(join(work, 'models', 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    size: 32,
  });
  const nih = join(sharedDir, 'data', 'cxr-site-nih');
  const rows = (await readFile(join(nih, 'labels.csv'), 'utf8')).trim().split('\n').slice(1);
  const pick = [
    ...rows.filter((r) => r.split(',')[3] === '1').slice(0, 12),
    ...rows.filter((r) => r.split(',')[3] === '0').slice(0, 12),
  ];
  await writeFile(
    join(work, 'site.csv'),
    `image,pneumonia\n${pick.map((r) => `${join(nih, r.split(',')[0]!)},${r.split(',')[3]}`).join('\n')}\n`,
  );
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test("faithfulness → JSON report; validate + faithfulness → model card whose numbers are the reports'", async () => {
  const faithful = join(work, 'faithfulness.json');
  const f = radiolens(
    'faithfulness',
    '-m',
    'cxr-test',
    '--labels',
    join(work, 'site.csv'),
    '--limit',
    '2',
    '--random-orders',
    '1',
    '--step',
    '0.1',
    '--out',
    faithful,
    '--json',
  );
  assert.equal(f.status, 0, f.stderr);
  const report = JSON.parse(f.stdout) as {
    summary: { images: number; gradCam: { deletion: { mean: number } } };
  };
  assert.equal(report.summary.images, 2);
  assert.deepEqual(JSON.parse(await readFile(faithful, 'utf8')), report);

  const v = radiolens(
    'validate',
    '-m',
    'cxr-test',
    '--labels',
    join(work, 'site.csv'),
    '--out',
    join(work, 'val'),
  );
  assert.equal(v.status, 0, v.stderr);
  const validation = JSON.parse(await readFile(join(work, 'val', 'report.json'), 'utf8')) as {
    labels: Array<{ auc: { estimate: number } }>;
  };

  const card = join(work, 'MODEL_CARD.md');
  const c = radiolens(
    'model-card',
    '-m',
    'cxr-test',
    '--validation',
    `site=${join(work, 'val', 'report.json')}`,
    '--faithfulness',
    `site positives=${faithful}`,
    '--out',
    card,
    '--json-out',
    join(work, 'card.json'),
  );
  assert.equal(c.status, 0, c.stderr);
  const markdown = await readFile(card, 'utf8');
  assert.match(markdown, /^# Model card: /);
  assert.ok(
    markdown.includes(
      `| site | pneumonia | 24 (12/12) | ${validation.labels[0]!.auc.estimate.toFixed(3)} (`,
    ),
  );
  assert.ok(
    markdown.includes(
      `| site positives | \`cxr-test@1.0.0\` | 2 | ${report.summary.gradCam.deletion.mean.toFixed(3)} (`,
    ),
  );
  const entries = JSON.parse(await readFile(join(work, 'card.json'), 'utf8')) as Array<{
    metric: string;
  }>;
  assert.ok(
    entries.some((e) => e.metric === 'auc') &&
      entries.some((e) => e.metric === 'gradcam-deletion-auc'),
  );
});

test('model-card names the missing evidence file and the command that makes it', () => {
  const c = radiolens(
    'model-card',
    '-m',
    'cxr-test',
    '--ood',
    join(work, 'nope.json'),
    '--out',
    join(work, 'x.md'),
  );
  assert.equal(c.status, 2);
  assert.match(c.stderr, /cannot read .*nope\.json — produce it with `radiolens ood evaluate`/);
});

test("--no-training-run: a package whose record is not train.py's still gets a card from its reports", async () => {
  // cxr-pneumonia 2.x keeps pneumonia_v2.py's record in the package; model-card cannot read it.
  await writeTestModelPackage(join(work, 'models', 'cxr-v2', '1.0.0'), {
    id: 'cxr-v2',
    size: 32,
    extraFiles: { 'training-run.json': '{"recipe": "training/pneumonia_v2.py", "evaluation": {}}' },
  });
  const refused = radiolens('model-card', '-m', 'cxr-v2', '--out', join(work, 'v2.md'));
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /is not a training run record/);

  const c = radiolens(
    'model-card',
    '-m',
    'cxr-v2',
    '--no-training-run',
    '--out',
    join(work, 'v2.md'),
  );
  assert.equal(c.status, 0, c.stderr);
  const markdown = await readFile(join(work, 'v2.md'), 'utf8');
  assert.match(markdown, /^# Model card: /);
  assert.doesNotMatch(markdown, /## Training data and its limits|training run record/);
});

test('training-split writes the internal test split and the rest from a training run', async () => {
  const kermany = join(sharedDir, 'data', 'cxr-train-kermany', 'labels.csv');
  const first = (await readFile(kermany, 'utf8')).split('\n')[1]!.split(',')[0]!;
  const runFile = join(work, 'training-run.json');
  const run = {
    recipe: 'r',
    parameters: { epochs: 1, seed: 1 },
    dataset: { path: 'k', version: 'v' },
    splits: Object.fromEntries(
      ['train', 'tune', 'test'].map((s) => [s, { images: 1, positive: 0, patients: 1 }]),
    ),
    split_rule: 'x',
    test_images: [first],
    history: [],
    test: { auc: 0.5 },
    shortcut_checks: {},
  };
  await writeFile(runFile, JSON.stringify(run));
  const s = radiolens(
    'training-split',
    '-m',
    'cxr-test',
    '--labels',
    kermany,
    '--training-run',
    runFile,
    '--out',
    join(work, 'split'),
  );
  assert.equal(s.status, 0, s.stderr);
  const test = (await readFile(join(work, 'split', 'training-test.csv'), 'utf8'))
    .trim()
    .split('\n');
  assert.equal(test.length, 2);
  assert.ok(test[1]!.includes(first.replace('images/', '')));
  const seen = (await readFile(join(work, 'split', 'training-seen.csv'), 'utf8'))
    .trim()
    .split('\n');
  assert.equal(seen.length, 2682);
  await writeFile(runFile, JSON.stringify({ ...run, test_images: ['images/not-there.jpg'] }));
  const bad = radiolens(
    'training-split',
    '-m',
    'cxr-test',
    '--labels',
    kermany,
    '--training-run',
    runFile,
    '--out',
    join(work, 'split2'),
  );
  assert.match(
    bad.stderr,
    /1 test image\(s\) of the training run are not in .* is this the dataset the model was trained on\?/,
  );
});
