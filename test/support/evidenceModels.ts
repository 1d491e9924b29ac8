import { join } from 'node:path';
import {
  floatTensor,
  OnnxAttributeType,
  OnnxDataType,
  writeModelPackage,
  writeOnnxModel,
  type ModelPackage,
  type OnnxValueInfo,
} from '../../src/inference/models/index.js';
import { writeTestModelPackage } from './onnxModels.js';

/**
 * A GAP + linear classifier whose evidence is known: features = ReLU(x ⊙ mask) with the mask
 * the top-left quadrant of its S×S input, logit = 8·mean(features) − 1. Only the quadrant can
 * move the score, and exact Grad-CAM is 8·x inside it and 0 outside — so a measurement of
 * where the heatmap lies has a right answer.
 */
export function buildQuadrantCamOnnx(size: number): Uint8Array {
  const mask = new Float32Array(size * size);
  for (let y = 0; y < size / 2; y++) for (let x = 0; x < size / 2; x++) mask[y * size + x] = 1;
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
  const node = (opType: string, input: string[], output: string) => ({
    name: output,
    opType,
    input,
    output: [output],
    attribute: [] as never[],
  });
  return writeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'radiolens-testing',
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
        floatTensor('mask', [1, 1, size, size], mask),
        floatTensor('head.weight', [1, 1], Float32Array.of(8)),
        floatTensor('head.bias', [1], Float32Array.of(-1)),
      ],
      input: [info('image', ['N', 1, size, size])],
      output: [info('scores', ['N', 1]), info('features', ['N', 1, size, size])],
    },
  });
}

/** The quadrant CAM model as a registry package `<dir>/quadrant-cam/1.0.0` (stretch resize). */
export async function writeQuadrantCamPackage(dir: string, size = 16): Promise<ModelPackage> {
  const template = await writeTestModelPackage(`${dir}-template`, { size });
  const { files: _files, ...manifest } = template.manifest;
  return writeModelPackage(
    join(dir, 'quadrant-cam', '1.0.0'),
    {
      ...manifest,
      id: 'quadrant-cam',
      input: { ...manifest.input, resize: 'stretch' },
      explanation: {
        method: 'cam',
        headWeight: 'head.weight',
        headWeightLayout: 'classByChannel',
        headBias: 'head.bias',
      },
    },
    { 'model.onnx': buildQuadrantCamOnnx(size) },
  );
}
