import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { DeidKeys, listInputFiles } from '../deid/index.js';
import { createDataset, objectPath, verifyDataset } from './create.js';
import { loadLabels } from './labels.js';
import { canonicalJson } from './manifest.js';

const FILES = ['MR2_UNCR.dcm', 'liver.dcm', 'emri_small.dcm', 'US1_UNCR.dcm'];

async function setup(root: string): Promise<string> {
  const input = join(root, 'in');
  await mkdir(input);
  for (const f of FILES) await copyFile(join(conformanceDir, 'pydicom-data', f), join(input, f));
  await writeFile(
    join(input, 'labels.csv'),
    'key,finding\nMR2_UNCR.dcm,normal\nliver.dcm,lesion\n',
  );
  return input;
}

test('dataset create: content-addressed objects, labelled manifest, version = manifest hash', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dataset-'));
  try {
    const input = await setup(root);
    const labels = await loadLabels(join(input, 'labels.csv'));
    const files = (await listInputFiles(input)).filter((f) => f.endsWith('.dcm'));
    const request = {
      name: 'liver-mr-demo',
      files,
      root: input,
      datasetDir: join(root, 'ds'),
      config: {
        options: new Set(['retainLongitudinalModifiedDates'] as const),
        keys: new DeidKeys(Buffer.alloc(32, 4)),
      },
      labels,
    };
    const first = await createDataset(request);
    assert.equal(first.manifest.instances.length, 3);
    assert.equal(
      first.manifest.excluded.quarantined,
      1,
      'the ultrasound is quarantined, not included',
    );
    const byLabel = first.manifest.instances.map((i) => i.labels['finding']).sort();
    assert.deepEqual(byLabel, ['lesion', 'normal', undefined].sort());
    assert.deepEqual(first.manifest.deidentification.methodCodes, ['113100', '113107']);
    assert.equal(first.manifest.deidentification.tableEdition.slice(0, 5), '2024b');
    const text = await readFile(first.manifestPath, 'utf8');
    assert.ok(!text.includes('MR2_UNCR'), 'no source paths in the manifest');
    for (const i of first.manifest.instances)
      await readFile(objectPath(request.datasetDir, i.sha256));
    await verifyDataset(request.datasetDir, first.version);

    // Deterministic: the same selection gives the same version; different labels do not.
    const second = await createDataset(request);
    assert.equal(second.version, first.version);
    const relabelled = await createDataset({ ...request, labels: new Map() });
    assert.notEqual(relabelled.version, first.version);

    // Tampering with an object or the manifest is detected.
    const victim = objectPath(request.datasetDir, first.manifest.instances[0]!.sha256);
    await writeFile(victim, 'changed');
    await assert.rejects(verifyDataset(request.datasetDir, first.version), /was altered/);
    await writeFile(first.manifestPath, canonicalJson({ ...first.manifest, name: 'renamed' }));
    await assert.rejects(verifyDataset(request.datasetDir, first.version), /does not hash/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
