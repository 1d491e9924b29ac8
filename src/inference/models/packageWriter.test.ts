import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { loadModelPackage, writeModelPackage } from './index.js';

test('writeModelPackage writes hashes, verifies, and never overwrites a version', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-pkgw-'));
  try {
    const source = await writeTestModelPackage(join(work, 'src'), { size: 16 });
    const { files: _files, ...manifest } = source.manifest;
    const onnx = await import('node:fs/promises').then((fs) => fs.readFile(source.modelPath));
    const target = join(work, 'registry', manifest.id, '2.0.0');
    const written = await writeModelPackage(target, { ...manifest, version: '2.0.0' }, { 'model.onnx': onnx, 'NOTES.md': 'notes' });
    assert.equal(written.manifest.version, '2.0.0');
    assert.deepEqual(Object.keys(written.manifest.files).sort(), ['NOTES.md', 'model.onnx']);
    assert.equal((await loadModelPackage(target)).manifestSha256, written.manifestSha256);
    await assert.rejects(
      writeModelPackage(target, { ...manifest, version: '2.0.0' }, { 'model.onnx': onnx }),
      /E_MODEL_VERSION_EXISTS/,
    );
    // No staging folder is left behind, whatever happened.
    const siblings = await readdir(join(work, 'registry', manifest.id));
    assert.deepEqual(siblings, ['2.0.0']);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('writeModelPackage refuses an invalid manifest before writing anything', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-pkgw-'));
  try {
    const source = await writeTestModelPackage(join(work, 'src'), { size: 16 });
    const { files: _files, ...manifest } = source.manifest;
    await mkdir(join(work, 'reg'), { recursive: true });
    await writeFile(join(work, 'reg', 'keep'), '');
    await assert.rejects(
      writeModelPackage(join(work, 'reg', 'x'), { ...manifest, labels: [] }, { 'model.onnx': new Uint8Array([1]) }),
      /E_MANIFEST_INVALID/,
    );
    assert.deepEqual(await readdir(join(work, 'reg')), ['keep']);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
