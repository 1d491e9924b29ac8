import { createHash } from 'node:crypto';
import { encodeGrey16PngRows } from '../../foundation/raster/index.js';
import type { Heatmap } from './types.js';

/** The largest 16-bit value: the heatmap's maximum is written as this. */
export const HEATMAP_PNG_FULL_SCALE = 65535;

/**
 * A heatmap made one row at a time (explain's HeatmapRows): row y's width values, float32,
 * written into `into`.
 */
export interface HeatmapRowSource {
  width: number;
  height: number;
  row(y: number, into: Float32Array): void;
  /**
   * Rows, ascending, among which the map's largest value lies up to rounding (explain's
   * HeatmapRows.maximumRows); absent: any row may hold it.
   */
  maximumRows?: ArrayLike<number>;
}

/** A heatmap as data (ADR 0151): a 16-bit greyscale PNG with the source image's size. */
export interface HeatmapPng {
  png: Uint8Array;
  width: number;
  height: number;
  /** The raw heatmap value written as 65535; 0 when the map is zero everywhere. */
  maxRaw: number;
  /** Hex SHA-256 of the PNG file's bytes. */
  sha256: string;
  /** Where the value 65535 lies (the first such pixel in row-major order), 0-based. */
  peak: { x: number; y: number };
}

/**
 * Quantise a heatmap (raw units, ≥ 0) linearly onto 0…65535 with its maximum at 65535, so
 * raw = value / 65535 × maxRaw, and encode it as a 16-bit greyscale PNG. Resolution is what
 * the caller resampled to: the source image's columns × rows. The PNG deflate runs in zlib's
 * thread pool, off this thread.
 *
 * A map made by rows is made once (ADR 0129): its maximum is taken from the rows that can
 * hold it (`maximumRows`), and every value is checked against it as it is quantised; should
 * rounding have put a larger value elsewhere, the maximum is taken from every row and the
 * PNG made again, so the result never depends on the shortcut.
 */
export async function encodeHeatmapPng(heatmap: Heatmap | HeatmapRowSource): Promise<HeatmapPng> {
  const rowOf = rowReader(heatmap);
  const candidates = 'maximumRows' in heatmap ? heatmap.maximumRows : undefined;
  if (candidates !== undefined) {
    const first = await quantisedPng(heatmap, rowOf, maximumOf(rowOf, candidates));
    if (first !== null) return first;
  }
  const rows = Int32Array.from({ length: heatmap.height }, (_, y) => y);
  return (await quantisedPng(heatmap, rowOf, maximumOf(rowOf, rows)))!;
}

/** The largest value of the given rows (0 when none is positive). */
function maximumOf(rowOf: (y: number) => Float32Array, rows: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rowOf(rows[i]!);
    for (let x = 0; x < row.length; x++) if (row[x]! > max) max = row[x]!;
  }
  return max;
}

/**
 * The PNG with `max` written as 65535, or null when a value larger than `max` turned up (the
 * caller's maximum was not the map's). The peak is the first value equal to `max`, row-major.
 */
async function quantisedPng(
  heatmap: { width: number; height: number },
  rowOf: (y: number) => Float32Array,
  max: number,
): Promise<HeatmapPng | null> {
  const { width, height } = heatmap;
  const scale = max > 0 ? HEATMAP_PNG_FULL_SCALE / max : 0;
  let peakIndex = -1;
  let exceeded = false;
  // Quantised row by row as the encoder filters them: no full-size copy of the samples.
  const png = await encodeGrey16PngRows(width, height, (y, samples) => {
    if (max <= 0 || exceeded) return; // the row buffer starts at zero and stays so
    const row = rowOf(y);
    for (let x = 0; x < width; x++) {
      const value = row[x]!;
      if (value >= max) {
        if (value > max) exceeded = true;
        else if (peakIndex < 0) peakIndex = y * width + x;
      }
      // round(value × scale), clamped to 0…65535; a negative or NaN value (ReLU maps are ≥ 0)
      // cannot wrap around. Math.floor(v + 0.5) is Math.round(v) for every v ≥ 0.5 (the sum
      // is exact or rounds to a double that is no integer farther away) and, below 0.5, both
      // are 0: the same samples at less than half the cost of Math.round.
      const scaled = value * scale;
      samples[x] = scaled >= 0.5 ? Math.min(HEATMAP_PNG_FULL_SCALE, Math.floor(scaled + 0.5)) : 0;
    }
  });
  if (exceeded) return null;
  if (peakIndex < 0) peakIndex = 0; // an empty map (max 0): the first pixel, as always
  return {
    png,
    width,
    height,
    maxRaw: max,
    sha256: createHash('sha256').update(png).digest('hex'),
    peak: { x: peakIndex % width, y: Math.floor(peakIndex / width) },
  };
}

/** Row y of a heatmap: a view on a whole one, or a reused buffer the map's rows are made in. */
function rowReader(heatmap: Heatmap | HeatmapRowSource): (y: number) => Float32Array {
  const { width } = heatmap;
  if ('data' in heatmap) {
    const data = heatmap.data;
    return (y) => data.subarray(y * width, (y + 1) * width);
  }
  const buffer = new Float32Array(width);
  return (y) => {
    heatmap.row(y, buffer);
    return buffer;
  };
}
