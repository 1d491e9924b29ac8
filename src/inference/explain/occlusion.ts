import { RadiolensError } from '../../foundation/core/index.js';
import { maxOf, resampleToImage, type Heatmap, type HeatmapTarget } from './heatmap.js';

/** One preprocessed model input (CHW), exactly as it is fed to the model. */
export interface OcclusionInput {
  data: Float32Array;
  channels: number;
  width: number;
  height: number;
}

export interface OcclusionSpec {
  /** Square patch side, in model-input pixels. */
  patch: number;
  stride: number;
  /** Value written under the patch, in normalised input units. Default 0. */
  baseline?: number;
}

export interface OcclusionOptions {
  /** Which label's score to explain (manifest order). Default 0. */
  labelIndex?: number;
  /** Occluded copies per model run. Default 16. */
  batchSize?: number;
  /** Resample onto this image; absent: the map stays at model-input resolution. */
  target?: HeatmapTarget;
}

/** Any batched scorer: a ModelRunner's run() fits. */
export type BatchScorer = (batch: Float32Array[]) => Promise<{ scores: Float32Array[] }>;

/**
 * Occlusion sensitivity (Zeiler & Fergus 2014), the model-agnostic fallback (ADR 0033): slide
 * a patch of the baseline value over the input, score every occluded copy in batches, and
 * give each pixel the mean score drop of the patches covering it. Only drops count (ReLU):
 * the map shows what supported the finding, like Grad-CAM. Needs forward passes only, so it
 * works for any architecture — at the cost of one run per patch position.
 */
export async function occlusionSensitivity(
  run: BatchScorer,
  input: OcclusionInput,
  spec: OcclusionSpec,
  options: OcclusionOptions = {},
): Promise<Heatmap> {
  const { width, height, channels, data } = input;
  const { patch, stride } = spec;
  const baseline = spec.baseline ?? 0;
  const label = options.labelIndex ?? 0;
  const batchSize = options.batchSize ?? 16;
  if (data.length !== channels * width * height) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `occlusion: input holds ${data.length} values, not ${channels}x${height}x${width}`,
    );
  }
  if (!(patch >= 1 && stride >= 1 && patch <= width && patch <= height)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `occlusion: patch ${patch} / stride ${stride} do not fit a ${width}x${height} input`,
    );
  }
  const score = async (batch: Float32Array[]): Promise<number[]> => {
    const { scores } = await run(batch);
    return scores.map((s, i) => {
      const value = s[label];
      if (value === undefined) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `occlusion: image ${i} has no score for label index ${label}`,
        );
      }
      return value;
    });
  };
  const [reference] = await score([data]);
  const xs = positions(width, patch, stride);
  const ys = positions(height, patch, stride);
  const plane = width * height;
  const sum = new Float32Array(plane);
  const count = new Float32Array(plane);
  const all = ys.flatMap((y) => xs.map((x) => ({ x, y })));
  for (let start = 0; start < all.length; start += batchSize) {
    const group = all.slice(start, start + batchSize);
    const batch = group.map(({ x, y }) => {
      const copy = data.slice();
      for (let c = 0; c < channels; c++) {
        for (let yy = y; yy < y + patch; yy++) {
          copy.fill(baseline, c * plane + yy * width + x, c * plane + yy * width + x + patch);
        }
      }
      return copy;
    });
    const scores = await score(batch);
    group.forEach(({ x, y }, i) => {
      const drop = reference! - scores[i]!;
      for (let yy = y; yy < y + patch; yy++) {
        for (let xx = x; xx < x + patch; xx++) {
          sum[yy * width + xx]! += drop;
          count[yy * width + xx]! += 1;
        }
      }
    });
  }
  const map = new Float32Array(plane);
  for (let i = 0; i < plane; i++) map[i] = count[i]! > 0 ? Math.max(0, sum[i]! / count[i]!) : 0;
  const target = options.target;
  const out = target === undefined ? map : resampleToImage({ width, height, data: map }, target);
  return {
    width: target?.width ?? width,
    height: target?.height ?? height,
    data: out,
    max: maxOf(out),
  };
}

/** Patch origins along one axis, always including the last one so the far edge is covered. */
function positions(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + patch <= size; p += stride) out.push(p);
  if (out.at(-1) !== size - patch) out.push(size - patch);
  return out;
}
