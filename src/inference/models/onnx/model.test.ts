import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { buildSmallCnnOnnx } from '../../../../test/support/onnxModels.js';
import {
  OnnxDataType,
  readInitializer,
  readOnnxModel,
  replaceInitializers,
  writeOnnxModel,
  type OnnxModel,
} from './model.js';

test('read then write reproduces the model byte for byte', () => {
  const { bytes } = buildSmallCnnOnnx({ labels: 2 });
  const model = readOnnxModel(bytes);
  assert.equal(model.irVersion, 8);
  assert.deepEqual(model.opsetImport, [{ version: 17 }]);
  assert.deepEqual(
    model.graph.node.map((n) => n.opType),
    ['Conv', 'Relu', 'Conv', 'Relu', 'GlobalAveragePool', 'Flatten', 'Gemm', 'Sigmoid'],
  );
  assert.deepEqual(model.graph.input[0]?.type?.tensorType?.shape?.dim, [
    { dimParam: 'N' },
    { dimValue: 1 },
    { dimValue: 16 },
    { dimValue: 16 },
  ]);
  assert.deepEqual(writeOnnxModel(model), bytes);
});

test('readInitializer returns the head weights from raw_data and float_data alike', () => {
  const cnn = buildSmallCnnOnnx({ labels: 2, featureChannels: 5, seed: 9 });
  const weight = readInitializer(cnn.bytes, 'head.weight');
  assert.deepEqual(weight.dims, [2, 5]);
  assert.deepEqual(weight.data, cnn.headWeight);
  const model: OnnxModel = {
    irVersion: 8,
    opsetImport: [{ version: 17 }],
    graph: {
      node: [],
      input: [],
      output: [],
      initializer: [{ name: 'w', dims: [3], dataType: OnnxDataType.FLOAT, floatData: [1.5, -2, 0.25] }],
    },
  };
  assert.deepEqual(readInitializer(writeOnnxModel(model), 'w').data, Float32Array.of(1.5, -2, 0.25));
  assert.throws(() => readInitializer(cnn.bytes, 'fc.weight'), /E_MODEL_RUNTIME: the ONNX graph has no initializer named "fc.weight" \(it has 6: conv1.weight/);
});

test('replaceInitializers swaps only the named tensors and keeps unknown fields verbatim', () => {
  const cnn = buildSmallCnnOnnx({ labels: 1 });
  // Fields this reader does not model: ModelProto.training_info (20) and, inside the graph,
  // GraphProto.quantization_annotation (14). A fine-tuned model must keep them.
  const trailer = protobuf.Writer.create().uint32((20 << 3) | 2).bytes(Buffer.from('training-info')).finish();
  const withUnknown = Buffer.concat([cnn.bytes, trailer]);
  const newBias = Float32Array.of(3.5);
  const out = replaceInitializers(withUnknown, { 'head.bias': newBias });
  assert.deepEqual(Buffer.from(out.subarray(out.length - trailer.length)), Buffer.from(trailer));
  const before = readOnnxModel(withUnknown);
  const after = readOnnxModel(out);
  assert.deepEqual(readInitializer(after, 'head.bias').data, newBias);
  assert.deepEqual(after.graph.node, before.graph.node);
  for (const tensor of before.graph.initializer.filter((t) => t.name !== 'head.bias')) {
    assert.deepEqual(readInitializer(after, tensor.name), readInitializer(before, tensor.name));
  }
});

test('replaceInitializers accepts new dims, refuses wrong sizes and unknown names', () => {
  const cnn = buildSmallCnnOnnx({ labels: 1, featureChannels: 4 });
  const twoLabels = replaceInitializers(cnn.bytes, {
    'head.weight': { dims: [2, 4], data: new Float32Array(8).fill(0.5) },
  });
  assert.deepEqual(readInitializer(twoLabels, 'head.weight').dims, [2, 4]);
  assert.throws(() => replaceInitializers(cnn.bytes, { 'head.weight': new Float32Array(3) }), /E_BAD_INPUT: tensor head.weight: dims \[1,4\] need 4 values, got 3/);
  assert.throws(() => replaceInitializers(cnn.bytes, { 'fc.bias': new Float32Array(1) }), /E_BAD_INPUT: no initializer named fc.bias/);
});

test('bytes that are not ONNX are refused with E_MODEL_RUNTIME', () => {
  assert.throws(() => readOnnxModel(Buffer.from('not a model at all'), 'x.onnx'), /E_MODEL_RUNTIME: x.onnx/);
});
