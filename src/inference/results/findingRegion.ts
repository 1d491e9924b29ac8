import { RadiolensError } from '../../foundation/core/index.js';
import type { Heatmap, ImageRegion, SourceImage } from './types.js';

/**
 * Where on the source image a finding is drawn (ADR 0141). The SR carries one image region
 * per finding so a viewer (OHIF's SR extension) draws the finding with its name and
 * probability: the heatmap's hottest connected region, or its hottest point when no region
 * stands out, or the whole image when no heatmap explains the finding.
 */

/** Heat at or above this fraction of the map's maximum belongs to the region. */
export const REGION_LEVEL = 0.5;
/**
 * A region covering more than this fraction of the image localises nothing (the model looked
 * everywhere): the hottest point is drawn instead.
 */
export const MAX_REGION_FRACTION = 0.5;

/** Rows and Columns of the source image, as the SR's coordinates refer to them. */
export function sourceSize(image: SourceImage): { rows: number; columns: number } {
  const rows = Number(image.dataset['Rows']);
  const columns = Number(image.dataset['Columns']);
  if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(columns) && columns > 0)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `source image ${image.sopInstanceUid} has no valid Rows/Columns (${String(image.dataset['Rows'])}×${String(image.dataset['Columns'])}): a region on it cannot be placed — pass the source's header`,
      { subject: image.sopInstanceUid },
    );
  }
  return { rows, columns };
}

/** The whole image as a closed polyline along its border. */
export function wholeImageRegion(image: SourceImage): ImageRegion {
  const { rows, columns } = sourceSize(image);
  return {
    graphicType: 'POLYLINE',
    points: [0, 0, columns, 0, columns, rows, 0, rows, 0, 0],
    basis: 'whole-image',
  };
}

/**
 * The region of a heatmap on the source image. The heatmap may have any size (the pipeline's
 * is the display image's); it is taken to cover the source image exactly, as the overlay does.
 * The region is the 8-connected set of cells at ≥ REGION_LEVEL × max that contains the
 * maximum, outlined by the convex hull of its cells' corners — a closed polygon a viewer can
 * draw, which contains every cell of the region.
 */
export function heatmapRegion(heatmap: Heatmap, image: SourceImage): ImageRegion {
  const { rows, columns } = sourceSize(image);
  const { width, height, data } = heatmap;
  const sx = columns / width;
  const sy = rows / height;
  let peak = 0;
  for (let i = 1; i < data.length; i++) if (data[i]! > data[peak]!) peak = i;
  const max = data[peak] ?? 0;
  const peakX = peak % width;
  const peakY = Math.floor(peak / width);
  const point: ImageRegion = {
    graphicType: 'POINT',
    points: [round((peakX + 0.5) * sx), round((peakY + 0.5) * sy)],
    basis: 'hottest-point',
  };
  if (!(max > 0)) {
    // A flat map points nowhere: the centre of the image is as good as any, say so by basis.
    return { ...point, points: [round(columns / 2), round(rows / 2)] };
  }
  const level = REGION_LEVEL * max;
  // Per row, the leftmost and rightmost cell: the hull of their corners is the region's hull.
  const left = new Int32Array(height).fill(width);
  const right = new Int32Array(height).fill(-1);
  const count = fillRegion(data, width, height, peak, level, left, right);
  if (count > MAX_REGION_FRACTION * data.length) return point;
  const corners: [number, number][] = [];
  for (let y = 0; y < height; y++) {
    if (right[y]! < 0) continue;
    corners.push([left[y]!, y], [left[y]!, y + 1], [right[y]! + 1, y], [right[y]! + 1, y + 1]);
  }
  const hull = convexHull(corners);
  const points: number[] = [];
  for (const [x, y] of [...hull, hull[0]!]) points.push(round(x * sx), round(y * sy));
  return { graphicType: 'POLYLINE', points, basis: 'hottest-region' };
}

/**
 * The 8-connected cells at ≥ level that include `seed`, filled a row span at a time (a
 * scanline fill: each span is found once, and only the spans above and below it are looked
 * at, instead of eight neighbours per cell); records each row's leftmost and rightmost cell
 * and returns the number of cells. The same cells as a cell-by-cell fill (ADR 0129).
 */
export function fillRegion(
  data: Float32Array,
  width: number,
  height: number,
  seed: number,
  level: number,
  left: Int32Array,
  right: Int32Array,
): number {
  const filled = new Uint8Array(data.length);
  const inside = (cell: number): boolean => filled[cell] === 0 && data[cell]! >= level;
  const seeds = [seed];
  let count = 0;
  while (seeds.length > 0) {
    const cell = seeds.pop()!;
    if (!inside(cell)) continue;
    const x = cell % width;
    const y = (cell - x) / width;
    const row = y * width;
    let from = x;
    while (from > 0 && inside(row + from - 1)) from--;
    let to = x;
    while (to < width - 1 && inside(row + to + 1)) to++;
    filled.fill(1, row + from, row + to + 1);
    count += to - from + 1;
    if (from < left[y]!) left[y] = from;
    if (to > right[y]!) right[y] = to;
    // Diagonal neighbours count: the rows above and below are searched one cell wider.
    const lo = Math.max(0, from - 1);
    const hi = Math.min(width - 1, to + 1);
    for (const next of [y - 1, y + 1]) {
      if (next < 0 || next >= height) continue;
      const base = next * width;
      for (let nx = lo; nx <= hi; nx++) {
        // One seed per run of cells to fill; the run is extended when its seed is taken.
        if (inside(base + nx) && (nx === lo || !inside(base + nx - 1))) seeds.push(base + nx);
      }
    }
  }
  return count;
}

/** Two decimals: sub-pixel enough, and short in the SR's FL values and in test output. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Andrew's monotone chain; counter-clockwise in image coordinates, no repeated points. */
function convexHull(points: [number, number][]): [number, number][] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const unique = sorted.filter(
    (p, i) => i === 0 || p[0] !== sorted[i - 1]![0] || p[1] !== sorted[i - 1]![1],
  );
  if (unique.length < 3) return unique;
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of unique) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0)
      lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (const p of [...unique].reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0)
      upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}
