import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createModelRunner,
  readInitializer,
  readOnnxModel,
} from '../../src/inference/models/index.js';
import { buildDenseNet121Onnx, seededRandom, writeTestModelPackage } from './onnxModels.js';

test('DenseNet-121 has the published topology and parameter count', () => {
  const net = buildDenseNet121Onnx(121);
  // torchvision densenet121: 7,978,856 parameters with its 1000-class head (1,025,000);
  // ours has a 1-label head (1,025), so 7,978,856 - 1,025,000 + 1,025.
  assert.equal(net.parameterCount, 6_954_881);
  assert.equal(net.convolutionCount, 120); // + the linear head = 121 weighted layers
  const model = readOnnxModel(net.bytes);
  assert.deepEqual(
    model.graph.output.map((o) => o.name),
    ['scores', 'features'],
  );
  assert.deepEqual(
    model.graph.output[1]?.type?.tensorType?.shape?.dim?.map((d) => d.dimValue ?? d.dimParam),
    ['N', 1024, 7, 7],
  );
  assert.deepEqual(readInitializer(model, 'classifier.weight').dims, [1, 1024]);
  assert.deepEqual(
    readInitializer(model, 'features.denseblock4.denselayer16.conv2.weight').dims,
    [32, 128, 3, 3],
  );
  assert.deepEqual(
    readInitializer(model, 'features.transition3.conv.weight').dims,
    [512, 1024, 1, 1],
  );
  const concats = model.graph.node.filter((n) => n.opType === 'Concat').length;
  assert.equal(concats, 6 + 12 + 24 + 16);
});

test('the same seed gives the same weights', () => {
  const a = seededRandom(5);
  const b = seededRandom(5);
  assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
});

test(
  'DenseNet-121 runs in onnxruntime with a 1024x7x7 feature map (RADIOLENS_SLOW=1)',
  { skip: process.env.RADIOLENS_SLOW !== '1' },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-densenet-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const pkg = await writeTestModelPackage(dir, { architecture: 'densenet121' });
    const runner = await createModelRunner(pkg);
    t.after(() => runner.dispose());
    const result = await runner.run([new Float32Array(3 * 224 * 224).fill(0.1)]);
    const f = result.features![0]!;
    assert.deepEqual([f.k, f.h, f.w], [1024, 7, 7]);
    assert.ok(result.scores[0]![0]! > 0 && result.scores[0]![0]! < 1);
  },
);
