/**
 * `radiolens finetune` as a user runs it, then `radiolens validate` on the test split it wrote:
 * the AUC the fine-tune printed must be reproduced independently.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  sharedDir,
  writeTestModelPackage,
  runCli,
  type CliRun,
} from '../../../test/support/index.js';
import { readCsvFile } from '../../foundation/csv/index.js';

let work: string;

function radiolens(...args: string[]): CliRun {
  return runCli(args, {});
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-finetune-cli-'));
  const nih = join(sharedDir, 'data', 'cxr-site-nih');
  const table = readCsvFile(join(nih, 'labels.csv'));
  // Rows 40-59 of each class: other images than the library e2e test uses.
  const pick = (label: string) => table.rows.filter((r) => r['pneumonia'] === label).slice(40, 60);
  const lines = [table.columns.join(',')];
  for (const row of [...pick('1'), ...pick('0')]) {
    lines.push(
      table.columns.map((c) => (c === 'image' ? join(nih, row['image']!) : row[c]!)).join(','),
    );
  }
  await mkdir(join(work, 'site-x'), { recursive: true });
  await writeFile(join(work, 'site-x', 'labels.csv'), `${lines.join('\n')}\n`);
  await writeTestModelPackage(join(work, 'models', 'cxr-test', '2.0.0'), {
    id: 'cxr-test',
    version: '2.0.0',
    seed: 9,
  });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('finetune registers a version; validate on its test-labels.csv reproduces the AUC', async () => {
  const registry = join(work, 'models');
  const out = join(work, 'out');
  const tuned = radiolens(
    'finetune',
    '--model',
    'cxr-test@2.0.0',
    '--labels',
    join(work, 'site-x', 'labels.csv'),
    '--out-version',
    '2.1.0-site.1',
    '--registry',
    registry,
    '--out',
    out,
    '--seed',
    '1',
  );
  assert.equal(tuned.status, 0, tuned.stderr);
  const auc = /fine-tuned cxr-test@2\.1\.0-site\.1 +AUC (\d\.\d{3})/.exec(tuned.stdout)?.[1];
  assert.ok(auc, tuned.stdout);
  assert.match(tuned.stdout, /DeLong z -?\d+\.\d+, p /);
  assert.match(tuned.stdout, /on test: sensitivity \d\.\d{3} \[/);
  const manifest = JSON.parse(
    await readFile(join(registry, 'cxr-test', '2.1.0-site.1', 'manifest.json'), 'utf8'),
  ) as { lineage: { parent: unknown; trainingDataset: { id: string } } };
  assert.deepEqual(manifest.lineage.parent, { id: 'cxr-test', version: '2.0.0' });
  assert.equal(manifest.lineage.trainingDataset.id, 'site-x');

  const validated = radiolens(
    'validate',
    '--model',
    'cxr-test@2.1.0-site.1',
    '--labels',
    join(out, 'test-labels.csv'),
    '--out',
    join(work, 'validate'),
    '--registry',
    registry,
  );
  assert.equal(validated.status, 0, validated.stderr);
  assert.match(validated.stdout, new RegExp(`pneumonia: AUC ${auc.replace('.', '\\.')} `));

  const list = radiolens('runs', 'list', '--registry', registry);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /finetune +cxr-test@2\.1\.0-site\.1 +cxr-test@2\.0\.0/);
});
