import { RadiolensError } from '../../foundation/core/index.js';
import type { BatchScorer } from '../../inference/explain/index.js';

/** Score after each step of removing (deletion) or revealing (insertion) pixels in an order. */
export interface PerturbationCurves {
  /** Fraction of pixels changed at each point: 0, step, 2·step, …, 1. */
  fractions: number[];
  deletion: number[];
  insertion: number[];
}

export interface CurveOptions {
  /** Fraction of pixels per step; default 0.02 (51 points). */
  step?: number;
  labelIndex?: number;
  /** Perturbed copies per model run; default 17 (three runs per curve at 2% steps). */
  batchSize?: number;
}

/**
 * Deletion and insertion curves (Petsiuk et al. 2018): pixels are taken in `order` (most
 * salient first) and, step by step, replaced by the baseline (deletion: starting from the
 * image) or copied from the image into the baseline (insertion: starting from the
 * baseline). A pixel is a spatial position: all channels move together.
 */
export async function perturbationCurves(
  run: BatchScorer,
  input: { data: Float32Array; channels: number; width: number; height: number },
  baseline: Float32Array,
  order: Int32Array,
  options: CurveOptions = {},
): Promise<PerturbationCurves> {
  const { data, channels, width, height } = input;
  const plane = width * height;
  const step = options.step ?? 0.02;
  const label = options.labelIndex ?? 0;
  const batchSize = options.batchSize ?? 17;
  if (
    order.length !== plane ||
    baseline.length !== data.length ||
    data.length !== channels * plane
  ) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `faithfulness: order has ${order.length} pixels, baseline ${baseline.length} and input ${data.length} values for ${channels}x${height}x${width}`,
    );
  }
  if (!(step > 0 && step <= 1))
    throw new RadiolensError('E_BAD_INPUT', `step ${step} is not in (0, 1]`);
  const steps = Math.ceil(1 / step - 1e-9);
  const counts = Array.from({ length: steps + 1 }, (_, k) =>
    Math.min(plane, Math.round(k * step * plane)),
  );
  const fractions = counts.map((c) => c / plane);
  const curve = async (from: Float32Array, to: Float32Array): Promise<number[]> => {
    const scores: number[] = [];
    const current = Float32Array.from(from);
    let done = 0;
    let batch: Float32Array[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const result = await run(batch);
      for (const s of result.scores) scores.push(s[label]!);
      batch = [];
    };
    for (const count of counts) {
      for (; done < count; done++) {
        const pixel = order[done]!;
        for (let c = 0; c < channels; c++) current[c * plane + pixel] = to[c * plane + pixel]!;
      }
      batch.push(Float32Array.from(current));
      if (batch.length === batchSize) await flush();
    }
    await flush();
    return scores;
  };
  return {
    fractions,
    deletion: await curve(data, baseline),
    insertion: await curve(baseline, data),
  };
}

/** Area under a curve over [0, 1] by the trapezoidal rule. */
export function areaUnderCurve(fractions: readonly number[], values: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < fractions.length; i++) {
    area += ((fractions[i]! - fractions[i - 1]!) * (values[i]! + values[i - 1]!)) / 2;
  }
  return area;
}

/**
 * Pixels by decreasing saliency. Ties (Grad-CAM's ReLU leaves many exact zeros) are broken by
 * a seeded random draw, so a flat region is removed in no particular spatial order — the same
 * treatment the random baseline gets.
 */
export function saliencyOrder(map: Float32Array, random: () => number): Int32Array {
  const keys = Float64Array.from(map, () => random());
  const indices = Int32Array.from(map, (_, i) => i);
  return indices.sort((a, b) => map[b]! - map[a]! || keys[a]! - keys[b]!);
}

/** A uniformly random order (Fisher–Yates) from a seeded source. */
export function randomOrder(n: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
