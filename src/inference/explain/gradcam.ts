import { RadiolensError } from '../../foundation/core/index.js';
import {
  resampleRows,
  resampleWithMax,
  type Heatmap,
  type HeatmapRows,
  type HeatmapTarget,
} from './heatmap.js';

export interface FeatureMapInput {
  /** [K, h, w] channel-major values for one image. */
  data: Float32Array;
  k: number;
  h: number;
  w: number;
}

/**
 * Grad-CAM for a network whose head is global average pooling then a linear layer
 * (ARCHITECTURE.md, ADR 0033). The logit is y_c = Σ_k w_ck · mean(A_k) + b_c, so
 * ∂y_c/∂A_k(i,j) = w_ck / (h·w) everywhere, Grad-CAM's channel weight α_ck (the spatial mean
 * of that gradient) is w_ck / (h·w), and ReLU(Σ_k α_ck A_k) = ReLU(Σ_k w_ck A_k) / (h·w).
 * We return ReLU(Σ_k w_ck A_k) — Grad-CAM exactly, times the constant h·w — from one forward
 * pass, with no backward pass and no approximation. The map is then resampled onto the image.
 *
 * `weights` are the head's K weights for one class (see loadCamHead).
 */
export function exactGradCam(
  features: FeatureMapInput,
  weights: Float32Array,
  target: HeatmapTarget,
): Heatmap {
  return resampleWithMax(classActivation(features, weights), target);
}

/**
 * exactGradCam one row at a time (the same values), for a map that is only written out —
 * the source-grid heatmap PNGs — and need never be held whole.
 */
export function exactGradCamRows(
  features: FeatureMapInput,
  weights: Float32Array,
  target: HeatmapTarget,
): HeatmapRows {
  return resampleRows(classActivation(features, weights), target);
}

/** ReLU(Σ_k w_ck A_k) on the feature grid. */
function classActivation(
  features: FeatureMapInput,
  weights: Float32Array,
): { width: number; height: number; data: Float32Array } {
  const { k, h, w, data } = features;
  if (weights.length !== k) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Grad-CAM: the head has ${weights.length} weights per class but the feature map has ${k} channels — the manifest's explanation does not match the model`,
    );
  }
  if (data.length !== k * h * w) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Grad-CAM: feature map holds ${data.length} values, not ${k}x${h}x${w}`,
    );
  }
  const area = h * w;
  const cam = new Float32Array(area);
  for (let c = 0; c < k; c++) {
    const weight = weights[c]!;
    if (weight === 0) continue;
    const offset = c * area;
    for (let i = 0; i < area; i++) cam[i]! += weight * data[offset + i]!;
  }
  for (let i = 0; i < area; i++) if (cam[i]! < 0) cam[i] = 0;
  return { width: w, height: h, data: cam };
}
