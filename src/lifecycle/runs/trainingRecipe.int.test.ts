import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDir, repoRoot } from '../../../test/support/index.js';
import { createModelRunner, writeModelPackage, loadModelPackage } from '../../inference/models/index.js';
import { loadCamHead } from '../../inference/explain/index.js';

/**
 * The training recipe must never rot (issue #6): run it for one epoch on a tiny subset with
 * Debian's PyTorch, then check that what it exports fits the package contract and runs in
 * the TypeScript runtime with an exact Grad-CAM head. Debian's interpreter is used
 * explicitly: python3-torch is installed for /usr/bin/python3, not for other pythons on PATH.
 */
test('training/train.py runs one epoch on 40 images and exports a package the runtime accepts', async () => {
  const out = await mkdtemp(join(tmpdir(), 'radiolens-train-'));
  try {
    const run = spawnSync(
      '/usr/bin/python3',
      [
        join(repoRoot, 'training', 'train.py'),
        '--data',
        join(sharedDir, 'data', 'cxr-train-kermany'),
        '--out',
        out,
        '--epochs',
        '1',
        '--limit',
        '40',
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    assert.equal(
      run.status,
      0,
      `train.py failed (is python3-torch installed?):\n${run.stdout}\n${run.stderr}`,
    );
    const record = JSON.parse(await readFile(join(out, 'training-run.json'), 'utf8')) as {
      history: unknown[];
      dataset: { version: string };
      head: { weight_initializer: string; bias_initializer: string };
      parameters: { normalisation: { mean: number; std: number } };
      splits: Record<string, { images: number }>;
    };
    assert.equal(record.history.length, 1);
    assert.match(record.dataset.version, /^sha256:[0-9a-f]{64}$/);
    assert.equal(
      Object.values(record.splits).reduce((n, s) => n + s.images, 0),
      40,
    );

    const onnx = await readFile(join(out, 'model.onnx'));
    const pkg = await writeModelPackage(
      join(out, 'registry', 'smoke', '0.0.1'),
      {
        id: 'smoke',
        version: '0.0.1',
        name: 'recipe smoke test',
        task: 'classification',
        manufacturer: 'Radiolens project',
        intendedUse: {
          summary: 'test only',
          modalities: ['CR'],
          bodyParts: ['CHEST'],
          viewPositions: [],
          photometric: ['MONOCHROME2'],
          minRows: 1,
          minColumns: 1,
          bitsStored: { min: 1, max: 16 },
          notFor: [],
        },
        limitations: [],
        input: {
          width: 224,
          height: 224,
          channels: 1,
          resize: 'stretch',
          normalisation: {
            kind: 'meanStd',
            mean: [record.parameters.normalisation.mean],
            std: [record.parameters.normalisation.std],
          },
          inputName: 'image',
        },
        outputs: { scores: 'scores', activation: 'none', features: 'features' },
        labels: [
          {
            id: 'pneumonia',
            code: { scheme: 'SCT', value: '233604007', meaning: 'Pneumonia' },
            threshold: 0.5,
            alertLevel: 'routine',
          },
        ],
        explanation: {
          method: 'cam',
          headWeight: record.head.weight_initializer,
          headWeightLayout: 'classByChannel',
          headBias: record.head.bias_initializer,
        },
        lineage: {
          trainingDataset: { id: 'cxr-train-kermany', version: record.dataset.version },
          recipe: 'training/train.py',
        },
        validation: [],
      },
      { 'model.onnx': onnx },
    );
    const loaded = await loadModelPackage(pkg.dir);
    const runner = await createModelRunner(loaded);
    try {
      const result = await runner.run([new Float32Array(224 * 224).fill(0.2)]);
      const probability = result.scores[0]![0]!;
      assert.ok(probability > 0 && probability < 1);
      const features = result.features![0]!;
      assert.deepEqual([features.k, features.h, features.w], [256, 7, 7]);
      // The exported head reproduces the exported score: sigmoid(mean(A)·w + b).
      const head = await loadCamHead(loaded);
      const w = head.weightsFor(0);
      let logit = head.bias[0]!;
      for (let k = 0; k < features.k; k++) {
        let sum = 0;
        for (let i = 0; i < 49; i++) sum += features.data[k * 49 + i]!;
        logit += w[k]! * (sum / 49);
      }
      assert.ok(Math.abs(1 / (1 + Math.exp(-logit)) - probability) < 1e-5);
    } finally {
      await runner.dispose();
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
