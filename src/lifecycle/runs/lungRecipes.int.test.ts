import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, sharedDir } from '../../../test/support/index.js';
import {
  createModelRunner,
  InferencePool,
  writeModelPackage,
  type ModelManifest,
} from '../../inference/models/index.js';
import { classifierInput, LungSegmenter } from '../../inference/lungField/index.js';
import { loadCamHead } from '../../inference/explain/index.js';

/**
 * The 2.x recipes must never rot either (issue #11 item 5): training/lungs.py and
 * training/pneumonia_v2.py run with their documented smoke flags (`--limit … --epochs 1`;
 * pneumonia_v2 with one pre-training epoch and one repeated split, so every stage runs once and the
 * test stays bounded), with
 * Debian's PyTorch, bounded in time; then what they export must fit the package contract and run
 * in the TypeScript pipeline: the lung model through LungSegmenter, the classifier on the lung
 * field with an exact Grad-CAM head of a 14×14 map whose head reproduces the score.
 */
const PYTHON = '/usr/bin/python3';
const DATA = join(sharedDir, 'data');
/** Each recipe's bound: ~20 s on an idle 2-core machine, minutes when it is shared. */
const RECIPE_TIMEOUT_MS = 600_000;

function recipe(script: string, args: string[]): void {
  const run = spawnSync(PYTHON, [join(repoRoot, 'training', script), ...args, '--threads', '1'], {
    encoding: 'utf8',
    timeout: RECIPE_TIMEOUT_MS,
  });
  assert.equal(
    run.status,
    0,
    `${script} failed or ran past ${RECIPE_TIMEOUT_MS / 1000} s (is python3-torch installed?):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`,
  );
}

const lungsManifest: Omit<ModelManifest, 'files'> = {
  id: 'lungs-smoke',
  version: '0.0.1',
  name: 'lung recipe smoke test',
  task: 'segmentation',
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
    width: 256,
    height: 256,
    channels: 1,
    resize: 'stretch',
    normalisation: { kind: 'meanStd', mean: [0.5], std: [0.25] },
    inputName: 'image',
  },
  outputs: { scores: 'lungs', activation: 'none' },
  labels: [
    {
      id: 'right-lung',
      code: { scheme: 'SCT', value: '3341006', meaning: 'Right lung structure' },
      threshold: 0.5,
      alertLevel: 'none',
    },
    {
      id: 'left-lung',
      code: { scheme: 'SCT', value: '44029006', meaning: 'Left lung structure' },
      threshold: 0.5,
      alertLevel: 'none',
    },
  ],
  explanation: { method: 'none' },
  lineage: { recipe: 'training/lungs.py' },
  validation: [],
};

test(
  'training/lungs.py and training/pneumonia_v2.py run their smoke settings and export what the pipeline runs',
  { timeout: 2 * RECIPE_TIMEOUT_MS + 60_000 },
  async () => {
    const out = await mkdtemp(join(tmpdir(), 'radiolens-lung-recipes-'));
    const pool = new InferencePool({ threads: 1 });
    try {
      const lungsOut = join(out, 'lungs');
      recipe('lungs.py', ['--data', join(DATA, 'cxr-lung-masks'), '--out', lungsOut, '--limit', '8', '--epochs', '1']);
      const lungsRun = JSON.parse(await readFile(join(lungsOut, 'training-run.json'), 'utf8')) as {
        history: unknown[];
        dataset: { version: string };
        dice: Record<string, unknown>;
      };
      assert.equal(lungsRun.history.length, 1);
      assert.match(lungsRun.dataset.version, /^sha256:[0-9a-f]{64}$/);
      assert.ok('test' in lungsRun.dice && 'external_nonpermissive' in lungsRun.dice);

      const registry = join(out, 'registry');
      const lungsPkg = await writeModelPackage(join(registry, 'lungs-smoke', '0.0.1'), lungsManifest, {
        'model.onnx': await readFile(join(lungsOut, 'cxr-lungs.onnx')),
      });
      const segmenter = await LungSegmenter.open(lungsPkg, { pool });
      const grey = { width: 300, height: 260, data: new Float32Array(300 * 260).fill(0.4) };
      const [segmented] = await segmenter.segment([grey]);
      assert.equal(segmented!.probabilities.data.length, 2 * 256 * 256);
      assert.ok(segmented!.probabilities.data.every((p) => p >= 0 && p <= 1));

      const pneuOut = join(out, 'pneu');
      recipe('pneumonia_v2.py', [
        '--lungs',
        join(lungsOut, 'cxr-lungs.pt'),
        '--out',
        pneuOut,
        '--kermany',
        join(DATA, 'cxr-train-kermany'),
        '--site',
        join(DATA, 'cxr-site-nih'),
        '--limit',
        '40',
        '--epochs',
        '1',
        '--pretrain-epochs',
        '1',
        '--repeats',
        '1',
        // The lung fields edge-guarded (LUNG_FIELD.md step 2b), as 2.1.0 was trained.
        '--edge-guard',
        '0.04',
      ]);
      // Python writes NaN for an AUC a 40-image split cannot define; JSON has no NaN.
      const text = (await readFile(join(pneuOut, 'training-run.json'), 'utf8')).replace(/\bNaN\b/g, 'null');
      const run = JSON.parse(text) as {
        evaluation: { threshold: number; test_auc: unknown; reliability_test: unknown[] };
        shortcut_probes: Record<string, unknown>;
        cam: { grid: number[] };
        robustness: Record<string, unknown>;
        head: { weight_initializer: string; bias_initializer: string };
        parameters: { edge_guard: number };
      };
      assert.equal(run.parameters.edge_guard, 0.04);
      assert.ok(run.evaluation.threshold > 0 && run.evaluation.threshold < 1);
      assert.equal(run.evaluation.reliability_test.length, 10);
      for (const probe of ['auc_test_border_only', 'auc_test_lungs_out', 'auc_test_lungs_only'])
        assert.ok(probe in run.shortcut_probes, probe);
      assert.deepEqual(run.cam.grid, [14, 14]);
      for (const change of ['brightness_plus_5pct', 'crop_2pct_per_side', 'jpeg_q85'])
        assert.ok(change in run.robustness, change);

      const classifier = await writeModelPackage(
        join(registry, 'pneu-smoke', '0.0.1'),
        {
          ...lungsManifest,
          id: 'pneu-smoke',
          task: 'classification',
          input: {
            ...lungsManifest.input,
            width: 224,
            height: 224,
            region: { kind: 'lungField', model: { id: 'lungs-smoke', version: '0.0.1' } },
          },
          outputs: { scores: 'scores', activation: 'none', features: 'features' },
          labels: [
            {
              id: 'pneumonia',
              code: { scheme: 'SCT', value: '233604007', meaning: 'Pneumonia' },
              threshold: run.evaluation.threshold,
              alertLevel: 'routine',
            },
          ],
          explanation: {
            method: 'cam',
            headWeight: run.head.weight_initializer,
            headWeightLayout: 'classByChannel',
            headBias: run.head.bias_initializer,
          },
          lineage: { recipe: 'training/pneumonia_v2.py' },
        },
        { 'model.onnx': await readFile(join(pneuOut, 'cxr-pneumonia-2.0.0.onnx')) },
      );
      const runner = await createModelRunner(classifier, { pool });
      try {
        // A one-epoch lung model finds no plausible lungs: the classifier is then fed a crop
        // of the image by hand, to check its graph and head, not the gate.
        const prepared = await classifierInput(classifier, grey, segmenter);
        const input =
          prepared.kind === 'input' ? prepared.input : new Float32Array(224 * 224).fill(-0.4);
        const result = await runner.run([input]);
        const probability = result.scores[0]![0]!;
        assert.ok(probability > 0 && probability < 1);
        const features = result.features![0]!;
        assert.deepEqual([features.h, features.w], [14, 14]);
        const head = await loadCamHead(classifier);
        const w = head.weightsFor(0);
        let logit = head.bias[0]!;
        for (let k = 0; k < features.k; k++) {
          let sum = 0;
          for (let i = 0; i < 196; i++) sum += features.data[k * 196 + i]!;
          logit += w[k]! * (sum / 196);
        }
        // The GAP + linear head reproduces the calibrated score: Grad-CAM stays exact.
        assert.ok(Math.abs(1 / (1 + Math.exp(-logit)) - probability) < 1e-4);
      } finally {
        await runner.dispose();
        await segmenter.dispose();
      }
    } finally {
      await pool.close();
      await rm(out, { recursive: true, force: true });
    }
  },
);
