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
 */
export async function encodeHeatmapPng(heatmap: Heatmap | HeatmapRowSource): Promise<HeatmapPng> {
  const { width, height } = heatmap;
  const rowOf = rowReader(heatmap);
  // The maximum and where it first lies, row-major (a map made by rows is made twice: once
  // here, once as it is written, instead of holding 4 bytes per source pixel in between).
  let max = 0;
  let peakIndex = 0;
  for (let y = 0; y < height; y++) {
    const row = rowOf(y);
    for (let x = 0; x < width; x++) {
      if (row[x]! > max) {
        max = row[x]!;
        peakIndex = y * width + x;
      }
    }
  }
  // Quantised row by row as the encoder filters them: no full-size copy of the samples.
  const scale = max > 0 ? HEATMAP_PNG_FULL_SCALE / max : 0;
  const png = await encodeGrey16PngRows(width, height, (y, samples) => {
    if (max <= 0) return; // the row buffer starts at zero and stays so
    const row = rowOf(y);
    for (let x = 0; x < width; x++) {
      const value = row[x]!;
      // ReLU maps are ≥ 0; clamp anyway so a stray negative or NaN cannot wrap around.
      samples[x] = value > 0 ? Math.min(HEATMAP_PNG_FULL_SCALE, Math.round(value * scale)) : 0;
    }
  });
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
