import { readFile } from 'node:fs/promises';
import { RadiolensError } from '../../foundation/core/index.js';
import { readInitializer, type ModelPackage } from '../models/index.js';

/** The linear head of a GAP+linear classifier, as exact Grad-CAM needs it. */
export interface CamHead {
  labels: number;
  /** Feature channels K. */
  channels: number;
  /** The K weights of class `labelIndex` (manifest label order). */
  weightsFor(labelIndex: number): Float32Array;
  bias: Float32Array;
}

/**
 * Read the head's weight and bias initializers named by the manifest out of the package's
 * ONNX file, in either layout ([C,K] or [K,C]), and check they agree with the label list.
 */
export async function loadCamHead(pkg: ModelPackage): Promise<CamHead> {
  const { explanation, labels, id, version } = pkg.manifest;
  if (explanation.method !== 'cam') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${id}@${version} is explained by ${explanation.method}, not by exact Grad-CAM — use occlusionSensitivity`,
    );
  }
  const model = await readFile(pkg.modelPath);
  const weight = readInitializer(model, explanation.headWeight);
  const bias = readInitializer(model, explanation.headBias);
  const c = labels.length;
  const [rows, cols] = weight.dims;
  const classByChannel = explanation.headWeightLayout === 'classByChannel';
  const classes = classByChannel ? rows : cols;
  const k = (classByChannel ? cols : rows) ?? 0;
  if (weight.dims.length !== 2 || classes !== c || bias.data.length !== c) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `${id}@${version}: head weight ${explanation.headWeight} has dims [${weight.dims.join(',')}] and bias ${bias.data.length} value(s); with layout ${explanation.headWeightLayout} and ${c} label(s) that does not fit — fix explanation.headWeightLayout or the labels`,
      { subject: pkg.modelPath },
    );
  }
  return {
    labels: c,
    channels: k,
    bias: bias.data,
    weightsFor(labelIndex) {
      if (!(labelIndex >= 0 && labelIndex < c)) {
        throw new RadiolensError('E_BAD_INPUT', `label index ${labelIndex} is outside 0..${c - 1}`);
      }
      if (classByChannel) return weight.data.slice(labelIndex * k, (labelIndex + 1) * k);
      const out = new Float32Array(k);
      for (let i = 0; i < k; i++) out[i] = weight.data[i * c + labelIndex]!;
      return out;
    },
  };
}
