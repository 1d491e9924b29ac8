import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelPackage } from '../../../test/support/index.js';
import {
  loadModelPackage,
  readInitializer,
  replaceInitializers,
  sha256,
  type ModelManifest,
} from '../../inference/models/index.js';
import { classifyModifications } from './index.js';

test('modifications are found by comparing the packages, and each gets its kind', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'pccp-mod-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const base = await writeTestModelPackage(join(root, 'a'), {
    id: 'cxr',
    version: '1.0.0',
    seed: 1,
  });
  const kinds = async (
    dir: string,
    options: Parameters<typeof writeTestModelPackage>[1],
  ): Promise<string[]> => {
    const other = await writeTestModelPackage(join(root, dir), {
      id: 'cxr',
      version: '1.1.0',
      seed: 1,
      ...options,
    });
    return (await classifyModifications(base, other)).map(
      (m) => `${m.kind}${m.allowable ? '' : '!'}`,
    );
  };

  assert.deepEqual(
    await kinds('same', {}),
    [],
    'an identical network and manifest: nothing changed',
  );

  // Only the head's weights differ: a head re-fit.
  const bytes = await readFile(base.modelPath);
  const head = readInitializer(bytes, 'head.weight');
  const refit = replaceInitializers(bytes, { 'head.weight': head.data.map((v) => v * 1.5) });
  const refitPkg = await writeTestModelPackage(join(root, 'refit'), {
    id: 'cxr',
    version: '1.1.0',
    seed: 1,
  });
  await writeFile(refitPkg.modelPath, refit);
  const manifest = JSON.parse(
    await readFile(join(refitPkg.dir, 'manifest.json'), 'utf8'),
  ) as ModelManifest;
  manifest.files['model.onnx'] = sha256(refit);
  await writeFile(join(refitPkg.dir, 'manifest.json'), JSON.stringify(manifest));
  const reloaded = await loadModelPackage(refitPkg.dir);
  const refitChanges = await classifyModifications(base, reloaded);
  assert.deepEqual(
    refitChanges.map((m) => m.kind),
    ['head-refit'],
  );
  assert.match(refitChanges[0]!.detail, /only the linear head changed \(head.weight\)/);

  assert.deepEqual(
    await kinds('retrain', { seed: 2 }),
    ['network-retrain'],
    'every weight differs, same graph',
  );
  assert.deepEqual(await kinds('bigger', { size: 32 }), ['input-preprocessing', 'architecture']);
  assert.deepEqual(
    await kinds('threshold', {
      edit: (m) => ({ ...m, labels: [{ ...m.labels[0]!, threshold: 0.3 }] }),
    }),
    ['operating-point'],
  );
  assert.deepEqual(
    await kinds('narrower', {
      edit: (m) => ({
        ...m,
        intendedUse: {
          ...m.intendedUse,
          modalities: ['DX'],
          notFor: [...m.intendedUse.notFor, 'portable AP'],
        },
      }),
    }),
    ['intended-use-narrowing'],
  );
  const wider = await writeTestModelPackage(join(root, 'wider'), {
    id: 'cxr',
    version: '1.1.0',
    seed: 1,
    edit: (m) => ({
      ...m,
      intendedUse: {
        ...m.intendedUse,
        modalities: ['CR', 'DX', 'CT'],
        notFor: ['clinical use', 'lateral views'],
        summary: 'all ages',
      },
    }),
  });
  const [change] = await classifyModifications(base, wider);
  assert.equal(change!.kind, 'intended-use-change');
  assert.equal(change!.allowable, false);
  assert.equal(
    change!.detail,
    'the intended use is wider: modalities adds CT; no longer excluded: "paediatric patients" (the summary text changed too: review it)',
  );
  // The same exclusion for another reason is still an exclusion (2.0.0 kept "children" with a
  // new reason; compared as whole texts it read as dropped): a narrowing with a note to review.
  const reworded = await writeTestModelPackage(join(root, 'reworded'), {
    id: 'cxr',
    version: '1.1.1',
    seed: 1,
    edit: (m) => ({
      ...m,
      intendedUse: {
        ...m.intendedUse,
        notFor: m.intendedUse.notFor.map((v) =>
          v === 'paediatric patients' ? 'Paediatric patients: not measured on children' : v,
        ),
      },
    }),
  });
  const [kept] = await classifyModifications(base, reworded);
  assert.equal(kept!.kind, 'intended-use-narrowing');
  assert.equal(
    kept!.detail,
    'the intended use is narrower (the reason given for excluding "paediatric patients" changed: review it)',
  );
  assert.deepEqual(
    await kinds('labels', {
      edit: (m) => ({ ...m, labels: [{ ...m.labels[0]!, alertLevel: 'routine' }] }),
    }),
    ['labels!'],
  );
  assert.deepEqual(await kinds('maker', { edit: (m) => ({ ...m, manufacturer: 'Another' }) }), [
    'manufacturer!',
  ]);
});
