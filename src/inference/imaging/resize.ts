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
import { RadiolensError } from '../../foundation/core/index.js';
import type { GreyImage, GreySource, PixelRegion } from './types.js';

/** For one axis: output i = Σ_t weight[t] · source[index[t]] for t in start[i] … start[i+1]−1. */
interface AxisKernel {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * `region`: resize only that rectangle of the image, as if it had been cut out first — the
 * same values as resizeArea(crop(image, region), …) without copying the crop (a lung field is
 * most of a 4-Mpx radiograph; ADR 0163). `image` may be rows re-made from the stored values
 * (GreyRows): only the region's pixels are made, one row at a time, and the values are those
 * of the held image (ADR 0164).
 */
export function resizeArea(
  image: GreySource,
  width: number,
  height: number,
  region?: PixelRegion,
): GreyImage {
  checkSize(width, height, 'target');
  checkSize(image.width, image.height, 'source');
  const { left, top, right, bottom } = regionWithin(image.width, image.height, region);
  const sourceWidth = right - left;
  const sourceHeight = bottom - top;
  const rowOf = regionRows(image, left, right);
  if (width === sourceWidth && height === sourceHeight) {
    const data = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      const into = data.subarray(y * width, (y + 1) * width);
      const row = rowOf(top + y, into);
      if (row !== into) into.set(row);
    }
    return { width, height, data };
  }
  const resampler = new AreaResampler(sourceWidth, sourceHeight, width, height);
  const buffer = new Float32Array(sourceWidth);
  for (let y = top; y < bottom; y++) resampler.pushRow(rowOf(y, buffer));
  return resampler.finish();
}

/**
 * The region of a width × height image a resize reads (all of it when absent), refused unless
 * it is a non-empty rectangle of whole pixels inside the image.
 */
export function regionWithin(width: number, height: number, region?: PixelRegion): PixelRegion {
  const { left, top, right, bottom } = region ?? { left: 0, top: 0, right: width, bottom: height };
  if (
    !(right > left && bottom > top) ||
    left < 0 ||
    top < 0 ||
    right > width ||
    bottom > height ||
    ![left, top, right, bottom].every(Number.isInteger)
  ) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `cannot resize: region [${left}, ${right}) × [${top}, ${bottom}) does not lie inside the ${width}×${height} image`,
    );
  }
  return { left, top, right, bottom };
}

/** Columns [left, right) of row y of a held image (a view) or of rows (made into `into`). */
function regionRows(
  image: GreySource,
  left: number,
  right: number,
): (y: number, into: Float32Array) => Float32Array {
  if ('data' in image) {
    const { data, width } = image;
    return (y) => data.subarray(y * width + left, y * width + right);
  }
  return (y, into) => image.row(y, into, left, right);
}

/**
 * The same resampling fed one source row at a time, so a caller that produces the source
 * row by row (a LUT pass over a 4-Mpx radiograph) can feed several targets from one pass
 * without ever holding the full-resolution image (ADR 0021). Results are bit-identical to
 * resizeArea: the horizontal pass keeps float64, and each output row receives its source
 * rows' contributions in the same order as a whole-image pass would add them.
 */
export class AreaResampler {
  readonly width: number;
  readonly height: number;
  private readonly sourceWidth: number;
  private readonly sourceHeight: number;
  private readonly xKernel: AxisKernel;
  /** For source row s: entries rowStart[s] … rowStart[s+1]−1 of (output row, weight). */
  private readonly rowStart: Int32Array;
  private readonly rowTarget: Int32Array;
  private readonly rowWeight: Float64Array;
  private readonly horizontal: Float64Array;
  /**
   * k when the horizontal pass is an exact 1/k reduction (every output sums k neighbours,
   * each times the same weight 1/k: 2 for 2048 → 1024 overlays, 8 for 2048 → 256 lung
   * inputs), else 0.
   */
  private readonly boxFactor: number;
  /** Every output's horizontal taps are consecutive source pixels (a box kernel). */
  private readonly contiguous: boolean;
  /** The weight of every horizontal tap between an output's first and last, or NaN. */
  private readonly innerWeight: number;
  /**
   * Exact halving in both directions (2048² → 1024² overlays): the even source row's
   * horizontal pass waits here and the odd row writes its output row once, as the two
   * additions the general path makes (same values, one store instead of two read-modify-writes).
   */
  private readonly pending: Float64Array | null;
  private readonly data: Float32Array;
  private rowsSeen = 0;

  constructor(sourceWidth: number, sourceHeight: number, width: number, height: number) {
    checkSize(width, height, 'target');
    checkSize(sourceWidth, sourceHeight, 'source');
    this.width = width;
    this.height = height;
    this.sourceWidth = sourceWidth;
    this.sourceHeight = sourceHeight;
    this.xKernel = axisKernel(sourceWidth, width);
    const yKernel = axisKernel(sourceHeight, height);
    // Invert the vertical kernel: which output rows each source row feeds, in the order a
    // whole-image pass (output row by output row, taps in kernel order) would add them.
    const taps = yKernel.index.length;
    this.rowStart = new Int32Array(sourceHeight + 1);
    for (let t = 0; t < taps; t++) this.rowStart[(yKernel.index[t] as number) + 1]! += 1;
    for (let s = 0; s < sourceHeight; s++) {
      this.rowStart[s + 1] = (this.rowStart[s + 1] as number) + (this.rowStart[s] as number);
    }
    this.rowTarget = new Int32Array(taps);
    this.rowWeight = new Float64Array(taps);
    const fill = this.rowStart.slice(0, sourceHeight);
    for (let y = 0; y < height; y++) {
      const end = yKernel.start[y + 1] as number;
      for (let t = yKernel.start[y] as number; t < end; t++) {
        const s = yKernel.index[t] as number;
        const at = fill[s] as number;
        fill[s] = at + 1;
        this.rowTarget[at] = y;
        this.rowWeight[at] = yKernel.weight[t] as number;
      }
    }
    this.horizontal = new Float64Array(width);
    this.boxFactor = integerBoxFactor(this.xKernel, sourceWidth, width);
    this.contiguous = consecutiveTaps(this.xKernel, width);
    this.innerWeight = innerTapWeight(this.xKernel, width);
    this.pending =
      this.boxFactor === 2 && sourceHeight === 2 * height ? new Float64Array(width) : null;
    this.data = new Float32Array(width * height);
  }

  /** Feed the next source row (sourceWidth values, top to bottom). */
  pushRow(row: Float32Array): void {
    const s = this.rowsSeen;
    if (s >= this.sourceHeight || row.length < this.sourceWidth) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `cannot resize: row ${s} of ${this.sourceHeight} with ${row.length} values for a source ${this.sourceWidth} wide`,
      );
    }
    this.rowsSeen = s + 1;
    const { start, index, weight } = this.xKernel;
    const horizontal = this.horizontal;
    const width = this.width;
    const factor = this.boxFactor;
    const pending = this.pending;
    if (pending !== null) {
      const w = weight[0] as number;
      if (s % 2 === 0) {
        halveRow(row, pending, width, w);
        return;
      }
      // Output row (s − 1) / 2 = float32(float32(0 + w0·even) + w1·odd), as addToOutputRows
      // would leave it after both rows.
      const w0 = this.rowWeight[this.rowStart[s - 1] as number] as number;
      const w1 = this.rowWeight[this.rowStart[s] as number] as number;
      halveRowPair(row, pending, this.data, (s >> 1) * width, width, w, w0, w1);
      return;
    }
    if (factor === 2) {
      // Exact halving (2048 → 1024 overlays): the same two taps, without the table lookups.
      halveRow(row, horizontal, width, weight[0] as number);
    } else if (factor > 2) {
      reduceByWholeFactor(row, horizontal, width, factor, weight[0] as number);
    } else {
      this.horizontalByKernel(row, start, index, weight);
    }
    this.addToOutputRows(s);
  }

  private horizontalByKernel(
    row: Float32Array,
    start: Int32Array,
    index: Int32Array,
    weight: Float64Array,
  ): void {
    const horizontal = this.horizontal;
    const width = this.width;
    if (this.contiguous) {
      reduceByBoxKernel(row, horizontal, width, start, index, weight, this.innerWeight);
      return;
    }
    for (let x = 0; x < width; x++) {
      let sum = 0;
      const end = start[x + 1] as number;
      for (let t = start[x] as number; t < end; t++) {
        sum += (weight[t] as number) * (row[index[t] as number] as number);
      }
      horizontal[x] = sum;
    }
  }

  private addToOutputRows(s: number): void {
    const end = this.rowStart[s + 1] as number;
    for (let j = this.rowStart[s] as number; j < end; j++) {
      addWeightedRow(
        this.data,
        (this.rowTarget[j] as number) * this.width,
        this.horizontal,
        this.width,
        this.rowWeight[j] as number,
      );
    }
  }

  /** The resampled image; every source row must have been pushed. */
  finish(): GreyImage {
    if (this.rowsSeen !== this.sourceHeight) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `cannot resize: ${this.rowsSeen} of ${this.sourceHeight} source rows were given`,
      );
    }
    return { width: this.width, height: this.height, data: this.data };
  }
}

/*
 * The per-pixel loops of AreaResampler live in functions of their own that see only typed
 * arrays and numbers: V8 optimises them once and keeps them optimised, whatever happens to the
 * code of the method that calls them. Written inside pushRow, they ran unoptimised whenever
 * that method was deoptimised (its optimised code is dropped when objects it embeds die, once
 * per image), and every sum then allocated a heap number — about 23 MB per 2048² image, which
 * brought a full collection with it (ADR 0164, fourth follow-up).
 */

/** out[x] = 0 + w·row[2x] + w·row[2x+1]: one row halved (the kernel loop's order and +0 start). */
function halveRow(row: Float32Array, out: Float64Array, width: number, w: number): void {
  for (let x = 0, j = 0; x < width; x++, j += 2) {
    // 0 + …: the kernel loop starts its sum at +0, so even a −0 pixel rounds the same.
    out[x] = 0 + w * (row[j] as number) + w * (row[j + 1] as number);
  }
}

/** An output row of an exact halving in both directions, from the pending even row and the odd one. */
function halveRowPair(
  row: Float32Array,
  pending: Float64Array,
  data: Float32Array,
  outRow: number,
  width: number,
  w: number,
  w0: number,
  w1: number,
): void {
  for (let x = 0, j = 0; x < width; x++, j += 2) {
    const odd = 0 + w * (row[j] as number) + w * (row[j + 1] as number);
    data[outRow + x] = Math.fround(0 + w0 * (pending[x] as number)) + w1 * odd;
  }
}

/** data[outRow + x] += w · horizontal[x] (float32 accumulation, as a whole-image pass adds). */
function addWeightedRow(
  data: Float32Array,
  outRow: number,
  horizontal: Float64Array,
  width: number,
  w: number,
): void {
  for (let x = 0; x < width; x++) {
    data[outRow + x] = (data[outRow + x] as number) + w * (horizontal[x] as number);
  }
}

/**
 * An exact 1/k horizontal reduction: output x = Σ w · row[k·x + t] for t = 0 … k − 1, each sum
 * from +0 in the kernel's order, as the kernel loop adds it (bit for bit). Four outputs are
 * summed side by side: their additions do not wait on each other, so the CPU overlaps them,
 * where one output at a time waits on each addition of its own chain. 2048 rows of 2048 → 256
 * (the lung grid): 4.4 → 2.8 ms (micro-benchmark, least of 31; ADR 0164, 2026-12-04).
 */
function reduceByWholeFactor(
  row: Float32Array,
  horizontal: Float64Array,
  width: number,
  k: number,
  w: number,
): void {
  let x = 0;
  let j = 0;
  for (; x + 3 < width; x += 4, j += 4 * k) {
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (let t = j, end = j + k; t < end; t++) {
      a += w * (row[t] as number);
      b += w * (row[t + k] as number);
      c += w * (row[t + 2 * k] as number);
      d += w * (row[t + 3 * k] as number);
    }
    horizontal[x] = a;
    horizontal[x + 1] = b;
    horizontal[x + 2] = c;
    horizontal[x + 3] = d;
  }
  for (; x < width; x++) {
    let sum = 0;
    for (const end = j + k; j < end; j++) sum += w * (row[j] as number);
    horizontal[x] = sum;
  }
}

/**
 * A box kernel's horizontal pass (taps of each output are consecutive source pixels, as for
 * a non-integer ratio such as the edge guard's 1886 → 256 inset view, ADR 0165): each output's
 * products added from +0 in kernel order, bit for bit as the kernel loop adds them. Four
 * outputs are summed side by side over the taps they all have, then each finishes its own
 * (a box kernel's outputs differ by at most one tap), so their additions overlap as in
 * reduceByWholeFactor. `inner`: the weight every tap between an output's first and last has
 * (1/scale: a whole source pixel inside the footprint), or NaN; with it those weights are not
 * read, only the first and last taps' fractional ones.
 */
function reduceByBoxKernel(
  row: Float32Array,
  horizontal: Float64Array,
  width: number,
  start: Int32Array,
  index: Int32Array,
  weight: Float64Array,
  inner: number,
): void {
  let x = 0;
  if (!Number.isNaN(inner)) {
    for (; x + 3 < width; x += 4) {
      const t0 = start[x] as number;
      const t1 = start[x + 1] as number;
      const t2 = start[x + 2] as number;
      const t3 = start[x + 3] as number;
      const t4 = start[x + 4] as number;
      const j0 = (index[t0] as number) - t0;
      const j1 = (index[t1] as number) - t1;
      const j2 = (index[t2] as number) - t2;
      const j3 = (index[t3] as number) - t3;
      // Taps 1 … common − 1 of each output are inner ones (the last tap is at n − 1 ≥ common).
      const common = Math.min(t1 - t0, t2 - t1, t3 - t2, t4 - t3) - 1;
      let a = 0 + (weight[t0] as number) * (row[j0 + t0] as number);
      let b = 0 + (weight[t1] as number) * (row[j1 + t1] as number);
      let c = 0 + (weight[t2] as number) * (row[j2 + t2] as number);
      let d = 0 + (weight[t3] as number) * (row[j3 + t3] as number);
      for (let i = 1; i < common; i++) {
        a += inner * (row[j0 + t0 + i] as number);
        b += inner * (row[j1 + t1 + i] as number);
        c += inner * (row[j2 + t2 + i] as number);
        d += inner * (row[j3 + t3 + i] as number);
      }
      for (let t = t0 + common; t < t1; t++) a += (weight[t] as number) * (row[j0 + t] as number);
      for (let t = t1 + common; t < t2; t++) b += (weight[t] as number) * (row[j1 + t] as number);
      for (let t = t2 + common; t < t3; t++) c += (weight[t] as number) * (row[j2 + t] as number);
      for (let t = t3 + common; t < t4; t++) d += (weight[t] as number) * (row[j3 + t] as number);
      horizontal[x] = a;
      horizontal[x + 1] = b;
      horizontal[x + 2] = c;
      horizontal[x + 3] = d;
    }
  }
  for (; x < width; x++) {
    let sum = 0;
    const begin = start[x] as number;
    const end = start[x + 1] as number;
    for (let t = begin, j = index[begin] as number; t < end; t++, j++) {
      sum += (weight[t] as number) * (row[j] as number);
    }
    horizontal[x] = sum;
  }
}

/**
 * The weight shared by every tap strictly between an output's first and last, when each output
 * has at least two taps and they all share it (a box kernel's whole pixels: 1/scale), else NaN.
 */
function innerTapWeight(kernel: AxisKernel, target: number): number {
  const { start, weight } = kernel;
  let inner = NaN;
  for (let x = 0; x < target; x++) {
    const begin = start[x] as number;
    const end = start[x + 1] as number;
    if (end - begin < 2) return NaN;
    for (let t = begin + 1; t < end - 1; t++) {
      const w = weight[t] as number;
      if (Number.isNaN(inner)) inner = w;
      else if (w !== inner) return NaN;
    }
  }
  return inner;
}

/**
 * resizeArea's values at chosen pixels, without resizing the whole image: the same kernels and
 * the same arithmetic in the same order (each source row's horizontal sum in float64, then the
 * rows' contributions added into a float32 value in kernel order, as AreaResampler adds them),
 * so `row(y, …)` is bit-identical to that row of `resizeArea(image, width, height)`. For
 * callers that need a few stretches of a large upscale: the lung mask along the lungs' edges
 * where a heatmap has heat (ADR 0163).
 */
export class AreaResizeProbe {
  readonly width: number;
  readonly height: number;
  private readonly image: GreyImage;
  private readonly same: boolean;
  private readonly xKernel: AxisKernel;
  private readonly yKernel: AxisKernel;

  constructor(image: GreyImage, width: number, height: number) {
    checkSize(width, height, 'target');
    checkSize(image.width, image.height, 'source');
    this.width = width;
    this.height = height;
    this.image = image;
    this.same = width === image.width && height === image.height;
    this.xKernel = axisKernel(image.width, width);
    this.yKernel = axisKernel(image.height, height);
  }

  /**
   * Columns from … to − 1 of the resized image's row y, written into `into` at the same
   * columns (the rest of `into` is left as it was): each value as resizeArea computes it.
   */
  row(y: number, into: Float32Array, from = 0, to = this.width): void {
    const width = this.width;
    const source = this.image.data;
    if (this.same) {
      into.set(source.subarray(y * width + from, y * width + to), from);
      return;
    }
    const { start, index, weight } = this.yKernel;
    const x = this.xKernel;
    const sourceWidth = this.image.width;
    into.fill(0, from, to);
    const end = start[y + 1] as number;
    for (let t = start[y] as number; t < end; t++) {
      const rowStart = (index[t] as number) * sourceWidth;
      const w = weight[t] as number;
      for (let c = from; c < to; c++) {
        let sum = 0;
        const tapsEnd = x.start[c + 1] as number;
        for (let u = x.start[c] as number; u < tapsEnd; u++) {
          sum += (x.weight[u] as number) * (source[rowStart + (x.index[u] as number)] as number);
        }
        // Float32Array stores round as AreaResampler's output rows do, tap after tap.
        into[c] = (into[c] as number) + w * sum;
      }
    }
  }
}

/**
 * k when the kernel reduces by the whole number k with k taps per output, consecutive and
 * all of the same weight (what boxKernel makes for integer ratios), else 0: then the fast
 * paths in pushRow add the same products in the same order as the kernel loop.
 */
function integerBoxFactor(kernel: AxisKernel, source: number, target: number): number {
  if (target >= source || source % target !== 0) return 0;
  const k = source / target;
  const { start, index, weight } = kernel;
  const w = weight[0] as number;
  if (index.length !== source) return 0;
  for (let x = 0; x < target; x++) {
    if (start[x] !== x * k) return 0;
    for (let t = x * k; t < (x + 1) * k; t++) {
      if (index[t] !== t || weight[t] !== w) return 0;
    }
  }
  return k;
}

/** Whether each output's taps are index[start], index[start] + 1, … (box kernels; not the
 * bilinear kernel, whose two taps coincide at a clamped edge). */
function consecutiveTaps(kernel: AxisKernel, target: number): boolean {
  const { start, index } = kernel;
  for (let x = 0; x < target; x++) {
    const begin = start[x] as number;
    const end = start[x + 1] as number;
    for (let t = begin + 1; t < end; t++) {
      if (index[t] !== (index[t - 1] as number) + 1) return false;
    }
  }
  return true;
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
