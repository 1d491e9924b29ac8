import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';
import {
  boxesToMask,
  readMaskFile,
  requireSameSize,
  type Box,
  type RegionMask,
} from './regions.js';

/** Where an image's annotated region (or lung field) comes from, looked up by image path. */
export interface RegionSource {
  /** For the report: what the regions are and where they came from. */
  readonly description: string;
  /** Whether the source has a region for this image (path as given or absolute). */
  covers(imagePath: string): boolean;
  /** The region of `imagePath` at the image's size, or null when the source has none for it. */
  regionFor(imagePath: string, width: number, height: number): Promise<RegionMask | null>;
}

/**
 * Boxes from a CSV with columns image (relative to the CSV), x, y, width, height (top-left
 * corner and size in the image's pixels); several rows for one image are united. `finding`
 * keeps only rows whose `finding` column has that value (case-insensitive).
 */
export function boxesFromCsv(csvPath: string, options: { finding?: string } = {}): RegionSource {
  const table = readCsvFile(csvPath);
  requireColumns(table, ['image', 'x', 'y', 'width', 'height']);
  if (options.finding !== undefined) requireColumns(table, ['finding']);
  const base = dirname(resolve(csvPath));
  const byImage = new Map<string, Box[]>();
  table.rows.forEach((row, i) => {
    if (
      options.finding !== undefined &&
      (row['finding'] ?? '').trim().toLowerCase() !== options.finding.toLowerCase()
    ) {
      return;
    }
    const number = (column: string): number => {
      const raw = (row[column] ?? '').trim();
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `${csvPath} data row ${i + 1}: ${column} is "${raw}", not a number of pixels`,
          { subject: csvPath },
        );
      }
      return value;
    };
    const image = resolve(base, (row['image'] ?? '').trim());
    const list = byImage.get(image) ?? [];
    list.push({ x: number('x'), y: number('y'), width: number('width'), height: number('height') });
    byImage.set(image, list);
  });
  if (byImage.size === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${csvPath} has no box${options.finding === undefined ? '' : ` with finding "${options.finding}"`} — nothing to measure against`,
      { subject: csvPath },
    );
  }
  return {
    description: `boxes from ${csvPath}${options.finding === undefined ? '' : ` (finding ${options.finding})`}`,
    covers: (imagePath) => byImage.has(resolve(imagePath)),
    regionFor: (imagePath, width, height) => {
      const boxes = byImage.get(resolve(imagePath));
      return Promise.resolve(
        boxes === undefined ? null : boxesToMask(boxes, width, height, `${csvPath} (${imagePath})`),
      );
    },
  };
}

/**
 * Mask images (PNG, non-zero = inside, the image's rows and columns) from a folder, matched
 * to images by file name, or from a CSV with columns image and mask (both relative to the
 * CSV; the layout of cxr-lung-masks/labels.csv).
 */
export async function masksFrom(spec: string, what: string): Promise<RegionSource> {
  const path = resolve(spec);
  const info = await stat(path).catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `${what} ${spec} does not exist — give a folder or a CSV`, {
      subject: spec,
      cause,
    });
  });
  const byImage = new Map<string, string>();
  let byName: Map<string, string> | null = null;
  if (info.isDirectory()) {
    byName = new Map();
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isFile() && !entry.name.startsWith('.'))
        byName.set(entry.name, join(path, entry.name));
    }
    if (byName.size === 0) {
      throw new RadiolensError('E_BAD_INPUT', `${what} folder ${spec} holds no mask files`, {
        subject: spec,
      });
    }
  } else {
    const table = readCsvFile(path);
    requireColumns(table, ['image', 'mask']);
    const base = dirname(path);
    for (const row of table.rows) {
      const mask = (row['mask'] ?? '').trim();
      if (mask !== '') byImage.set(resolve(base, (row['image'] ?? '').trim()), resolve(base, mask));
    }
  }
  const maskPath = (imagePath: string): string | undefined =>
    byName === null ? byImage.get(resolve(imagePath)) : byName.get(basename(imagePath));
  return {
    description: `${what} from ${spec}${byName === null ? '' : ' (matched by file name)'}`,
    covers: (imagePath) => maskPath(imagePath) !== undefined,
    regionFor: async (imagePath, width, height) => {
      const file = maskPath(imagePath);
      if (file === undefined) return null;
      const mask = await readMaskFile(file);
      requireSameSize(mask, width, height, `${what} ${file}`);
      return mask;
    },
  };
}
