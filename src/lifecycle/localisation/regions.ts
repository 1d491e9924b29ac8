import { readFile } from 'node:fs/promises';
import { RadiolensError } from '../../foundation/core/index.js';
import { decodeRaster } from '../../foundation/raster/index.js';

/** A binary region over an image's pixels (row-major, 1 = inside), at the image's size. */
export interface RegionMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An axis-aligned box in image pixels: top-left corner and size (as NIH's BBox_List writes it). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The union of boxes as a pixel mask: a pixel is inside when its centre (i + 0.5, j + 0.5)
 * lies in [x, x + width) × [y, y + height). A box reaching outside the image is clipped; a box
 * with no pixel centre inside the image is an error (wrong image, or coordinates in another
 * pixel space).
 */
export function boxesToMask(
  boxes: readonly Box[],
  width: number,
  height: number,
  source: string,
): RegionMask {
  const data = new Uint8Array(width * height);
  for (const box of boxes) {
    if (
      ![box.x, box.y, box.width, box.height].every(Number.isFinite) ||
      box.width <= 0 ||
      box.height <= 0
    ) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${source}: box ${JSON.stringify(box)} is not a box — give x, y, width, height in pixels with positive width and height`,
        { subject: source },
      );
    }
    const x0 = Math.max(0, Math.ceil(box.x - 0.5));
    const x1 = Math.min(width, Math.ceil(box.x + box.width - 0.5));
    const y0 = Math.max(0, Math.ceil(box.y - 0.5));
    const y1 = Math.min(height, Math.ceil(box.y + box.height - 0.5));
    if (x0 >= x1 || y0 >= y1) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${source}: box at (${box.x}, ${box.y}) size ${box.width}×${box.height} covers no pixel of the ${width}×${height} image — are the coordinates in this image's pixels?`,
        { subject: source },
      );
    }
    for (let y = y0; y < y1; y++) data.fill(1, y * width + x0, y * width + x1);
  }
  return { width, height, data };
}

/** A mask image (PNG, 8 or 16 bit): any non-zero sample is inside. */
export async function readMaskFile(path: string): Promise<RegionMask> {
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `cannot read mask ${path}`, { subject: path, cause });
  });
  const raster = decodeRaster(bytes, path);
  const data = new Uint8Array(raster.width * raster.height);
  for (let i = 0; i < data.length; i++) data[i] = raster.samples[i]! > 0 ? 1 : 0;
  return { width: raster.width, height: raster.height, data };
}

/** Refuse a mask that is not at the image's size: resampling it would move the region. */
export function requireSameSize(
  mask: RegionMask,
  width: number,
  height: number,
  what: string,
): void {
  if (mask.width !== width || mask.height !== height) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${what} is ${mask.width}×${mask.height} but its image is ${width}×${height} — masks must have the image's rows and columns`,
      { subject: what },
    );
  }
}

/** Share of the image's pixels inside the region. */
export function areaShare(mask: RegionMask): number {
  let inside = 0;
  for (const v of mask.data) inside += v;
  return inside / mask.data.length;
}
