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
 * side of 0.5 decides the pixel. The rest (along the lungs' edges) are computed exactly,
 * 16 columns at a time (AreaResizeProbe: resizeArea's arithmetic at chosen pixels).
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
  const [right, left] = [0, 1].map(
    (c) =>
      new AreaResizeProbe(
        { width: n, height: n, data: probabilities.data.subarray(c * plane, (c + 1) * plane) },
        width,
        height,
      ),
  ) as [AreaResizeProbe, AreaResizeProbe];
  const cells = width >= n && height >= n ? sureCells(probabilities.data) : null;
  // The grid cell under each pixel's centre (only used with `cells`).
  const cellX = new Int32Array(width);
  for (let x = 0; x < width; x++) cellX[x] = Math.min(n - 1, Math.floor(((x + 0.5) * n) / width));
  const a = new Float32Array(width);
  const b = new Float32Array(width);
  let total = 0;
  let inside = 0;
  let peak = -1;
  let peakValue = 0;
  for (let y = 0; y < height; y++) {
    const base = y * width;
    const cellRow = cells === null ? 0 : Math.min(n - 1, Math.floor(((y + 0.5) * n) / height)) * n;
    // a and b hold exact values of this row's columns below madeTo, from the last stretch.
    let madeTo = -1;
    // In raster order, as heatmapInLungs adds them; v === 0 adds nothing to `inside` either way.
    for (let x = 0; x < width; x++) {
      const v = data[base + x]!;
      total += v;
      if (v > peakValue) {
        peakValue = v;
        peak = base + x;
      }
      if (v === 0) continue;
      const sure = cells === null ? UNSURE : cells[cellRow + cellX[x]!]!;
      if (sure === SURE_OUT) continue;
      if (sure === SURE_IN) {
        inside += v;
        continue;
      }
      if (x >= madeTo) {
        // The unsure pixels lie along the lungs' edges: compute a short stretch at a time.
        madeTo = Math.min(width, x + EXACT_STRETCH);
        right.row(y, a, x, madeTo);
        left.row(y, b, x, madeTo);
      }
      if (a[x]! >= THRESHOLD32 || b[x]! >= THRESHOLD32) inside += v;
    }
  }
  if (!(total > 0)) return { energyInside: null, peakInside: null };
  const px = peak % width;
  const py = (peak - px) / width;
  right.row(py, a, px, px + 1);
  left.row(py, b, px, px + 1);
  return {
    energyInside: inside / total,
    peakInside: a[px]! >= THRESHOLD32 || b[px]! >= THRESHOLD32,
  };
}

/** Far more than the < 2e-7 a resized value can differ from the convex combination it is. */
const SURE_MARGIN = 1e-6;
/** Columns computed at once where a pixel is unsure (the edges of the lungs). */
const EXACT_STRETCH = 16;
const UNSURE = 0;
const SURE_IN = 1;
const SURE_OUT = 2;

/**
 * Per grid cell: SURE_IN when some channel's values in the cell's 3×3 neighbourhood are all
 * ≥ 0.5 + SURE_MARGIN, SURE_OUT when both channels' are all ≤ 0.5 − SURE_MARGIN, else UNSURE;
 * null when a value is NaN.
 */
function sureCells(maps: Float32Array): Uint8Array | null {
  const n = LUNG_GRID;
  const plane = n * n;
  // A NaN (a broken lung model) makes its neighbours' resized values NaN, whatever the rest:
  // decide nothing by cell then, and let every pixel be computed.
  for (let i = 0; i < maps.length; i++) if (Number.isNaN(maps[i])) return null;
  const high = LUNG_FIELD_RULE.threshold + SURE_MARGIN;
  const low = LUNG_FIELD_RULE.threshold - SURE_MARGIN;
  // Per cell: the smallest value of each channel and the largest of both over its 3×3
  // neighbourhood (clipped at the grid's edges), as a 1×3 pass then a 3×1 pass.
  const rowMin0 = new Float32Array(plane);
  const rowMin1 = new Float32Array(plane);
  const rowMax = new Float32Array(plane);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const at = j * n + i;
      let min0 = maps[at]!;
      let min1 = maps[plane + at]!;
      let max = min0 > min1 ? min0 : min1;
      for (let d = -1; d <= 1; d += 2) {
        if (i + d < 0 || i + d >= n) continue;
        const p0 = maps[at + d]!;
        const p1 = maps[plane + at + d]!;
        if (p0 < min0) min0 = p0;
        if (p1 < min1) min1 = p1;
        if (p0 > max) max = p0;
        if (p1 > max) max = p1;
      }
      rowMin0[at] = min0;
      rowMin1[at] = min1;
      rowMax[at] = max;
    }
  }
  const out = new Uint8Array(plane);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const at = j * n + i;
      let min0 = rowMin0[at]!;
      let min1 = rowMin1[at]!;
      let max = rowMax[at]!;
      for (let d = -n; d <= n; d += 2 * n) {
        if (j === 0 && d < 0) continue;
        if (j === n - 1 && d > 0) continue;
        if (rowMin0[at + d]! < min0) min0 = rowMin0[at + d]!;
        if (rowMin1[at + d]! < min1) min1 = rowMin1[at + d]!;
        if (rowMax[at + d]! > max) max = rowMax[at + d]!;
      }
      out[at] = min0 >= high || min1 >= high ? SURE_IN : max <= low ? SURE_OUT : UNSURE;
    }
  }
  return out;
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
