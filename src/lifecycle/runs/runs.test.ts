import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../test/support/index.js';
import { RUN_SCHEMA, type RunRecord } from './record.js';
import { defaultRunsFolder, newRunId, RunStore } from './store.js';
import { importPythonTrainingRun, readPythonTrainingRun } from './importTraining.js';
import { formatRunDetails, formatRunTable } from './format.js';
import { cliMain, scriptExecArgv } from '../../../test/support/index.js';

let work: string;

const trainingRun = {
  recipe: 'training/train.py',
  parameters: { epochs: 2, lr: 0.002, seed: 7, normalisation: { mean: 0.5, std: 0.25 } },
  dataset: { path: '../shared/data/cxr-train-kermany', version: 'sha256:7b6f' },
  splits: { train: { images: 10 } },
  split_rule: 'sha256("7:" + patient_id) mod 100',
  history: [
    { epoch: 1, train_loss: 0.6, tune_loss: 0.5, tune_auc: 0.9, seconds: 10 },
    { epoch: 2, train_loss: 0.4, tune_loss: 0.45, tune_auc: 0.93, seconds: 20 },
  ],
  test: { auc: 0.95, labels: [1, 0], scores: [0.9, 0.1] },
  shortcut_checks: { auc_image_size_only_all: 0.46 },
  artefacts: { 'model.onnx': 'e'.repeat(64) },
  seconds: 20.5,
};

function finetuneRecord(id: string): RunRecord {
  return {
    schema: RUN_SCHEMA,
    id,
    kind: 'finetune',
    startedAt: '2026-11-28T11:00:00.000Z',
    finishedAt: '2026-11-28T11:00:30.000Z',
    durationSeconds: 30,
    recipe: 'radiolens finetune',
    parameters: { l2: 0.01, seed: 1 },
    dataset: { id: 'cxr-site-nih', version: 'sha256:abcd' },
    parentModel: { id: 'cxr-pneumonia', version: '1.0.0' },
    model: { id: 'cxr-pneumonia', version: '1.1.0' },
    history: [{ step: 'newton', iteration: 1, train_loss: 0.5 }],
    metrics: { finetuned_test_auc: 0.8 },
    artefacts: { 'model.onnx': 'f'.repeat(64) },
  };
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-runs-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('run ids: UTC timestamp plus 8 hex of the identity; default folder beside the registry', () => {
  assert.equal(newRunId(new Date('2026-11-28T11:15:02.123Z'), 'x'), '20261128T111502Z-2d711642');
  assert.equal(defaultRunsFolder('/repo/models'), '/repo/runs');
});

test('import of training/train.py output: history per epoch, model from the manifest beside it', async () => {
  const dir = join(work, 'models', 'cxr-pneumonia', '1.0.0');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'training-run.json');
  await writeFile(file, JSON.stringify(trainingRun));
  await utimes(file, new Date('2026-11-28T09:00:00Z'), new Date('2026-11-28T09:00:00Z'));
  // No manifest beside it: the model is unknown unless given.
  const bare = await readPythonTrainingRun(file);
  assert.equal(bare.model, null);
  const store = new RunStore(join(work, 'runs'));
  const first = await importPythonTrainingRun(store, file, {
    model: { id: 'cxr-pneumonia', version: '1.0.0' },
  });
  assert.ok(first.created);
  assert.match(first.record.id, /^20261128T090000Z-[0-9a-f]{8}$/);
  assert.equal(first.record.kind, 'train');
  assert.equal(first.record.history.length, 2);
  assert.equal(first.record.metrics['test_auc'], 0.95);
  assert.equal(first.record.dataset.id, 'cxr-train-kermany');
  assert.equal(first.record.startedAt, null);
  const again = await importPythonTrainingRun(store, file);
  assert.equal(again.created, false, 'importing the same file twice does not duplicate it');
  await writeFile(join(work, 'bad.json'), '{"recipe": 1}');
  await assert.rejects(
    readPythonTrainingRun(join(work, 'bad.json')),
    /E_BAD_INPUT.*training-run\.json/,
  );
});

test('store: list sorted, get by prefix or hash, bad files reported not fatal, no overwrite', async () => {
  const store = new RunStore(join(work, 'runs'));
  await store.write(finetuneRecord('20261128T110000Z-0123abcd'));
  await writeFile(join(store.dir, 'junk.json'), '{}');
  const listing = await store.list();
  assert.deepEqual(
    listing.runs.map((r) => r.kind),
    ['train', 'finetune'],
  );
  assert.equal(listing.problems.length, 1);
  assert.equal((await store.get('0123abcd')).kind, 'finetune');
  assert.equal((await store.get('20261128T11')).kind, 'finetune');
  await assert.rejects(store.get('20261128'), /E_RUN_NOT_FOUND: 20261128 matches 2 runs/);
  await assert.rejects(store.get('ffffffff'), /E_RUN_NOT_FOUND: no run/);
  const changed = { ...finetuneRecord('20261128T110000Z-0123abcd'), metrics: { x: 1 } };
  await assert.rejects(store.write(changed), /E_RUN_EXISTS/);
  const table = formatRunTable(listing.runs);
  assert.match(table, /finetune +cxr-pneumonia@1\.1\.0 +cxr-pneumonia@1\.0\.0/);
  assert.match(formatRunDetails(listing.runs[1]!), /history \(1 steps\)/);
});

test('CLI: runs import, list, show --json', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [...scriptExecArgv, cliMain, ...args], {
      encoding: 'utf8',
      cwd: repoRoot,
    });
  const runsDir = join(work, 'cli-runs');
  const file = join(work, 'models', 'cxr-pneumonia', '1.0.0', 'training-run.json');
  const imported = cli('runs', 'import', file, '--model', 'cxr-pneumonia@1.0.0', '--runs', runsDir);
  assert.equal(imported.status, 0, imported.stderr);
  const id = /imported (\S+)/.exec(imported.stdout)![1]!;
  const list = cli('runs', 'list', '--runs', runsDir);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id} +train +cxr-pneumonia@1\\.0\\.0`));
  const show = cli('runs', 'show', id.slice(-8), '--json', '--runs', runsDir);
  assert.equal(show.status, 0, show.stderr);
  assert.equal((JSON.parse(show.stdout) as RunRecord).history.length, 2);
  const missing = cli('runs', 'show', 'nope', '--runs', runsDir);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /E_RUN_NOT_FOUND/);
});
