import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { createModelRunner, type FeatureMap } from './runtime.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-rt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function images(count: number, size: number, seed = 7): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => random()));
}

test('a batched run equals single runs, scores and feature maps', async (t) => {
  const pkg = await writeTestModelPackage(join(await tempDir(t), 'p'), { labels: 2 });
  const runner = await createModelRunner(pkg, { intraOpThreads: 1 });
  t.after(() => runner.dispose());
  const batch = images(5, 256);
  const together = await runner.run(batch);
  assert.equal(together.scores.length, 5);
  assert.equal(together.features?.length, 5);
  for (let i = 0; i < batch.length; i++) {
    const alone = await runner.run([batch[i]!]);
    assert.equal(alone.scores[0]!.length, 2);
    for (let l = 0; l < 2; l++) {
      assert.ok(Math.abs(alone.scores[0]![l]! - together.scores[i]![l]!) < 1e-6);
      assert.ok(together.scores[i]![l]! > 0 && together.scores[i]![l]! < 1);
    }
    const f: FeatureMap = together.features![i]!;
    assert.deepEqual([f.k, f.h, f.w], [8, 8, 8]);
    const single = alone.features![0]!.data;
    assert.ok(single.every((v, j) => Math.abs(v - f.data[j]!) < 1e-5));
  }
  assert.notDeepEqual(together.scores[0], together.scores[1]);
  assert.deepEqual(await runner.run([]), { scores: [], features: [] });
});

test('sigmoid applied by the runner equals sigmoid inside the graph', async (t) => {
  const dir = await tempDir(t);
  const inGraph = await writeTestModelPackage(join(dir, 'a'), { labels: 2, seed: 3 });
  // Same weights, but the package exposes logits and asks the runner for the sigmoid.
  const logits = await writeTestModelPackage(join(dir, 'b'), {
    labels: 2,
    seed: 3,
    sigmoidInGraph: false,
  });
  const a = await createModelRunner(inGraph, { intraOpThreads: 1 });
  const b = await createModelRunner(logits, { intraOpThreads: 1 });
  t.after(async () => {
    await a.dispose();
    await b.dispose();
  });
  const batch = images(3, 256, 11);
  const [ra, rb] = [await a.run(batch), await b.run(batch)];
  ra.scores.forEach((s, i) => s.forEach((v, l) => assert.ok(Math.abs(v - rb.scores[i]![l]!) < 1e-6)));

  const softmax = await writeTestModelPackage(join(dir, 'c'), {
    labels: 2,
    seed: 3,
    sigmoidInGraph: false,
    edit: (m) => ({ ...m, outputs: { ...m.outputs, activation: 'softmax' } }),
  });
  const c = await createModelRunner(softmax, { intraOpThreads: 1 });
  t.after(() => c.dispose());
  for (const s of (await c.run(batch)).scores) assert.ok(Math.abs(s[0]! + s[1]! - 1) < 1e-6);
});

test('a manifest that does not match the graph fails at load with E_MODEL_RUNTIME', async (t) => {
  const dir = await tempDir(t);
  const cases: [string, Parameters<typeof writeTestModelPackage>[1], RegExp][] = [
    ['input', { edit: (m) => ({ ...m, input: { ...m.input, inputName: 'pixels' } }) }, /no input "pixels" \(it has image\)/],
    ['size', { edit: (m) => ({ ...m, input: { ...m.input, width: 32 } }) }, /has shape \[N,1,16,16\], the manifest says \[N,1,16,32\]/],
    ['output', { edit: (m) => ({ ...m, outputs: { ...m.outputs, features: 'layer4' } }) }, /no output "layer4"/],
  ];
  for (const [name, options, message] of cases) {
    const pkg = await writeTestModelPackage(join(dir, name), options);
    await assert.rejects(createModelRunner(pkg), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'E_MODEL_RUNTIME');
      assert.match(error.message, message);
      return true;
    });
  }
  // A label list longer than the graph's output is caught at the first run.
  const pkg = await writeTestModelPackage(join(dir, 'labels'), {
    edit: (m) => ({ ...m, labels: [...m.labels, { ...m.labels[0]!, id: 'second' }] }),
  });
  const runner = await createModelRunner(pkg, { intraOpThreads: 1 });
  t.after(() => runner.dispose());
  await assert.rejects(runner.run(images(1, 256)), /E_MODEL_RUNTIME: .*has shape \[1,1\].*2 label\(s\)/);
  await assert.rejects(runner.run([new Float32Array(10)]), /E_BAD_INPUT: image 0 of the batch has 10 values/);
});
