/**
 * The linear head inside a package's ONNX graph: read one label's row, write a new row back.
 * Only the two head initializers change; every other byte of the graph is kept
 * (replaceInitializers), so the backbone — and therefore the pooled features and the exact
 * Grad-CAM — stay those of the parent model.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import {
  readInitializer,
  replaceInitializers,
  type ModelManifest,
} from '../../inference/models/index.js';

export interface LinearHead {
  /** Weight matrix values as stored, with its dims and layout. */
  weight: Float32Array;
  dims: number[];
  layout: 'classByChannel' | 'channelByClass';
  bias: Float32Array;
  labels: number;
  channels: number;
}

export function readLinearHead(modelBytes: Uint8Array, manifest: ModelManifest): LinearHead {
  const { explanation, id, version, labels } = manifest;
  if (explanation.method !== 'cam') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${id}@${version} does not expose a GAP + linear head (explanation method ${explanation.method}) — only such models can be head-fine-tuned`,
    );
  }
  const weight = readInitializer(modelBytes, explanation.headWeight);
  const bias = readInitializer(modelBytes, explanation.headBias);
  const classByChannel = explanation.headWeightLayout === 'classByChannel';
  const [rows, cols] = weight.dims;
  const classes = classByChannel ? rows : cols;
  const channels = (classByChannel ? cols : rows) ?? 0;
  if (weight.dims.length !== 2 || classes !== labels.length || bias.data.length !== labels.length) {
    throw new RadiolensError(
      'E_MODEL_RUNTIME',
      `${id}@${version}: head ${explanation.headWeight} [${weight.dims.join(',')}] / ${explanation.headBias} [${bias.data.length}] do not fit ${labels.length} label(s) with layout ${explanation.headWeightLayout} — fix the manifest`,
    );
  }
  return {
    weight: weight.data,
    dims: weight.dims,
    layout: explanation.headWeightLayout,
    bias: bias.data,
    labels: labels.length,
    channels,
  };
}

/** One label's K weights and its bias. */
export function headRow(
  head: LinearHead,
  labelIndex: number,
): { weights: Float32Array; bias: number } {
  const { channels: k, labels: c } = head;
  const weights = new Float32Array(k);
  for (let i = 0; i < k; i++) {
    weights[i] =
      head.layout === 'classByChannel'
        ? head.weight[labelIndex * k + i]!
        : head.weight[i * c + labelIndex]!;
  }
  return { weights, bias: head.bias[labelIndex]! };
}

/**
 * New model bytes with one label's head row replaced; the other labels' rows are kept. The
 * values are stored as float32, as the graph computes; callers compare against these.
 */
export function replaceHeadRow(
  modelBytes: Uint8Array,
  manifest: ModelManifest,
  labelIndex: number,
  row: { weights: ArrayLike<number>; bias: number },
): Uint8Array {
  const head = readLinearHead(modelBytes, manifest);
  if (row.weights.length !== head.channels) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `new head row has ${row.weights.length} weights, the model's head has ${head.channels} feature channels`,
    );
  }
  const weight = Float32Array.from(head.weight);
  const { channels: k, labels: c } = head;
  for (let i = 0; i < k; i++) {
    if (head.layout === 'classByChannel') weight[labelIndex * k + i] = row.weights[i]!;
    else weight[i * c + labelIndex] = row.weights[i]!;
  }
  const bias = Float32Array.from(head.bias);
  bias[labelIndex] = row.bias;
  if (manifest.explanation.method !== 'cam')
    throw new Error('unreachable: checked by readLinearHead');
  return replaceInitializers(modelBytes, {
    [manifest.explanation.headWeight]: weight,
    [manifest.explanation.headBias]: bias,
  });
}
