import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  createModelRunner,
  readInitializer,
  replaceInitializers,
  sha256,
  type ModelManifest,
} from '../models/index.js';
import {
  buildHeadOnnx,
  seededRandom,
  writeTestModelPackage,
} from '../../../test/support/onnxModels.js';
import { loadCamHead } from './camHead.js';
import { exactGradCam } from './gradcam.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-cam-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The proof that the shortcut is Grad-CAM: differentiate each class logit with respect to
 * every element of the feature map A by central finite differences, evaluated by onnxruntime
 * on the model's own head (features → GAP → Gemm), take Grad-CAM's α_ck as the spatial mean
 * of those gradients, and compare ReLU(Σ α_ck A_k) with exactGradCam / (h·w).
 */
test('exact Grad-CAM equals gradient-based Grad-CAM (finite differences through onnxruntime)', async (t) => {
  const dir = await tempDir(t);
  const pkg = await writeTestModelPackage(join(dir, 'p'), { labels: 2, seed: 7 });
  const runner = await createModelRunner(pkg, { intraOpThreads: 1 });
  t.after(() => runner.dispose());
  const random = seededRandom(99);
  const image = Float32Array.from({ length: 256 }, () => random());
  const { scores, features } = await runner.run([image]);
  const A = features![0]!;
  const { k, h, w } = A;
  const area = h * w;

  const modelBytes = await readFile(pkg.modelPath);
  const headWeight = readInitializer(modelBytes, 'head.weight').data;
  const headBias = readInitializer(modelBytes, 'head.bias').data;
  const head = await InferenceSession.create(
    Buffer.from(buildHeadOnnx(headWeight, headBias, { k, h, w })),
  );
  t.after(() => head.release());
  const logits = async (batch: Float32Array[]): Promise<Float32Array> => {
    const stacked = new Float32Array(batch.length * k * area);
    batch.forEach((b, i) => stacked.set(b, i * k * area));
    const out = await head.run({
      features: new Tensor('float32', stacked, [batch.length, k, h, w]),
    });
    return out.logits!.data as Float32Array;
  };

  // The head model is the network's head: it reproduces the full model's scores from A.
  const base = await logits([A.data]);
  for (let c = 0; c < 2; c++) {
    assert.ok(Math.abs(1 / (1 + Math.exp(-base[c]!)) - scores[0]![c]!) < 1e-5);
  }

  // One batch of 2·K·h·w perturbed feature maps: A ± eps at each element.
  const eps = 0.25;
  const perturbed: Float32Array[] = [];
  for (let e = 0; e < k * area; e++) {
    for (const sign of [1, -1]) {
      const copy = A.data.slice();
      copy[e]! += sign * eps;
      perturbed.push(copy);
    }
  }
  const out = await logits(perturbed);
  const cam = await loadCamHead(pkg);
  for (let c = 0; c < 2; c++) {
    const alpha = new Float64Array(k);
    for (let e = 0; e < k * area; e++) {
      const gradient = (out[2 * e * 2 + c]! - out[(2 * e + 1) * 2 + c]!) / (2 * eps);
      alpha[Math.floor(e / area)]! += gradient / area;
    }
    const reference = new Float64Array(area);
    for (let i = 0; i < area; i++) {
      let sum = 0;
      for (let ch = 0; ch < k; ch++) sum += alpha[ch]! * A.data[ch * area + i]!;
      reference[i] = Math.max(0, sum);
    }
    const ours = exactGradCam(A, cam.weightsFor(c), { width: w, height: h });
    const refMax = Math.max(...reference);
    assert.ok(refMax > 0, 'the test image must produce some class evidence');
    assert.ok(
      reference.some((v) => v === 0),
      'and some negative evidence clipped by ReLU',
    );
    let worst = 0;
    for (let i = 0; i < area; i++) {
      worst = Math.max(worst, Math.abs(ours.data[i]! / area - reference[i]!));
    }
    assert.ok(worst / refMax < 1e-4, `class ${c}: relative difference ${worst / refMax}`);
  }
});

test('loadCamHead reads [C,K] and [K,C] layouts and checks them against the labels', async (t) => {
  const dir = await tempDir(t);
  const pkg = await writeTestModelPackage(join(dir, 'ck'), { labels: 2, seed: 5 });
  const byClass = await loadCamHead(pkg);
  assert.equal(byClass.channels, 8);
  const weight = readInitializer(await readFile(pkg.modelPath), 'head.weight').data;
  assert.deepEqual(byClass.weightsFor(1), weight.slice(8, 16));

  // The same head stored transposed, [K, C], as a TensorFlow-style export would.
  const transposed = new Float32Array(16);
  for (let c = 0; c < 2; c++)
    for (let kk = 0; kk < 8; kk++) transposed[kk * 2 + c] = weight[c * 8 + kk]!;
  const kcDir = join(dir, 'kc');
  await writeTestModelPackage(kcDir, { labels: 2, seed: 5 });
  const bytes = replaceInitializers(await readFile(join(kcDir, 'model.onnx')), {
    'head.weight': { dims: [8, 2], data: transposed },
  });
  await writeFile(join(kcDir, 'model.onnx'), bytes);
  const manifest = JSON.parse(
    await readFile(join(kcDir, 'manifest.json'), 'utf8'),
  ) as ModelManifest;
  if (manifest.explanation.method === 'cam')
    manifest.explanation.headWeightLayout = 'channelByClass';
  manifest.files['model.onnx'] = sha256(bytes);
  await writeFile(join(kcDir, 'manifest.json'), JSON.stringify(manifest));
  const { loadModelPackage } = await import('../models/index.js');
  const byChannel = await loadCamHead(await loadModelPackage(kcDir));
  assert.deepEqual(byChannel.weightsFor(0), byClass.weightsFor(0));
  assert.deepEqual(byChannel.weightsFor(1), byClass.weightsFor(1));

  // A layout that contradicts the label count is caught.
  manifest.explanation = {
    ...manifest.explanation,
    headWeightLayout: 'classByChannel',
  } as ModelManifest['explanation'];
  await writeFile(join(kcDir, 'manifest.json'), JSON.stringify(manifest));
  await assert.rejects(
    loadCamHead(await loadModelPackage(kcDir)),
    /E_MODEL_RUNTIME: .*dims \[8,2\].*does not fit/,
  );
});

test('exactGradCam refuses weights that do not match the feature channels', () => {
  assert.throws(
    () =>
      exactGradCam({ data: new Float32Array(8), k: 2, h: 2, w: 2 }, new Float32Array(3), {
        width: 4,
        height: 4,
      }),
    /E_BAD_INPUT: Grad-CAM: the head has 3 weights per class but the feature map has 2 channels/,
  );
});
