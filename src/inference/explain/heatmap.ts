import { RadiolensError } from '../../foundation/core/index.js';
import type { InputPlacement } from '../imaging/index.js';

/**
 * A heatmap over the original image, in raw units (≥ 0): for Grad-CAM the class-evidence
 * map Σ w_ck A_k, for occlusion the score drop. `max` is kept so a display that scales the map
 * to [0, 1] can still say what full scale means (ADR 0033).
 */
export interface Heatmap {
  width: number;
  height: number;
  /** Row-major, width × height values, all ≥ 0. */
  data: Float32Array;
  max: number;
}

/** The image the heatmap is drawn on, and how it was fitted into the model input. */
export interface HeatmapTarget {
  width: number;
  height: number;
  /**
   * Where preprocessing placed the image in the model input (imaging's inputPlacement, the
   * one geometry both use). Absent: the image was stretched to fill the whole input.
   */
  placement?: ModelInputPlacement;
}

/** imaging's InputPlacement plus the size of the input it is placed in. */
export interface ModelInputPlacement extends InputPlacement {
  inputWidth: number;
  inputHeight: number;
}

/** A map laid over the whole model input (feature map or input-resolution map). */
export interface InputGridMap {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Bilinear resampling of a map that covers the model input onto the original image, with
 * pixel centres aligned (align_corners = false, as in the resize used for preprocessing) and
 * edges held. With a letterbox, each image pixel is first located inside the content
 * rectangle: the padding part of the map is cropped away, only the image's part is stretched
 * over the image.
 */
export function resampleToImage(map: InputGridMap, target: HeatmapTarget): Float32Array {
  return resampleWithMax(map, target).data;
}

/**
 * resampleToImage and the result's maximum (as maxOf finds it) in one pass. The map has a
 * few rows (7 for a DenseNet feature grid) and the image thousands: each map row is
 * interpolated along x once, in float64 as the per-pixel formula computed it, so a pixel
 * costs one vertical blend of two precomputed values instead of two horizontal ones and a
 * vertical one. The values are bit-identical to the per-pixel formula (same operations on the
 * same doubles, in the same order).
 */
export function resampleWithMax(map: InputGridMap, target: HeatmapTarget): Heatmap {
  const rows = resampleRows(map, target);
  const { width, height } = target;
  const out = new Float32Array(width * height);
  let max = 0;
  for (let y = 0; y < height; y++) {
    const row = out.subarray(y * width, (y + 1) * width);
    rows.row(y, row);
    for (let x = 0; x < width; x++) if (row[x]! > max) max = row[x]!;
  }
  return { width, height, data: out, max };
}

/**
 * A heatmap made one row at a time and never held whole: the source-grid maps only the
 * heatmap PNGs need (16 MB of floats per label at 2048², written once and read once).
 */
export interface HeatmapRows {
  width: number;
  height: number;
  /**
   * Row y's values (float32, as resampleToImage stores them), written into `into`; only
   * columns from … to − 1 when given (the rest of `into` is left as it was).
   */
  row(y: number, into: Float32Array, from?: number, to?: number): void;
  /**
   * The rows, ascending, that hold the map's largest value up to rounding: the first and
   * last row of each run of rows blended from the same two map rows. Within such a run a
   * pixel's value is linear in the blend weight, which grows down the run, so its largest
   * value lies at one end (16 rows instead of 2048 for a 7-row feature grid at 2048²). A
   * reader that needs the exact maximum checks the other rows against it as it reads them
   * (encodeHeatmapPng does).
   */
  maximumRows: Int32Array;
}

/** resampleToImage one row at a time: the same values, bit for bit. */
export function resampleRows(map: InputGridMap, target: HeatmapTarget): HeatmapRows {
  const { width, height } = target;
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `heatmap target size ${width}x${height} is not a positive integer size`,
    );
  }
  const p = target.placement;
  const xs = axis(width, map.width, p && { offset: p.x, extent: p.width, full: p.inputWidth });
  const ys = axis(height, map.height, p && { offset: p.y, extent: p.height, full: p.inputHeight });
  // Row r of the map interpolated along x: map[r][c0]·(1 − fx) + map[r][c1]·fx per pixel.
  const along = new Float64Array(map.height * width);
  for (let r = 0; r < map.height; r++) {
    interpolateAlong(map.data, r * map.width, xs.i0, xs.i1, xs.f, along, r * width, width);
  }
  return {
    width,
    height,
    maximumRows: runEnds(ys, height),
    row(y, into, from = 0, to = width) {
      const fy = ys.f[y]!;
      blendRows(along, ys.i0[y]! * width, ys.i1[y]! * width, 1 - fy, fy, into, from, to);
    },
  };
}

/*
 * The per-pixel loops sit in functions that see only typed arrays and numbers, not in the
 * closure above: a closure made per heatmap has its optimised code dropped when the objects it
 * embeds die (once per image), and an unoptimised loop allocates a heap number per sum — about
 * 7 MB per 1024² overlay, and a full collection with it (ADR 0164, fourth follow-up).
 */

/** out[at + x] = map[row + i0[x]]·(1 − f[x]) + map[row + i1[x]]·f[x], float64. */
function interpolateAlong(
  map: Float32Array,
  row: number,
  i0: Int32Array,
  i1: Int32Array,
  f: Float32Array,
  out: Float64Array,
  at: number,
  width: number,
): void {
  for (let x = 0; x < width; x++) {
    const fx = f[x]!;
    out[at + x] = map[row + i0[x]!]! * (1 - fx) + map[row + i1[x]!]! * fx;
  }
}

/** into[x] = along[top + x]·keep + along[bottom + x]·fy for x in [from, to), stored float32. */
function blendRows(
  along: Float64Array,
  top: number,
  bottom: number,
  keep: number,
  fy: number,
  into: Float32Array,
  from: number,
  to: number,
): void {
  for (let x = from; x < to; x++) into[x] = along[top + x]! * keep + along[bottom + x]! * fy;
}

/** The first and last index of each run of equal (i0, i1) pairs, ascending. */
function runEnds(axis: { i0: Int32Array; i1: Int32Array }, size: number): Int32Array {
  const { i0, i1 } = axis;
  const ends: number[] = [];
  for (let t = 0; t < size; t++) {
    const first = t === 0 || i0[t] !== i0[t - 1] || i1[t] !== i1[t - 1];
    const last = t === size - 1 || i0[t] !== i0[t + 1] || i1[t] !== i1[t + 1];
    if (first || last) ends.push(t);
  }
  return Int32Array.from(ends);
}

/** Source indices and weights along one axis. */
function axis(
  targetSize: number,
  mapSize: number,
  /** The image's span inside the input; a span covering it all is the stretch case. */
  letterbox: { offset: number; extent: number; full: number } | undefined,
): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(targetSize);
  const i1 = new Int32Array(targetSize);
  const f = new Float32Array(targetSize);
  for (let t = 0; t < targetSize; t++) {
    // Position of this pixel's centre as a fraction of the model input.
    const fraction =
      letterbox && !(letterbox.offset === 0 && letterbox.extent === letterbox.full)
        ? (letterbox.offset + ((t + 0.5) * letterbox.extent) / targetSize) / letterbox.full
        : (t + 0.5) / targetSize;
    const s = Math.min(Math.max(fraction * mapSize - 0.5, 0), mapSize - 1);
    const lo = Math.floor(s);
    i0[t] = lo;
    i1[t] = Math.min(lo + 1, mapSize - 1);
    f[t] = s - lo;
  }
  return { i0, i1, f };
}

export interface NormalisedHeatmap {
  width: number;
  height: number;
  /** Values in [0, 1]: raw / rawMax. */
  data: Float32Array;
  /** The raw value shown as 1 — what the legend's top end means. 0: the map is empty. */
  rawMax: number;
}

/** Scale for display by dividing by the maximum; an all-zero map stays all zero. */
export function normaliseHeatmap(heatmap: Heatmap): NormalisedHeatmap {
  const max = heatmap.max;
  const data = max > 0 ? heatmap.data.map((v) => v / max) : new Float32Array(heatmap.data.length);
  return { width: heatmap.width, height: heatmap.height, data, rawMax: max };
}

export function maxOf(data: Float32Array): number {
  let max = 0;
  for (const v of data) if (v > max) max = v;
  return max;
}
