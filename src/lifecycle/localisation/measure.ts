import { RadiolensError } from '../../foundation/core/index.js';
import type { Heatmap } from '../../inference/explain/index.js';
import { areaShare, type RegionMask } from './regions.js';

/** Width of the outer border band, as a fraction of each side (10% of the width on the left
 * and on the right, 10% of the height at the top and at the bottom). */
export const BORDER_BAND = 0.1;

/** The centre-weighted baseline: a 2-D Gaussian centred on the image, σ = this × each side. */
export const CENTRE_SIGMA = 0.25;

export interface Point {
  x: number;
  y: number;
}

/** What one image's heatmap does, and what the two baseline heatmaps would do on it. */
export interface ImageLocalisation {
  image: string;
  patient: string | null;
  width: number;
  height: number;
  score: number;
  heatmapMax: number;
  /** The heatmap's maximum (see peakOf); null when the heatmap is zero everywhere. */
  peak: Point | null;
  /** Against the annotated region (box or mask), when the image has one. */
  region: {
    areaShare: number;
    /** Pointing game: the peak lies inside the region (an empty heatmap misses). */
    hit: boolean;
    /** Share of the heatmap's energy (sum of its values) inside the region; null: empty map. */
    energyShare: number | null;
  } | null;
  /** Against the lung field, when the image has one. */
  lungs: {
    areaShare: number;
    peakInside: boolean | null;
    energyShare: number | null;
  } | null;
  /** The peak lies in the outer border band; null: empty map. */
  peakInBorder: boolean | null;
  baselines: {
    /**
     * A heatmap of independent uniform noise: its peak is equally likely to be any pixel, so
     * the chance of a hit is the region's area share, and its expected energy share is the
     * area share too. These are expectations, not draws.
     */
    random: {
      hit: number | null;
      energyInRegion: number | null;
      energyInLungs: number | null;
      peakInLungs: number | null;
      peakInBorder: number;
    };
    /** The centre-weighted Gaussian (CENTRE_SIGMA): peak at the centre pixel. */
    centre: {
      hit: boolean | null;
      energyInRegion: number | null;
      energyInLungs: number | null;
      peakInLungs: boolean | null;
      peakInBorder: boolean;
    };
  };
}

/**
 * The pixel the heatmap points at: its maximum. Where several pixels share the maximum (a
 * plateau), the one nearest their mean position, so a tie is not resolved towards the top
 * left by scan order. Null when the map is zero (or negative) everywhere: it points nowhere.
 */
export function peakOf(data: Float32Array | Float64Array, width: number): Point | null {
  let max = 0;
  for (const v of data) if (v > max) max = v;
  if (!(max > 0)) return null;
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === max) {
      sx += i % width;
      sy += Math.floor(i / width);
      n++;
    }
  }
  const mx = sx / n;
  const my = sy / n;
  let best = -1;
  let bestDistance = Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== max) continue;
    const d = ((i % width) - mx) ** 2 + (Math.floor(i / width) - my) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  }
  return { x: best % width, y: Math.floor(best / width) };
}

/** Share of the map's sum that lies inside the region; null for an empty map. */
export function energyShare(data: Float32Array | Float64Array, region: RegionMask): number | null {
  let total = 0;
  let inside = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    total += v;
    if (region.data[i] === 1) inside += v;
  }
  return total > 0 ? inside / total : null;
}

/** Whether a pixel's centre lies in the outer border band. */
export function inBorderBand(point: Point, width: number, height: number): boolean {
  const cx = point.x + 0.5;
  const cy = point.y + 0.5;
  return (
    cx < BORDER_BAND * width ||
    cx > (1 - BORDER_BAND) * width ||
    cy < BORDER_BAND * height ||
    cy > (1 - BORDER_BAND) * height
  );
}

/** Share of the image's pixels in the border band: all but the inner rectangle. */
export function borderBandShare(width: number, height: number): number {
  const innerColumns = Array.from({ length: width }, (_, x) => x).filter(
    (x) => !inBorderBand({ x, y: Math.floor(height / 2) }, width, height),
  ).length;
  const innerRows = Array.from({ length: height }, (_, y) => y).filter(
    (y) => !inBorderBand({ x: Math.floor(width / 2), y }, width, height),
  ).length;
  return 1 - (innerColumns * innerRows) / (width * height);
}

const centreMaps = new Map<string, { data: Float64Array; peak: Point }>();

/** The centre-weighted baseline heatmap for an image size (cached: sizes repeat). */
export function centreWeightedMap(
  width: number,
  height: number,
): { data: Float64Array; peak: Point } {
  const key = `${width}x${height}`;
  const cached = centreMaps.get(key);
  if (cached) return cached;
  const sx = CENTRE_SIGMA * width;
  const sy = CENTRE_SIGMA * height;
  const data = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const dy = (y + 0.5 - height / 2) ** 2 / (2 * sy * sy);
    for (let x = 0; x < width; x++) {
      data[y * width + x] = Math.exp(-((x + 0.5 - width / 2) ** 2 / (2 * sx * sx)) - dy);
    }
  }
  const made = { data, peak: peakOf(data, width)! };
  if (centreMaps.size > 64) centreMaps.clear();
  centreMaps.set(key, made);
  return made;
}

/**
 * Measure one image's heatmap against its annotated region and lung field (either may be
 * absent), next to the two baselines on the same image.
 */
export function localiseImage(input: {
  image: string;
  patient: string | null;
  score: number;
  heatmap: Heatmap;
  region: RegionMask | null;
  lungs: RegionMask | null;
}): ImageLocalisation {
  const { heatmap, region, lungs } = input;
  const { width, height } = heatmap;
  for (const [what, mask] of [
    ['region', region],
    ['lung field', lungs],
  ] as const) {
    if (mask && (mask.width !== width || mask.height !== height)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${input.image}: the ${what} is ${mask.width}×${mask.height}, the heatmap ${width}×${height}`,
      );
    }
  }
  const peak = peakOf(heatmap.data, width);
  const inside = (mask: RegionMask, p: Point): boolean => mask.data[p.y * width + p.x] === 1;
  const centre = centreWeightedMap(width, height);
  const regionShare = region ? areaShare(region) : null;
  const lungShare = lungs ? areaShare(lungs) : null;
  return {
    image: input.image,
    patient: input.patient,
    width,
    height,
    score: input.score,
    heatmapMax: heatmap.max,
    peak,
    region: region
      ? {
          areaShare: regionShare!,
          hit: peak !== null && inside(region, peak),
          energyShare: energyShare(heatmap.data, region),
        }
      : null,
    lungs: lungs
      ? {
          areaShare: lungShare!,
          peakInside: peak === null ? null : inside(lungs, peak),
          energyShare: energyShare(heatmap.data, lungs),
        }
      : null,
    peakInBorder: peak === null ? null : inBorderBand(peak, width, height),
    baselines: {
      random: {
        hit: regionShare,
        energyInRegion: regionShare,
        energyInLungs: lungShare,
        peakInLungs: lungShare,
        peakInBorder: borderBandShare(width, height),
      },
      centre: {
        hit: region ? inside(region, centre.peak) : null,
        energyInRegion: region ? energyShare(centre.data, region) : null,
        energyInLungs: lungs ? energyShare(centre.data, lungs) : null,
        peakInLungs: lungs ? inside(lungs, centre.peak) : null,
        peakInBorder: inBorderBand(centre.peak, width, height),
      },
    },
  };
}
