/**
 * Resampling a grey image to a model's input size (ADR 0021). Downscaling is an exact box
 * filter: each output pixel is the area-weighted mean of the source pixels its footprint
 * covers, fractional coverage included, so no source pixel is skipped (no aliasing of fine
 * structure such as lines or nodules' edges) and the image mean is preserved. Upscaling is
 * bilinear with pixel centres at (i + 0.5), the convention of PIL/OpenCV/PyTorch
 * (align_corners = false) that most models were trained with.
 *
 * Both filters are separable, so the image is resampled along x then y; each axis picks its
 * own filter (a 3000×2000 → 512×1024 resize shrinks x and grows y).
 */
import { RadiolensError } from '../core/index.js';
import type { GreyImage } from './types.js';

/** For one axis: output i = Σ_t weight[t] · source[index[t]] for t in start[i] … start[i+1]−1. */
interface AxisKernel {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

export function resizeArea(image: GreyImage, width: number, height: number): GreyImage {
  checkSize(width, height, 'target');
  checkSize(image.width, image.height, 'source');
  if (width === image.width && height === image.height) {
    return { width, height, data: new Float32Array(image.data) };
  }
  const xKernel = axisKernel(image.width, width);
  const yKernel = axisKernel(image.height, height);
  // Horizontal pass into a float64 buffer, so the two passes round only once.
  const horizontal = new Float64Array(width * image.height);
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width;
    const outRow = y * width;
    for (let x = 0; x < width; x++) {
      let sum = 0;
      const end = xKernel.start[x + 1] as number;
      for (let t = xKernel.start[x] as number; t < end; t++) {
        sum +=
          (xKernel.weight[t] as number) *
          (image.data[row + (xKernel.index[t] as number)] as number);
      }
      horizontal[outRow + x] = sum;
    }
  }
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const end = yKernel.start[y + 1] as number;
    const outRow = y * width;
    for (let t = yKernel.start[y] as number; t < end; t++) {
      const w = yKernel.weight[t] as number;
      const sourceRow = (yKernel.index[t] as number) * width;
      for (let x = 0; x < width; x++) {
        data[outRow + x] = (data[outRow + x] as number) + w * (horizontal[sourceRow + x] as number);
      }
    }
  }
  return { width, height, data };
}

function axisKernel(source: number, target: number): AxisKernel {
  return target < source ? boxKernel(source, target) : bilinearKernel(source, target);
}

/** Output i covers source [i·s, (i+1)·s) with s = source/target; weights are overlap / s. */
function boxKernel(source: number, target: number): AxisKernel {
  const scale = source / target;
  const start = new Int32Array(target + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < target; i++) {
    start[i] = index.length;
    // Computing the edges from i (not by accumulation) keeps them exact for integer ratios.
    const from = (i * source) / target;
    const to = ((i + 1) * source) / target;
    for (let j = Math.floor(from); j < Math.min(Math.ceil(to), source); j++) {
      const overlap = Math.min(to, j + 1) - Math.max(from, j);
      if (overlap <= 0) continue;
      index.push(j);
      weight.push(overlap / scale);
    }
  }
  start[target] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** Sample at (i + 0.5)·s − 0.5, clamped to the edge pixels' centres. */
function bilinearKernel(source: number, target: number): AxisKernel {
  const scale = source / target;
  const start = new Int32Array(target + 1);
  const index = new Int32Array(target * 2);
  const weight = new Float64Array(target * 2);
  for (let i = 0; i < target; i++) {
    const position = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), source - 1);
    const left = Math.floor(position);
    const right = Math.min(left + 1, source - 1);
    const fraction = position - left;
    start[i] = 2 * i;
    index[2 * i] = left;
    weight[2 * i] = 1 - fraction;
    index[2 * i + 1] = right;
    weight[2 * i + 1] = fraction;
  }
  start[target] = target * 2;
  return { start, index, weight };
}

function checkSize(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `cannot resize: ${what} size ${width}×${height} is not a positive whole number of pixels`,
    );
  }
}
