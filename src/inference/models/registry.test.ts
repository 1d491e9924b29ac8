import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { ModelRegistry } from './registry.js';

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'radiolens-registry-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

const chestPa = {
  Modality: 'DX',
  BodyPartExamined: 'CHEST',
  ViewPosition: 'PA',
  Rows: 2048,
  Columns: 2048,
  BitsStored: 12,
  PhotometricInterpretation: 'MONOCHROME2',
};

test('install, list and resolve the latest release by semver', async (t) => {
  const root = await tempRoot(t);
  const registry = new ModelRegistry(join(root, 'registry'));
  for (const version of ['1.2.0', '1.10.0', '1.9.3', '2.0.0-rc.1']) {
    const src = join(root, 'src', version);
    await writeTestModelPackage(src, { id: 'cxr', version, seed: version.length });
    const installed = await registry.install(src);
    assert.equal(installed.dir, join(root, 'registry', 'cxr', version));
  }
  const listed = (await registry.list()).map((e) => e.version);
  assert.deepEqual(listed, ['1.2.0', '1.9.3', '1.10.0', '2.0.0-rc.1']);
  assert.equal((await registry.resolve('cxr')).manifest.version, '1.10.0');
  assert.equal((await registry.resolve('cxr', '2.0.0-rc.1')).manifest.version, '2.0.0-rc.1');
  await assert.rejects(registry.resolve('cxr', '3.0.0'), /E_MODEL_NOT_FOUND: no model cxr@3.0.0/);
  await assert.rejects(registry.resolve('other'), /E_MODEL_NOT_FOUND: no model other/);
});

test('install refuses a tampered package and leaves nothing behind', async (t) => {
  const root = await tempRoot(t);
  const registryDir = join(root, 'registry');
  const registry = new ModelRegistry(registryDir);
  const src = join(root, 'src');
  await writeTestModelPackage(src, { id: 'cxr', version: '1.0.0' });
  await appendFile(join(src, 'model.onnx'), 'junk');
  await assert.rejects(registry.install(src), /E_PACKAGE_TAMPERED/);
  assert.equal(existsSync(join(registryDir, 'cxr', '1.0.0')), false);
  const left = existsSync(registryDir) ? await readdir(registryDir) : [];
  assert.deepEqual(left.filter((n) => n.startsWith('.staging-')), []);
});

test('a copy corrupted on its way into the registry is caught in staging, never installed', async (t) => {
  const root = await tempRoot(t);
  const registryDir = join(root, 'registry');
  const src = join(root, 'src');
  await writeTestModelPackage(src, { id: 'cxr', version: '1.0.0' });
  // The source verifies; the copy loses a byte on the way (a flaky network share).
  const registry = new ModelRegistry(registryDir, {
    copyFolder: async (from, to) => {
      await cp(from, to, { recursive: true });
      const model = join(to, 'model.onnx');
      const bytes = await readFile(model);
      await writeFile(model, bytes.subarray(0, bytes.length - 1));
    },
  });
  await assert.rejects(registry.install(src), /E_PACKAGE_TAMPERED: .*model\.onnx has sha256/);
  assert.equal(existsSync(join(registryDir, 'cxr', '1.0.0')), false);
  assert.deepEqual(await readdir(registryDir), []);
});

test('an installed version is never overwritten; reinstalling the same package is a no-op', async (t) => {
  const root = await tempRoot(t);
  const registry = new ModelRegistry(join(root, 'registry'));
  const a = join(root, 'a');
  const b = join(root, 'b');
  await writeTestModelPackage(a, { id: 'cxr', version: '1.0.0', seed: 1 });
  await writeTestModelPackage(b, { id: 'cxr', version: '1.0.0', seed: 2 });
  const first = await registry.install(a);
  const again = await registry.install(a);
  assert.equal(again.manifestSha256, first.manifestSha256);
  await assert.rejects(registry.install(b), /E_MODEL_VERSION_EXISTS/);
  assert.equal((await registry.resolve('cxr')).manifestSha256, first.manifestSha256);
});

test('broken packages are left out of list() but named by resolve()', async (t) => {
  const root = await tempRoot(t);
  const registryDir = join(root, 'registry');
  const registry = new ModelRegistry(registryDir);
  await writeTestModelPackage(join(registryDir, 'cxr', '1.0.0'), { id: 'cxr', version: '1.0.0' });
  // A package copied into the wrong folder, and one with a corrupt manifest.
  await writeTestModelPackage(join(registryDir, 'cxr', '1.1.0'), { id: 'cxr', version: '9.9.9' });
  await writeTestModelPackage(join(registryDir, 'cxr', '1.2.0'), { id: 'cxr', version: '1.2.0' });
  await writeFile(join(registryDir, 'cxr', '1.2.0', 'manifest.json'), '{');
  assert.deepEqual((await registry.list()).map((e) => e.version), ['1.0.0']);
  assert.equal((await registry.resolve('cxr')).manifest.version, '1.0.0');
  await assert.rejects(registry.resolve('cxr', '1.1.0'), /E_MANIFEST_INVALID: .* holds cxr@9.9.9, not cxr@1.1.0/);
  await assert.rejects(registry.resolve('cxr', '1.2.0'), /E_MANIFEST_INVALID: .*not valid JSON/);
});

test('findForImage returns the latest matching version of each model', async (t) => {
  const root = await tempRoot(t);
  const registryDir = join(root, 'registry');
  const registry = new ModelRegistry(registryDir);
  await writeTestModelPackage(join(registryDir, 'cxr', '1.0.0'), { id: 'cxr', version: '1.0.0' });
  await writeTestModelPackage(join(registryDir, 'cxr', '1.1.0'), { id: 'cxr', version: '1.1.0' });
  await writeTestModelPackage(join(registryDir, 'ct-head', '1.0.0'), {
    id: 'ct-head',
    version: '1.0.0',
    edit: (m) => ({ ...m, intendedUse: { ...m.intendedUse, modalities: ['CT'], bodyParts: ['HEAD'], viewPositions: [] } }),
  });
  const found = await registry.findForImage(chestPa);
  assert.deepEqual(found.map((p) => `${p.manifest.id}@${p.manifest.version}`), ['cxr@1.1.0']);
  const ct = await registry.findForImage({ ...chestPa, Modality: 'CT', BodyPartExamined: 'HEAD' });
  assert.deepEqual(ct.map((p) => p.manifest.id), ['ct-head']);
  assert.deepEqual(await registry.findForImage({ ...chestPa, Modality: 'MR' }), []);
});

test('a run view verifies each package once; the registry itself verifies every time; failures are retried', async (t) => {
  const root = await tempRoot(t);
  const registry = new ModelRegistry(join(root, 'registry'));
  const src = join(root, 'src');
  await writeTestModelPackage(src, { id: 'cxr', version: '1.0.0' });
  await registry.install(src);
  const run = registry.forOneRun();
  const first = await run.resolve('cxr', '1.0.0');
  assert.equal((await run.findForImage(chestPa))[0], first, 'findForImage goes through the view');
  // Changed on disk after the run verified it: the run keeps what it verified (and loaded);
  // the registry, and any new run, refuses the package.
  await appendFile(join(root, 'registry', 'cxr', '1.0.0', 'model.onnx'), 'x');
  assert.equal(await run.resolve('cxr', '1.0.0'), first);
  await assert.rejects(registry.resolve('cxr', '1.0.0'), /E_PACKAGE_TAMPERED/);
  await assert.rejects(registry.forOneRun().resolve('cxr', '1.0.0'), /E_PACKAGE_TAMPERED/);
  // A failed resolution is not remembered: once the package is there, the same view finds it.
  await assert.rejects(run.resolve('later', '1.0.0'), /E_MODEL_NOT_FOUND/);
  await writeTestModelPackage(join(root, 'src-later'), { id: 'later', version: '1.0.0' });
  await registry.install(join(root, 'src-later'));
  assert.equal((await run.resolve('later', '1.0.0')).manifest.id, 'later');
});

test('the active version: newest release until promoted; promote and rollback move it; others are refused for clinical use', async (t) => {
  const root = await tempRoot(t);
  const registryDir = join(root, 'registry');
  const registry = new ModelRegistry(registryDir);
  for (const [version, seed] of [['1.0.0', 1], ['1.1.0', 2], ['1.2.0', 3]] as const) {
    await writeTestModelPackage(join(registryDir, 'cxr', version), { id: 'cxr', version, seed });
  }
  assert.deepEqual(
    { ...(await registry.activeVersion('cxr')), state: null },
    { id: 'cxr', version: '1.2.0', source: 'newest-release', state: null },
  );
  await assert.rejects(registry.resolveActive('cxr', '1.0.0'), /E_MODEL_NOT_ACTIVE: cxr@1.0.0 is installed but not active \(the active version is 1.2.0\)/);
  await assert.rejects(registry.resolveActive('cxr', '9.0.0'), /E_MODEL_NOT_FOUND/);

  const at = '2026-12-01T10:00:00.000Z';
  await registry.activate('cxr', '1.1.0', { at, actor: 'tester', evidence: 'evidence/1.1.0/x.json' });
  assert.equal((await registry.activeVersion('cxr')).version, '1.1.0');
  assert.equal((await registry.resolve('cxr')).manifest.version, '1.1.0', 'a bare id means the active version');
  assert.equal((await registry.resolveActive('cxr')).manifest.version, '1.1.0');
  const found = await registry.findForImage(chestPa);
  assert.deepEqual(found.map((p) => p.manifest.version), ['1.1.0'], 'auto-selection runs the active version');
  await assert.rejects(registry.activate('cxr', '1.1.0', { at, actor: 'tester' }), /already the active version/);

  const state = await registry.rollback('cxr', { at, actor: 'tester' });
  assert.deepEqual(state.stack, ['1.2.0'], 'rollback returns to the version active before the promotion');
  assert.deepEqual(state.transitions.map((x) => `${x.action} ${x.from}→${x.to}`), ['promote 1.2.0→1.1.0', 'rollback 1.1.0→1.2.0']);
  assert.equal((await registry.activeVersion('cxr')).source, 'promoted');
  await assert.rejects(registry.rollback('cxr', { at, actor: 'tester' }), /no earlier active version/);

  // A newer package dropped into the registry does not become active by itself.
  await writeTestModelPackage(join(registryDir, 'cxr', '2.0.0'), { id: 'cxr', version: '2.0.0', seed: 4 });
  assert.equal((await registry.activeVersion('cxr')).version, '1.2.0');

  await writeFile(join(registryDir, 'cxr', 'active.json'), '{"schema":"radiolens.active-version/1","id":"cxr","stack":["3.0.0"],"transitions":[]}');
  await assert.rejects(registry.resolve('cxr'), /E_REGISTRY_STATE: the active version of cxr is 3.0.0, but no valid package/);
  await writeFile(join(registryDir, 'cxr', 'active.json'), '{"stack":');
  await assert.rejects(registry.resolve('cxr'), /E_REGISTRY_STATE: .*active.json is not valid JSON/);
});
