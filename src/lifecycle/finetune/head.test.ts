import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSmallCnnOnnx } from '../../../test/support/index.js';
import { readInitializer, type ModelManifest } from '../../inference/models/index.js';
import { headRow, readLinearHead, replaceHeadRow } from './head.js';

function manifestFor(layout: 'classByChannel' | 'channelByClass', labels: number): ModelManifest {
  return {
    id: 'm',
    version: '1.0.0',
    labels: Array.from({ length: labels }, (_, i) => ({ id: `l${i}` })),
    explanation: {
      method: 'cam',
      headWeight: 'head.weight',
      headWeightLayout: layout,
      headBias: 'head.bias',
    },
  } as unknown as ModelManifest;
}

test('replaces one label row, keeps the other label and every other initializer', () => {
  const cnn = buildSmallCnnOnnx({ labels: 2, featureChannels: 8 });
  const manifest = manifestFor('classByChannel', 2);
  const head = readLinearHead(cnn.bytes, manifest);
  assert.equal(head.channels, 8);
  assert.deepEqual(headRow(head, 1).weights, cnn.headWeight.slice(8, 16));
  const weights = Float32Array.from({ length: 8 }, (_, i) => i / 10);
  const bytes = replaceHeadRow(cnn.bytes, manifest, 0, { weights, bias: -0.25 });
  const after = readLinearHead(bytes, manifest);
  assert.deepEqual(headRow(after, 0).weights, weights);
  assert.equal(headRow(after, 0).bias, -0.25);
  assert.deepEqual(headRow(after, 1), headRow(head, 1));
  assert.deepEqual(
    readInitializer(bytes, 'conv2.weight'),
    readInitializer(cnn.bytes, 'conv2.weight'),
  );
  assert.throws(
    () => replaceHeadRow(cnn.bytes, manifest, 0, { weights: [1], bias: 0 }),
    /8 feature channels/,
  );
});

test('channelByClass layout: reads and writes the column', () => {
  const cnn = buildSmallCnnOnnx({ labels: 1, featureChannels: 4 });
  // A [1,4] head read as [K=1? no]: a 1-label head is [C,K]=[1,4]; as channelByClass it must be [4,1].
  const manifest = manifestFor('channelByClass', 1);
  assert.throws(() => readLinearHead(cnn.bytes, manifest), /do not fit/);
});
