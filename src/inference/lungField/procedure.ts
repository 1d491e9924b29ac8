/**
 * The lung field of a chest radiograph, step by step as training/LUNG_FIELD.md specifies it
 * (reference: training/cxrlib.py `lung_input`, `lung_field`, `box_to_source`,
 * `classifier_plane`, `lung_mask_source`). The recipe trained and evaluated cxr-pneumonia 2.x
 * with exactly these steps, so any deviation here is a different input from the one the
 * model was validated on: keep the order of the arithmetic, the float32 comparisons and the
 * tie rules as written there. Parity with the Python is tested on its parity data
 * (procedure.test.ts). Thresholds: ADR 0161.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { AreaResizeProbe, resizeArea } from '../imaging/index.js';
import type { GreyImage } from '../imaging/index.js';

/** The lung model's grid: the whole image is stretched to it (LUNG_FIELD.md step 1). */
export const LUNG_GRID = 256;

/** The rule's constants, named as in cxrlib.py (LF_*); ADR 0161 says where they come from. */
export const LUNG_FIELD_RULE = {
  /** A pixel of a channel is lung when its probability is ≥ this (float32 comparison). */
  threshold: 0.5,
  /** Margin added on each side of the box, as a fraction of its width / height. */
  margin: 0.05,
  minArea: 0.04,
  maxArea: 0.4,
  minConfidence: 0.85,
  minFill: 0.35,
  maxFill: 0.9,
  minSeparation: 0.2,
} as const;

const THRESHOLD32 = Math.fround(LUNG_FIELD_RULE.threshold);

/** What one lung's kept component looks like on the 256 grid (step 3). */
export interface LungStatistics {
  /** |K| / 256², 0 when no pixel is lung. */
  areaFraction: number;
  /** Mean probability over the kept component (0 when empty). */
  confidence: number;
  /** Centroid as a fraction of the grid's width / height (null when empty). */
  centroidX: number | null;
  centroidY: number | null;
  /** Inclusive bounding box [x0, y0, x1, y1] on the grid (null when empty). */
  bbox256: [number, number, number, number] | null;
  /** |K| / bounding-box area (0 when empty): a lung is not a rectangle. */
  fill: number;
}

/**
 * Why a lung field is not plausible, as a code a program can act on (analysis.json carries
 * it) and a sentence a radiologist can read (the SR and caveats carry that).
 */
export type LungFieldReasonCode =
  'LUNG_AREA' | 'LUNG_CONFIDENCE' | 'LUNG_FILL' | 'LUNG_SIDES' | 'LUNG_SEPARATION';

export interface LungFieldReason {
  code: LungFieldReasonCode;
  /** The lung the reason is about (the patient's side); absent for the two-lung checks. */
  lung?: 'right' | 'left';
  text: string;
}

/** Half-open crop [left, right) × [top, bottom) in integer source pixels (step 6). */
export interface SourceBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface LungField {
  /** Source image size the box refers to. */
  width: number;
  height: number;
  lungs: { right: LungStatistics; left: LungStatistics };
  plausible: boolean;
  reasons: LungFieldReason[];
  /** Inclusive [x0, y0, x1, y1] of both kept components on the grid (null when none). */
  box256: [number, number, number, number] | null;
  /** The classifier's crop in source pixels (null when no lung pixel was found). */
  box: SourceBox | null;
}

/** Step 2's output layout: channel 0 = patient's right lung (image left), 1 = left lung. */
export interface LungProbabilities {
  /** [2, 256, 256] float32, channel-major. */
  data: Float32Array;
}

/**
 * Steps 3–6: threshold each channel, keep its largest 4-connected component, measure it,
 * judge plausibility and derive the crop box in the source's pixels.
 */
export function lungFieldOf(
  probabilities: LungProbabilities,
  width: number,
  height: number,
): LungField {
  const n = LUNG_GRID;
  const plane = n * n;
  if (probabilities.data.length !== 2 * plane) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `lung probabilities hold ${probabilities.data.length} values, not 2×${n}×${n} — is the segmentation model cxr-lungs?`,
    );
  }
  const kept: Uint8Array[] = [];
  const stats: LungStatistics[] = [];
  for (let c = 0; c < 2; c++) {
    const p = probabilities.data.subarray(c * plane, (c + 1) * plane);
    const binary = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) if (p[i]! >= THRESHOLD32) binary[i] = 1;
    const component = largestComponent(binary, n, n);
    kept.push(component);
    stats.push(measureLung(component, p, n));
  }
  const [right, left] = stats as [LungStatistics, LungStatistics];
  const reasons = plausibilityReasons(right, left);
  const field: LungField = {
    width,
    height,
    lungs: { right, left },
    plausible: reasons.length === 0,
    reasons,
    box256: null,
    box: null,
  };
  let x0 = n;
  let y0 = n;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      if (kept[0]![i] === 0 && kept[1]![i] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 >= 0) {
    field.box256 = [x0, y0, x1, y1];
    field.box = boxToSource(x0, y0, x1, y1, width, height);
  }
  return field;
}

/** Step 4, in the order LUNG_FIELD.md gives; the texts match cxrlib.py's. */
function plausibilityReasons(right: LungStatistics, left: LungStatistics): LungFieldReason[] {
  const r = LUNG_FIELD_RULE;
  const reasons: LungFieldReason[] = [];
  for (const [lung, s] of [
    ['right', right],
    ['left', left],
  ] as const) {
    if (!(r.minArea <= s.areaFraction && s.areaFraction <= r.maxArea)) {
      reasons.push({
        code: 'LUNG_AREA',
        lung,
        text: `${lung} lung area ${s.areaFraction.toFixed(3)} outside [${r.minArea}, ${r.maxArea}]`,
      });
    } else if (s.confidence < r.minConfidence) {
      reasons.push({
        code: 'LUNG_CONFIDENCE',
        lung,
        text: `${lung} lung confidence ${s.confidence.toFixed(3)} < ${r.minConfidence}`,
      });
    } else if (!(r.minFill <= s.fill && s.fill <= r.maxFill)) {
      reasons.push({
        code: 'LUNG_FILL',
        lung,
        text: `${lung} lung fill ${s.fill.toFixed(3)} outside [${r.minFill}, ${r.maxFill}]`,
      });
    }
  }
  if (reasons.length > 0) return reasons;
  // Both lungs passed, so both have centroids.
  const rx = right.centroidX!;
  const lx = left.centroidX!;
  if (!(rx < 0.5 && 0.5 < lx)) {
    reasons.push({
      code: 'LUNG_SIDES',
      text: 'lungs not on their sides (right lung centroid must be left of the image centre, left lung right of it)',
    });
  } else if (lx - rx < r.minSeparation) {
    reasons.push({
      code: 'LUNG_SEPARATION',
      text: `lung centroids ${(lx - rx).toFixed(3)} apart < ${r.minSeparation}`,
    });
  }
  return reasons;
}

function measureLung(component: Uint8Array, p: Float32Array, n: number): LungStatistics {
  let count = 0;
  let sumP = 0;
  let sumX = 0;
  let sumY = 0;
  let x0 = n;
  let y0 = n;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      if (component[i] === 0) continue;
      count += 1;
      sumP += p[i]!;
      sumX += x + 0.5;
      sumY += y + 0.5;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (count === 0) {
    return {
      areaFraction: 0,
      confidence: 0,
      centroidX: null,
      centroidY: null,
      bbox256: null,
      fill: 0,
    };
  }
  return {
    areaFraction: count / (n * n),
    confidence: sumP / count,
    centroidX: sumX / count / n,
    centroidY: sumY / count / n,
    bbox256: [x0, y0, x1, y1],
    fill: count / ((x1 - x0 + 1) * (y1 - y0 + 1)),
  };
}

/**
 * The largest 4-connected component of a binary grid; on a tie, the one whose first pixel in
 * raster order comes first (components are discovered in that order, and only a strictly
 * larger one replaces the best). Empty when the grid is.
 */
export function largestComponent(binary: Uint8Array, width: number, height: number): Uint8Array {
  const labels = new Int32Array(binary.length);
  const stack = new Int32Array(binary.length);
  let next = 0;
  let best = 0;
  let bestSize = 0;
  for (let start = 0; start < binary.length; start++) {
    if (binary[start] === 0 || labels[start] !== 0) continue;
    next += 1;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = next;
    while (top > 0) {
      const i = stack[--top]!;
      size += 1;
      const x = i % width;
      const y = (i - x) / width;
      if (x > 0 && binary[i - 1] !== 0 && labels[i - 1] === 0) {
        labels[i - 1] = next;
        stack[top++] = i - 1;
      }
      if (x < width - 1 && binary[i + 1] !== 0 && labels[i + 1] === 0) {
        labels[i + 1] = next;
        stack[top++] = i + 1;
      }
      if (y > 0 && binary[i - width] !== 0 && labels[i - width] === 0) {
        labels[i - width] = next;
        stack[top++] = i - width;
      }
      if (y < height - 1 && binary[i + width] !== 0 && labels[i + width] === 0) {
        labels[i + width] = next;
        stack[top++] = i + width;
      }
    }
    if (size > bestSize) {
      bestSize = size;
      best = next;
    }
  }
  const out = new Uint8Array(binary.length);
  if (best === 0) return out;
  for (let i = 0; i < binary.length; i++) if (labels[i] === best) out[i] = 1;
  return out;
}

/** Step 6: grid box → source crop with a 5% margin, double arithmetic in the written order. */
export function boxToSource(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  width: number,
  height: number,
): SourceBox {
  const n = LUNG_GRID;
  const left = (x0 * width) / n;
  const right = ((x1 + 1) * width) / n;
  const top = (y0 * height) / n;
  const bottom = ((y1 + 1) * height) / n;
  const mx = (right - left) * LUNG_FIELD_RULE.margin;
  const my = (bottom - top) * LUNG_FIELD_RULE.margin;
  return {
    left: Math.max(0, Math.floor(left - mx)),
    right: Math.min(width, Math.ceil(right + mx)),
    top: Math.max(0, Math.floor(top - my)),
    bottom: Math.min(height, Math.ceil(bottom + my)),
  };
}

/** Step 7's crop: rows top…bottom−1, columns left…right−1 of the source. */
export function cropGrey(image: GreyImage, box: SourceBox): GreyImage {
  const width = box.right - box.left;
  const height = box.bottom - box.top;
  if (
    !(width > 0 && height > 0) ||
    box.left < 0 ||
    box.top < 0 ||
    box.right > image.width ||
    box.bottom > image.height
  ) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `crop [${box.left}, ${box.right}) × [${box.top}, ${box.bottom}) does not lie inside the ${image.width}×${image.height} image`,
    );
  }
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const from = (box.top + y) * image.width + box.left;
    data.set(image.data.subarray(from, from + width), y * width);
  }
  return { width, height, data };
}

/**
 * Step 8: the lung mask at any size (the source's, or the overlay's): each channel's raw
 * probability map resized with the area resize, then ≥ 0.5; the union of both lungs. It uses
 * the raw maps, not only the kept components, as the recipe measured CAM placement with it.
 */
export function lungMaskAt(
  probabilities: LungProbabilities,
  width: number,
  height: number,
): Uint8Array {
  const plane = LUNG_GRID * LUNG_GRID;
  const mask = new Uint8Array(width * height);
  for (let c = 0; c < 2; c++) {
    const resized = resizeArea(
      {
        width: LUNG_GRID,
        height: LUNG_GRID,
        data: probabilities.data.subarray(c * plane, (c + 1) * plane),
      },
      width,
      height,
    );
    for (let i = 0; i < mask.length; i++) if (resized.data[i]! >= THRESHOLD32) mask[i] = 1;
  }
  return mask;
}

/** Where a heatmap's mass lies relative to the lung field (issue #11 item 1c). */
export interface HeatmapInLungs {
  /** Σ heat inside the lung mask / Σ heat; null when the map is all zero. */
  energyInside: number | null;
  /** Whether the map's first maximal pixel (raster order) lies inside the lung mask. */
  peakInside: boolean | null;
}

export function heatmapInLungs(
  heatmap: { width: number; height: number; data: Float32Array },
  mask: Uint8Array,
): HeatmapInLungs {
  if (mask.length !== heatmap.data.length) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the lung mask has ${mask.length} pixels, the heatmap ${heatmap.width}×${heatmap.height}`,
    );
  }
  let total = 0;
  let inside = 0;
  let peak = -1;
  let peakValue = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = heatmap.data[i]!;
    total += v;
    if (mask[i] !== 0) inside += v;
    if (v > peakValue) {
      peakValue = v;
      peak = i;
    }
  }
  if (!(total > 0)) return { energyInside: null, peakInside: null };
  return { energyInside: inside / total, peakInside: mask[peak] !== 0 };
}

/**
 * heatmapInLungs(heatmap, lungMaskAt(probabilities, heatmap.width, heatmap.height)), the same
 * numbers bit for bit, without making the mask (ADR 0163). A pixel with no heat adds nothing
 * to the share, so step 8's mask is needed only where the heatmap is not zero (a lung-field
 * classifier's heatmap is zero outside its crop and wherever the CAM's ReLU cut it), and at
 * its peak. There, when the heatmap is at least the grid's size (an upscale: 256² → 1024²),
 * most pixels are decided by their grid cell: a resized value is a convex combination of the
 * 2×2 grid values around the pixel, all within the cell's 3×3 neighbourhood, and the computed
 * value differs from that combination by < 2e-7 (float64 sums, two float32 roundings), far
 * less than SURE_MARGIN; so a neighbourhood whose values all lie SURE_MARGIN or more on one
 * side of 0.5 decides the pixel, or decides one lung's channel and leaves the other to compute.
 * The rest (along the lungs' edges) are computed exactly (LungMaskPixels).
 */
export function heatmapInLungMask(
  heatmap: { width: number; height: number; data: Float32Array },
  probabilities: LungProbabilities,
): HeatmapInLungs {
  const { width, height, data } = heatmap;
  const n = LUNG_GRID;
  const plane = n * n;
  if (data.length !== width * height || probabilities.data.length !== 2 * plane) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the heatmap holds ${data.length} values for ${width}×${height} and the lung maps ${probabilities.data.length} for 2×${n}×${n}`,
    );
  }
  const mask = new LungMaskPixels(probabilities, width, height);
  const cells = width >= n && height >= n ? sureCells(probabilities.data) : null;
  const { total, inside, peak } = sumHeat(heatmap, cells, mask);
  if (!(total > 0)) return { energyInside: null, peakInside: null };
  const px = peak % width;
  mask.startRow((peak - px) / width);
  return { energyInside: inside / total, peakInside: mask.has(px, BOTH_UNSURE) };
}

/**
 * The heatmap's sums in raster order, as heatmapInLungs adds them, each row's pixels decided
 * by `cells` (sureCells; null: every pixel is computed). The loops over pixels each sit in a
 * function that ends with them: V8 compiles a long-running loop while it runs (on-stack
 * replacement), and the code after it, not yet run, would deoptimise on each early call.
 */
function sumHeat(
  heatmap: { width: number; height: number; data: Float32Array },
  cells: Uint8Array | null,
  mask: LungMaskPixels,
): { total: number; inside: number; peak: number } {
  const { width, height, data } = heatmap;
  const cellStart = cells === null ? null : cellStarts(width);
  const sums = Float64Array.of(0, 0, 0, -1);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    // Only the row's span from its first to its last non-zero value is visited (a lung-field
    // heatmap is zero outside the crop: about half of a 1024² overlay). Skipping the zeros
    // around it changes no sum: total and inside start at +0 and a sum is −0 only when both
    // terms are, so neither is ever −0 and adding ±0 leaves it as it was; 0 is never above
    // the peak. NaN counts as heat.
    const from = firstHeat(data, base, width);
    if (from === width) continue;
    const to = endOfHeat(data, base, width);
    mask.startRow(y);
    if (cells === null) {
      addHeat(sums, data, base, from, to, BOTH_UNSURE, mask);
    } else {
      const cellRow = cellOf(y, height) * LUNG_GRID;
      addHeatByCell(sums, data, base, from, to, cells, cellRow, cellStart!, mask);
    }
  }
  return { total: sums[TOTAL]!, inside: sums[INSIDE]!, peak: sums[PEAK]! };
}

/**
 * The heatmap's running sums, in a Float64Array so that the loops adding to them see only
 * typed arrays and numbers (see addHeatOutside): Σ heat, Σ heat inside the mask, the first
 * maximal pixel's value (above 0) and its index (raster order; −1 while there is none).
 */
const TOTAL = 0;
const INSIDE = 1;
const PEAK_VALUE = 2;
const PEAK = 3;

/** The first column of the row at `base` whose value is not 0; width when there is none. */
function firstHeat(data: Float32Array, base: number, width: number): number {
  let x = 0;
  while (x < width && data[base + x] === 0) x++;
  return x;
}

/** One past the last column of the row at `base` whose value is not 0 (the row has one). */
function endOfHeat(data: Float32Array, base: number, width: number): number {
  let x = width;
  while (data[base + x - 1] === 0) x--;
  return x;
}

/** The grid cell (column or row) that pixel i's centre lies in, of `size` pixels. */
function cellOf(i: number, size: number): number {
  return Math.min(LUNG_GRID - 1, Math.floor(((i + 0.5) * LUNG_GRID) / size));
}

/** The first column of each grid cell's pixels (cellOf), and at n the width. */
function cellStarts(width: number): Int32Array {
  const n = LUNG_GRID;
  // width ≥ n: consecutive columns' cells differ by at most 1, from 0 to n − 1, so every
  // cell has a column.
  const start = new Int32Array(n + 1);
  start[n] = width;
  for (let x = width - 1; x >= 0; x--) {
    start[cellOf(x, width)] = x;
  }
  return start;
}

/**
 * Adds heat[base + from … base + to − 1] to `sums`, each grid cell's run of pixels as its
 * cell decides them. One loop per decision rather than a test per pixel: the runs are 4
 * pixels long at 1024², and most are sure (on the bench's lung maps 1 855 of 65 536 cells
 * are not).
 */
function addHeatByCell(
  sums: Float64Array,
  data: Float32Array,
  base: number,
  from: number,
  to: number,
  cells: Uint8Array,
  cellRow: number,
  cellStart: Int32Array,
  mask: LungMaskPixels,
): void {
  const width = cellStart[LUNG_GRID]!;
  let c = cellOf(from, width);
  for (let x = from; x < to; c++) {
    const end = Math.min(to, cellStart[c + 1]!);
    const decision = cells[cellRow + c]!;
    if (decision === SURE_OUT) {
      addHeatOutside(data, base, x, end, sums);
    } else if (decision === SURE_IN) {
      addHeatInside(data, base, x, end, sums);
    } else {
      addHeat(sums, data, base, x, end, decision, mask);
    }
    x = end;
  }
}

/*
 * The sure cells' loops sit in functions of their own that see only typed arrays and numbers:
 * addHeatByCell's optimised code is dropped when objects it embeds die (once per image), and
 * a loop run unoptimised allocates a heap number per sum — several MB per 1024² overlay, and a
 * full collection with it (ADR 0164, fourth follow-up).
 */

/** Σ heat[base + from … base + to − 1] into total, and the first maximal pixel (a sure-out cell). */
function addHeatOutside(
  data: Float32Array,
  base: number,
  from: number,
  to: number,
  sums: Float64Array,
): void {
  let total = sums[TOTAL]!;
  let peakValue = sums[PEAK_VALUE]!;
  let peak = sums[PEAK]!;
  for (let x = from; x < to; x++) {
    const v = data[base + x]!;
    total += v;
    if (v > peakValue) {
      peakValue = v;
      peak = base + x;
    }
  }
  sums[TOTAL] = total;
  sums[PEAK_VALUE] = peakValue;
  sums[PEAK] = peak;
}

/** The same into total and inside (a sure-in cell); a zero adds ±0 to inside, which keeps it. */
function addHeatInside(
  data: Float32Array,
  base: number,
  from: number,
  to: number,
  sums: Float64Array,
): void {
  let total = sums[TOTAL]!;
  let inside = sums[INSIDE]!;
  let peakValue = sums[PEAK_VALUE]!;
  let peak = sums[PEAK]!;
  for (let x = from; x < to; x++) {
    const v = data[base + x]!;
    total += v;
    inside += v;
    if (v > peakValue) {
      peakValue = v;
      peak = base + x;
    }
  }
  sums[TOTAL] = total;
  sums[INSIDE] = inside;
  sums[PEAK_VALUE] = peakValue;
  sums[PEAK] = peak;
}

/** Adds heat[base + from … base + to − 1], computing the mask of the lungs in `unsure`. */
function addHeat(
  sums: Float64Array,
  data: Float32Array,
  base: number,
  from: number,
  to: number,
  unsure: number,
  mask: LungMaskPixels,
): void {
  let total = sums[TOTAL]!;
  let inside = sums[INSIDE]!;
  let peakValue = sums[PEAK_VALUE]!;
  let peak = sums[PEAK]!;
  for (let x = from; x < to; x++) {
    const v = data[base + x]!;
    total += v;
    if (v > peakValue) {
      peakValue = v;
      peak = base + x;
    }
    if (v !== 0 && mask.has(x, unsure)) inside += v;
  }
  sums[TOTAL] = total;
  sums[INSIDE] = inside;
  sums[PEAK_VALUE] = peakValue;
  sums[PEAK] = peak;
}

/**
 * Step 8's mask at chosen pixels of one row at a time, each lung's resized value exactly as
 * lungMaskAt computes it (AreaResizeProbe), EXACT_STRETCH columns at a time: the pixels asked
 * for lie along the lungs' edges, next to each other.
 */
class LungMaskPixels {
  private readonly width: number;
  private readonly right: AreaResizeProbe;
  private readonly left: AreaResizeProbe;
  /** The row's resized values of each lung, exact from the column each stretch began at. */
  private readonly rightRow: Float32Array;
  private readonly leftRow: Float32Array;
  private y = 0;
  private rightTo = -1;
  private leftTo = -1;

  constructor(probabilities: LungProbabilities, width: number, height: number) {
    const n = LUNG_GRID;
    const plane = n * n;
    const map = (c: number): GreyImage => ({
      width: n,
      height: n,
      data: probabilities.data.subarray(c * plane, (c + 1) * plane),
    });
    this.width = width;
    this.right = new AreaResizeProbe(map(0), width, height);
    this.left = new AreaResizeProbe(map(1), width, height);
    this.rightRow = new Float32Array(width);
    this.leftRow = new Float32Array(width);
  }

  /** Moves to row y; `has` must then be asked about columns in increasing order. */
  startRow(y: number): void {
    this.y = y;
    this.rightTo = -1;
    this.leftTo = -1;
  }

  /**
   * Whether pixel x of the row is in the mask, from the lungs named in `unsure` (bits
   * RIGHT_UNSURE, LEFT_UNSURE): the others are known not to reach 0.5 there, and the left
   * lung is not computed when the right one already decides.
   */
  has(x: number, unsure: number): boolean {
    if ((unsure & RIGHT_UNSURE) !== 0) {
      if (x >= this.rightTo) {
        this.rightTo = Math.min(this.width, x + EXACT_STRETCH);
        this.right.row(this.y, this.rightRow, x, this.rightTo);
      }
      if (this.rightRow[x]! >= THRESHOLD32) return true;
    }
    if ((unsure & LEFT_UNSURE) !== 0) {
      if (x >= this.leftTo) {
        this.leftTo = Math.min(this.width, x + EXACT_STRETCH);
        this.left.row(this.y, this.leftRow, x, this.leftTo);
      }
      if (this.leftRow[x]! >= THRESHOLD32) return true;
    }
    return false;
  }
}

/** Far more than the < 2e-7 a resized value can differ from the convex combination it is. */
const SURE_MARGIN = 1e-6;
/** Columns computed at once where a pixel is unsure (the edges of the lungs). */
const EXACT_STRETCH = 16;

/** What a grid cell decides for the pixels whose centres lie in it (sureCells). */
const SURE_OUT = 0;
const RIGHT_UNSURE = 1;
const LEFT_UNSURE = 2;
const BOTH_UNSURE = RIGHT_UNSURE | LEFT_UNSURE;
const SURE_IN = 4;

/** Per grid value, the sides of 0.5 its lungs surely lie on: bits ANDed over neighbourhoods. */
const RIGHT_HIGH = 1;
const LEFT_HIGH = 2;
const RIGHT_LOW = 4;
const LEFT_LOW = 8;

/**
 * Per grid cell: SURE_IN when some channel's values in the cell's 3×3 neighbourhood (clipped
 * at the grid's edges) are all ≥ 0.5 + SURE_MARGIN; else RIGHT_UNSURE and / or LEFT_UNSURE
 * for each channel whose values there are not all ≤ 0.5 − SURE_MARGIN (none: SURE_OUT).
 * Null when a value is NaN. As bits ANDed over the neighbourhood (a row pass, then a column
 * pass), not minima and maxima of float32 values: 0.45 against 1.8 ms a call (least of 220,
 * the bench's lung maps).
 */
function sureCells(maps: Float32Array): Uint8Array | null {
  const sides = sidesOf(maps);
  // A NaN (a broken lung model) makes its neighbours' resized values NaN, whatever the rest:
  // decide nothing by cell then, and let every pixel be computed.
  if (sides === null) return null;
  return decideCells(acrossRows(sides));
}

/**
 * Per grid value, the bits it and its left and right neighbours all have. A neighbourhood
 * clipped at the grid's edge is the same as one whose missing values repeat the cell's own.
 */
function acrossRows(sides: Uint8Array): Uint8Array {
  const n = LUNG_GRID;
  const plane = n * n;
  const across = new Uint8Array(plane);
  for (let row = 0; row < plane; row += n) {
    for (let i = 0; i < n; i++) {
      const at = row + i;
      across[at] = sides[i > 0 ? at - 1 : at]! & sides[at]! & sides[i < n - 1 ? at + 1 : at]!;
    }
  }
  return across;
}

/** Per grid cell, its decision from the bits its 3×3 neighbourhood all have (acrossRows). */
function decideCells(across: Uint8Array): Uint8Array {
  const n = LUNG_GRID;
  const plane = n * n;
  const out = new Uint8Array(plane);
  for (let row = 0; row < plane; row += n) {
    const up = row > 0 ? row - n : row;
    const down = row < plane - n ? row + n : row;
    for (let i = 0; i < n; i++) {
      const all = across[up + i]! & across[row + i]! & across[down + i]!;
      out[row + i] =
        (all & (RIGHT_HIGH | LEFT_HIGH)) !== 0
          ? SURE_IN
          : ((all & RIGHT_LOW) === 0 ? RIGHT_UNSURE : 0) |
            ((all & LEFT_LOW) === 0 ? LEFT_UNSURE : 0);
    }
  }
  return out;
}

/** Per grid value, its RIGHT_/LEFT_ HIGH and LOW bits; null when a value is NaN. */
function sidesOf(maps: Float32Array): Uint8Array | null {
  const plane = LUNG_GRID * LUNG_GRID;
  const high = LUNG_FIELD_RULE.threshold + SURE_MARGIN;
  const low = LUNG_FIELD_RULE.threshold - SURE_MARGIN;
  const sides = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) {
    const right = maps[i]!;
    const left = maps[plane + i]!;
    if (Number.isNaN(right) || Number.isNaN(left)) return null;
    sides[i] =
      (right >= high ? RIGHT_HIGH : 0) |
      (left >= high ? LEFT_HIGH : 0) |
      (right <= low ? RIGHT_LOW : 0) |
      (left <= low ? LEFT_LOW : 0);
  }
  return sides;
}

/**
 * Step 9 for any target size: where the source image lies relative to the classifier input
 * when the input is the crop `box` stretched to inputWidth × inputHeight, as the heatmap
 * resampler's placement (the image spans beyond the input on every side the crop cut off).
 * Pair it with zeroOutsideBox: the resampler holds edges, the rest of the image gets no heat.
 */
export function lungFieldPlacement(
  box: SourceBox,
  sourceWidth: number,
  sourceHeight: number,
  inputWidth: number,
  inputHeight: number,
): {
  x: number;
  y: number;
  width: number;
  height: number;
  inputWidth: number;
  inputHeight: number;
} {
  const sx = inputWidth / (box.right - box.left);
  const sy = inputHeight / (box.bottom - box.top);
  return {
    x: -box.left * sx,
    y: -box.top * sy,
    width: sourceWidth * sx,
    height: sourceHeight * sy,
    inputWidth,
    inputHeight,
  };
}

/** Zero every pixel of a map over the whole image whose centre lies outside the crop. */
export function zeroOutsideBox(
  map: { width: number; height: number; data: Float32Array },
  box: SourceBox,
  sourceWidth: number,
  sourceHeight: number,
): void {
  const inX = new Uint8Array(map.width);
  for (let x = 0; x < map.width; x++) {
    const centre = ((x + 0.5) * sourceWidth) / map.width;
    inX[x] = centre >= box.left && centre < box.right ? 1 : 0;
  }
  for (let y = 0; y < map.height; y++) {
    const centre = ((y + 0.5) * sourceHeight) / map.height;
    const rowInside = centre >= box.top && centre < box.bottom;
    for (let x = 0; x < map.width; x++) {
      if (!rowInside || inX[x] === 0) map.data[y * map.width + x] = 0;
    }
  }
}
