import { RadiolensError } from '../../foundation/core/index.js';

/**
 * What a "removed" pixel becomes. Zeroing pixels (or filling with black) creates sharp edges
 * the network never saw, and the score then tracks the artefact rather than the evidence; a
 * heavily blurred copy of the same image keeps the intensity distribution but removes the
 * structure (Petsiuk et al. 2018, RISE). The per-channel mean is the simpler alternative.
 */
export type FaithfulnessBaseline = { kind: 'blur'; sigma: number } | { kind: 'mean' };

export function baselineImage(
  input: Float32Array,
  channels: number,
  width: number,
  height: number,
  baseline: FaithfulnessBaseline,
): Float32Array {
  const plane = width * height;
  if (input.length !== channels * plane) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `input holds ${input.length} values, not ${channels}x${height}x${width}`,
    );
  }
  const out = new Float32Array(input.length);
  for (let c = 0; c < channels; c++) {
    const channel = input.subarray(c * plane, (c + 1) * plane);
    if (baseline.kind === 'mean') {
      let sum = 0;
      for (const v of channel) sum += v;
      out.fill(sum / plane, c * plane, (c + 1) * plane);
    } else {
      out.set(gaussianBlur(channel, width, height, baseline.sigma), c * plane);
    }
  }
  return out;
}

/** Separable Gaussian blur, kernel ±3σ, edges held (clamped), weights renormalised. */
export function gaussianBlur(
  plane: Float32Array,
  width: number,
  height: number,
  sigma: number,
): Float32Array {
  if (!(sigma > 0))
    throw new RadiolensError('E_BAD_INPUT', `blur sigma must be positive, got ${sigma}`);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    total += kernel[i + radius]!;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= total;
  const horizontal = new Float32Array(plane.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) {
        const xx = Math.min(width - 1, Math.max(0, x + k));
        sum += kernel[k + radius]! * plane[row + xx]!;
      }
      horizontal[row + x] = sum;
    }
  }
  const out = new Float32Array(plane.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) {
        const yy = Math.min(height - 1, Math.max(0, y + k));
        sum += kernel[k + radius]! * horizontal[yy * width + x]!;
      }
      out[y * width + x] = sum;
    }
  }
  return out;
}
