import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCamHead } from '../../inference/explain/index.js';
import {
  createModelRunner,
  floatTensor,
  OnnxAttributeType,
  OnnxDataType,
  writeModelPackage,
  writeOnnxModel,
  type ModelPackage,
  type OnnxValueInfo,
} from '../../inference/models/index.js';
import { seededRandom, writeTestModelPackage } from '../../../test/support/index.js';
import {
  areaUnderCurve,
  baselineImage,
  gaussianBlur,
  imageFaithfulness,
  perturbationCurves,
  randomOrder,
  saliencyOrder,
  summariseFaithfulness,
} from './index.js';

const S = 16;

/**
 * A GAP+linear classifier whose evidence is known: features = ReLU(x ⊙ mask) with the mask the
 * top-left quadrant, logit = 8·mean(features) − 1. Only the quadrant can move the score, and
 * exact Grad-CAM is 8·x inside it, 0 outside.
 */
function quadrantCamOnnx(): Uint8Array {
  const mask = new Float32Array(S * S);
  for (let y = 0; y < S / 2; y++) for (let x = 0; x < S / 2; x++) mask[y * S + x] = 1;
  const info = (name: string, dims: (number | string)[]): OnnxValueInfo => ({
    name,
    type: {
      tensorType: {
        elemType: OnnxDataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
  const node = (opType: string, input: string[], output: string, attribute = [] as never[]) => ({
    name: output,
    opType,
    input,
    output: [output],
    attribute,
  });
  return writeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'radiolens-faithfulness-test',
    graph: {
      name: 'quadrant-cam',
      node: [
        node('Mul', ['image', 'mask'], 'masked'),
        node('Relu', ['masked'], 'features'),
        node('GlobalAveragePool', ['features'], 'pooled'),
        {
          ...node('Flatten', ['pooled'], 'flat'),
          attribute: [{ name: 'axis', type: OnnxAttributeType.INT, i: 1 }],
        },
        {
          ...node('Gemm', ['flat', 'head.weight', 'head.bias'], 'logits'),
          attribute: [{ name: 'transB', type: OnnxAttributeType.INT, i: 1 }],
        },
        node('Sigmoid', ['logits'], 'scores'),
      ],
      initializer: [
        floatTensor('mask', [1, 1, S, S], mask),
        floatTensor('head.weight', [1, 1], Float32Array.of(8)),
        floatTensor('head.bias', [1], Float32Array.of(-1)),
      ],
      input: [info('image', ['N', 1, S, S])],
      output: [info('scores', ['N', 1]), info('features', ['N', 1, S, S])],
    },
  });
}

async function quadrantPackage(work: string): Promise<ModelPackage> {
  const template = await writeTestModelPackage(join(work, 'template'), { size: S });
  const { files: _files, ...manifest } = template.manifest;
  return writeModelPackage(
    join(work, 'quadrant-cam', '1.0.0'),
    { ...manifest, id: 'quadrant-cam' },
    {
      'model.onnx': quadrantCamOnnx(),
    },
  );
}

/** Bright quadrant with texture, dim elsewhere. */
function testImage(seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from(
    { length: S * S },
    (_, i) => (i % S < S / 2 && i < (S * S) / 2 ? 0.7 : 0.1) + 0.3 * random(),
  );
}

test('curves start and end where they must; AUC by trapezoids', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-faith-'));
  try {
    const pkg = await quadrantPackage(work);
    const runner = await createModelRunner(pkg);
    const data = testImage(1);
    const input = { data, channels: 1, width: S, height: S };
    const baseline = baselineImage(data, 1, S, S, { kind: 'mean' });
    const curves = await perturbationCurves(
      (b) => runner.run(b),
      input,
      baseline,
      randomOrder(S * S, seededRandom(2)),
    );
    const [full, base] = (await runner.run([data, baseline])).scores.map((s) => s[0]!);
    assert.equal(curves.fractions.length, 51);
    assert.equal(curves.fractions[0], 0);
    assert.equal(curves.fractions[50], 1);
    assert.ok(
      Math.abs(curves.deletion[0]! - full!) < 1e-6 && Math.abs(curves.deletion[50]! - base!) < 1e-6,
    );
    assert.ok(
      Math.abs(curves.insertion[0]! - base!) < 1e-6 &&
        Math.abs(curves.insertion[50]! - full!) < 1e-6,
    );
    await runner.dispose();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  assert.equal(areaUnderCurve([0, 0.5, 1], [1, 1, 0]), 0.75);
});

test('Grad-CAM on a model with a known salient region: deletion drops and insertion rises faster than random', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-faith-'));
  try {
    const pkg = await quadrantPackage(work);
    const runner = await createModelRunner(pkg);
    const head = await loadCamHead(pkg);
    const results = [];
    for (const seed of [1, 2, 3]) {
      results.push(
        await imageFaithfulness(
          runner,
          head,
          `image-${seed}`,
          { data: testImage(seed), channels: 1, width: S, height: S },
          {
            baseline: { kind: 'mean' },
            seed,
          },
        ),
      );
    }
    await runner.dispose();
    for (const r of results) {
      assert.ok(r.gradCam.deletion < r.random.deletion - 0.05, `deletion ${JSON.stringify(r)}`);
      assert.ok(r.gradCam.insertion > r.random.insertion + 0.05, `insertion ${JSON.stringify(r)}`);
    }
    const summary = summariseFaithfulness(results);
    assert.equal(summary.images, 3);
    assert.equal(summary.gradCamBetter.deletion, 3);
    assert.ok(summary.difference.deletion.mean < 0 && summary.difference.insertion.mean > 0);
    assert.ok(summary.gradCam.deletion.ci[0] <= summary.gradCam.deletion.mean);

    // A saliency map pointing at the wrong place must do worse than random: the measure can fail.
    const inverted = saliencyOrder(
      Float32Array.from({ length: S * S }, (_, i) => (i % S < S / 2 && i < (S * S) / 2 ? 0 : 1)),
      seededRandom(9),
    );
    const data = testImage(1);
    const runner2 = await createModelRunner(pkg);
    const wrong = await perturbationCurves(
      (b) => runner2.run(b),
      { data, channels: 1, width: S, height: S },
      baselineImage(data, 1, S, S, { kind: 'mean' }),
      inverted,
    );
    await runner2.dispose();
    assert.ok(areaUnderCurve(wrong.fractions, wrong.deletion) > results[0]!.random.deletion);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('saliency order, random order and blur behave', () => {
  const order = saliencyOrder(Float32Array.of(0.1, 0.9, 0, 0.5), seededRandom(1));
  assert.deepEqual(Array.from(order), [1, 3, 0, 2]);
  const random = randomOrder(100, seededRandom(3));
  assert.deepEqual(
    [...random].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  // Blurring keeps a constant image constant and spreads an impulse symmetrically.
  const flat = gaussianBlur(new Float32Array(64).fill(0.4), 8, 8, 2);
  assert.ok(flat.every((v) => Math.abs(v - 0.4) < 1e-6));
  const impulse = new Float32Array(81);
  impulse[40] = 1;
  const blurred = gaussianBlur(impulse, 9, 9, 1);
  assert.ok(Math.abs(blurred[39]! - blurred[41]!) < 1e-9 && blurred[40]! > blurred[39]!);
  assert.throws(() => gaussianBlur(impulse, 9, 9, 0), /sigma must be positive/);
});
