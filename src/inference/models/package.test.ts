import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile, appendFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { loadModelPackage, sha256 } from './package.js';

async function freshPackage(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'radiolens-pkg-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'pkg');
  await writeTestModelPackage(dir, { extraFiles: { 'docs/model-card.md': '# card\n' } });
  return dir;
}

function isTampered(file: string) {
  return (error: Error & { code?: string; subject?: string }) => {
    assert.equal(error.code, 'E_PACKAGE_TAMPERED');
    assert.ok(error.message.includes(file), error.message);
    return true;
  };
}

test('a well-formed package loads, with the manifest hash for traceability', async (t) => {
  const dir = await freshPackage(t);
  const pkg = await loadModelPackage(dir);
  assert.equal(pkg.manifest.id, 'test-small-cnn');
  assert.equal(pkg.modelPath, join(dir, 'model.onnx'));
  assert.equal(pkg.manifestSha256, sha256(await readFile(join(dir, 'manifest.json'))));
  assert.deepEqual(Object.keys(pkg.manifest.files).sort(), ['docs/model-card.md', 'model.onnx']);
});

test('a changed model file is refused, naming it', async (t) => {
  const dir = await freshPackage(t);
  await appendFile(join(dir, 'model.onnx'), Buffer.from([0]));
  await assert.rejects(loadModelPackage(dir), isTampered('model.onnx has sha256'));
});

test('a file in a subfolder is verified too', async (t) => {
  const dir = await freshPackage(t);
  await writeFile(join(dir, 'docs/model-card.md'), '# edited card\n');
  await assert.rejects(loadModelPackage(dir), isTampered('docs/model-card.md'));
});

test('an unlisted extra file is refused', async (t) => {
  const dir = await freshPackage(t);
  await writeFile(join(dir, 'backdoor.onnx'), 'x');
  await assert.rejects(loadModelPackage(dir), isTampered('backdoor.onnx is not listed'));
});

test('a missing listed file is refused', async (t) => {
  const dir = await freshPackage(t);
  await unlink(join(dir, 'docs/model-card.md'));
  await assert.rejects(loadModelPackage(dir), isTampered('docs/model-card.md is listed in the manifest but missing'));
});

test('a symbolic link is refused even when it points at identical bytes', async (t) => {
  const dir = await freshPackage(t);
  const outside = join(dir, '..', 'card-outside.md');
  await writeFile(outside, '# card\n');
  await unlink(join(dir, 'docs/model-card.md'));
  await symlink(outside, join(dir, 'docs/model-card.md'));
  await assert.rejects(loadModelPackage(dir), isTampered('not a regular file'));
});

test('a folder without manifest is E_MODEL_NOT_FOUND; a bad manifest E_MANIFEST_INVALID', async (t) => {
  const dir = await freshPackage(t);
  const manifest = await readFile(join(dir, 'manifest.json'), 'utf8');
  await writeFile(join(dir, 'manifest.json'), manifest.replace('"task": "classification"', '"task": "detection"'));
  await assert.rejects(loadModelPackage(dir), /E_MANIFEST_INVALID: .*manifest\.json has 1 problem\(s\): \$\.task/);
  await unlink(join(dir, 'manifest.json'));
  await assert.rejects(loadModelPackage(dir), /E_MODEL_NOT_FOUND/);
});
