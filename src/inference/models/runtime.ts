import { RadiolensError } from '../../foundation/core/index.js';
import { sharedInferencePool, type InferencePool } from './inferencePool.js';
import type { ModelPackage } from './package.js';

export interface FeatureMap {
  /** Channel-major [K, h, w] values for one image. */
  data: Float32Array;
  k: number;
  h: number;
  w: number;
}

export interface ModelRunResult {
  /** Per image, per label (manifest order): probabilities after the manifest's activation. */
  scores: Float32Array[];
  /** Per image, when the manifest declares a feature output. */
  features?: FeatureMap[];
}

export interface ModelRunner {
  readonly pkg: ModelPackage;
  /** Run a batch of preprocessed images, each CHW at the manifest's input size. */
  run(batch: readonly Float32Array[]): Promise<ModelRunResult>;
  dispose(): Promise<void>;
}

export interface ModelRunnerOptions {
  /** Threads for one operator; default lets onnxruntime choose (all cores). */
  intraOpThreads?: number;
  /** The worker threads that hold the session; default the process-wide pool (ADR 0121). */
  pool?: InferencePool;
}

/**
 * Open a package's ONNX graph on the CPU with onnxruntime-node (ADR 0032) in an inference
 * thread (ADR 0121), and check that the graph has the input and outputs the manifest
 * promises, so a mismatched package fails when it is loaded rather than in the middle of a
 * worklist.
 */
export async function createModelRunner(
  pkg: ModelPackage,
  options: ModelRunnerOptions = {},
): Promise<ModelRunner> {
  const { manifest } = pkg;
  const pool = options.pool ?? sharedInferencePool();
  let opened: Awaited<ReturnType<InferencePool['open']>>;
  try {
    opened = await pool.open({
      modelPath: pkg.modelPath,
      ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    });
  } catch (error) {
    throw runtimeError(pkg, `onnxruntime cannot load the graph (${(error as Error).message})`, error);
  }
  const { key, metadata } = opened;
  const { input, outputs } = manifest;
  const expectedInput = [input.channels, input.height, input.width];
  if (!metadata.inputNames.includes(input.inputName)) {
    await pool.release(key);
    throw runtimeError(
      pkg,
      `the graph has no input "${input.inputName}" (it has ${metadata.inputNames.join(', ')}) — fix input.inputName`,
    );
  }
  let fixedBatch: number | undefined;
  const shape = metadata.inputShapes[input.inputName];
  if (shape !== null && shape !== undefined && shape.length > 0) {
    const mismatch =
      shape.length !== 4 ||
      shape.slice(1).some((d, i) => typeof d === 'number' && d !== expectedInput[i]);
    if (mismatch) {
      await pool.release(key);
      throw runtimeError(
        pkg,
        `graph input "${input.inputName}" has shape [${shape.join(',')}], the manifest says [N,${expectedInput.join(',')}]`,
      );
    }
    if (typeof shape[0] === 'number') fixedBatch = shape[0];
  }
  for (const name of [outputs.scores, outputs.features]) {
    if (name !== undefined && !metadata.outputNames.includes(name)) {
      await pool.release(key);
      throw runtimeError(
        pkg,
        `the graph has no output "${name}" (it has ${metadata.outputNames.join(', ')}) — fix the manifest's outputs`,
      );
    }
  }
  const fetches = [outputs.scores, ...(outputs.features === undefined ? [] : [outputs.features])];
  const imageSize = input.channels * input.height * input.width;
  const labelCount = manifest.labels.length;

  const runOnce = async (batch: readonly Float32Array[]): Promise<ModelRunResult> => {
    const n = batch.length;
    const stacked = new Float32Array(n * imageSize);
    batch.forEach((image, i) => stacked.set(image, i * imageSize));
    let results: Awaited<ReturnType<InferencePool['run']>>;
    try {
      results = await pool.run(key, input.inputName, stacked, [n, ...expectedInput], fetches);
    } catch (error) {
      throw runtimeError(pkg, `inference failed (${(error as Error).message})`, error);
    }
    const scoresTensor = results[outputs.scores]!;
    const raw = scoresTensor.data;
    if (scoresTensor.type !== 'float32' || raw.length !== n * labelCount) {
      throw runtimeError(
        pkg,
        `output "${outputs.scores}" has shape [${scoresTensor.dims.join(',')}] (${scoresTensor.type}); the manifest has ${labelCount} label(s), so [${n},${labelCount}] float32 was expected`,
      );
    }
    const scores = Array.from({ length: n }, (_, i) =>
      activate(raw.slice(i * labelCount, (i + 1) * labelCount), outputs.activation),
    );
    if (outputs.features === undefined) return { scores };
    const featureTensor = results[outputs.features]!;
    const dims = featureTensor.dims;
    if (featureTensor.type !== 'float32' || dims.length !== 4 || dims[0] !== n) {
      throw runtimeError(
        pkg,
        `output "${outputs.features}" has shape [${dims.join(',')}] (${featureTensor.type}); a [${n},K,h,w] float32 feature map was expected`,
      );
    }
    const [, k, h, w] = dims as [number, number, number, number];
    const all = featureTensor.data;
    const size = k * h * w;
    const features = Array.from({ length: n }, (_, i) => ({
      data: all.slice(i * size, (i + 1) * size),
      k,
      h,
      w,
    }));
    return { scores, features };
  };

  return {
    pkg,
    async run(batch) {
      batch.forEach((image, i) => {
        if (image.length !== imageSize) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `image ${i} of the batch has ${image.length} values; ${manifest.id}@${manifest.version} needs ${input.channels}x${input.height}x${input.width} = ${imageSize}`,
          );
        }
      });
      if (batch.length === 0) return { scores: [], ...(outputs.features ? { features: [] } : {}) };
      // Graphs exported with a fixed batch size are run in chunks of that size.
      if (fixedBatch === undefined || fixedBatch === batch.length) return runOnce(batch);
      if (fixedBatch !== 1) {
        throw runtimeError(pkg, `the graph has a fixed batch size ${fixedBatch}; re-export it with a dynamic batch axis`);
      }
      const parts: ModelRunResult[] = [];
      for (const image of batch) parts.push(await runOnce([image]));
      return {
        scores: parts.flatMap((p) => p.scores),
        ...(outputs.features ? { features: parts.flatMap((p) => p.features ?? []) } : {}),
      };
    },
    async dispose() {
      await pool.release(key);
    },
  };
}

function activate(values: Float32Array, activation: 'sigmoid' | 'softmax' | 'none'): Float32Array {
  if (activation === 'none') return values;
  if (activation === 'sigmoid') return values.map((v) => 1 / (1 + Math.exp(-v)));
  // Subtract the max before exponentiating so large logits do not overflow.
  const max = values.reduce((a, b) => Math.max(a, b), -Infinity);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

function runtimeError(pkg: ModelPackage, message: string, cause?: unknown): RadiolensError {
  const { id, version } = pkg.manifest;
  return new RadiolensError('E_MODEL_RUNTIME', `${id}@${version} (${pkg.modelPath}): ${message}`, {
    subject: pkg.modelPath,
    ...(cause === undefined ? {} : { cause }),
  });
}
