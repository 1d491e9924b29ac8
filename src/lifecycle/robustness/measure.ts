import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, RadiolensError } from '../../foundation/core/index.js';
import { decodeRaster } from '../../foundation/raster/index.js';
import { scoreImages } from '../../inference/analysis/index.js';
import type { ModelPackage } from '../../inference/models/index.js';
import { imageVersions, type VersionId } from './perturbations.js';

/** One image to perturb: the file, its name in the labels CSV, its patient. */
export interface RobustnessItem {
  path: string;
  image: string;
  patient: string | null;
}

/** One image's score for the label in every version, as the normal pipeline scored it. */
export interface ImageScores {
  image: string;
  patient: string | null;
  scores: Record<VersionId, number>;
}

export interface RobustnessRun {
  images: ImageScores[];
  /** Images (or versions of them) that could not be made or scored, with the reason. */
  failed: Array<{ image: string; problem: string }>;
}

/**
 * Write every version of every image (perturbations.ts) into a scratch folder — or
 * `keepIn`, to inspect them — and score them with `scoreImages`, the path validate takes:
 * PNG/JPEG as display grey, DICOM through the intended-use check, Modality LUT and VOI LUT.
 * Images are processed in chunks so the scratch folder stays small.
 */
export async function runRobustness(
  pkg: ModelPackage,
  items: readonly RobustnessItem[],
  options: {
    labelIndex?: number;
    viewPosition?: string;
    keepIn?: string;
    chunk?: number;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<RobustnessRun> {
  const labelIndex = options.labelIndex ?? 0;
  const chunk = options.chunk ?? 32;
  const scratch = options.keepIn ?? (await mkdtemp(join(tmpdir(), 'radiolens-robustness-')));
  await mkdir(scratch, { recursive: true });
  const out: RobustnessRun = { images: [], failed: [] };
  try {
    for (let start = 0; start < items.length; start += chunk) {
      const written: Array<{
        item: RobustnessItem;
        files: Array<{ id: VersionId; path: string }>;
      }> = [];
      for (const [offset, item] of items.slice(start, start + chunk).entries()) {
        try {
          const bytes = await readFile(item.path).catch((cause: unknown) => {
            throw new RadiolensError('E_IO', `cannot read ${item.path}`, { cause });
          });
          if (
            !(bytes[0] === 0x89 && bytes[1] === 0x50) &&
            !(bytes[0] === 0xff && bytes[1] === 0xd8)
          ) {
            throw new RadiolensError(
              'E_BAD_INPUT',
              `${item.image} is not a PNG or JPEG: robustness perturbs the stored pixels of PNG/JPEG sources (convert DICOM with its window to PNG first)`,
            );
          }
          const raster = decodeRaster(bytes, item.image);
          const versions = imageVersions(raster, {
            name: item.image,
            bytes,
            patientId: item.patient ?? '',
            viewPosition: options.viewPosition ?? '',
          });
          const files: Array<{ id: VersionId; path: string }> = [];
          for (const version of versions) {
            const path = join(scratch, `${start + offset}-${version.id}.${version.extension}`);
            await writeFile(path, version.bytes);
            files.push({ id: version.id, path });
          }
          written.push({ item, files });
        } catch (error) {
          out.failed.push({ image: item.image, problem: describeError(error) });
        }
      }
      const scored = await scoreImages(
        written.flatMap((w) => w.files.map((f) => f.path)),
        pkg,
      );
      const byPath = new Map(scored.map((s) => [s.path, s]));
      for (const { item, files } of written) {
        const problems = files
          .map((f) => ({ f, s: byPath.get(f.path)! }))
          .filter(({ s }) => s.scores === null)
          .map(({ f, s }) => `${f.id}: ${s.problem}`);
        if (problems.length > 0) {
          out.failed.push({ image: item.image, problem: problems.join('; ') });
          continue;
        }
        out.images.push({
          image: item.image,
          patient: item.patient,
          scores: Object.fromEntries(
            files.map((f) => [f.id, byPath.get(f.path)!.scores![labelIndex]!]),
          ) as Record<VersionId, number>,
        });
      }
      if (options.keepIn === undefined) {
        await rm(scratch, { recursive: true, force: true });
        await mkdir(scratch, { recursive: true });
      }
      options.onProgress?.(Math.min(items.length, start + chunk), items.length);
    }
  } finally {
    if (options.keepIn === undefined) await rm(scratch, { recursive: true, force: true });
  }
  return out;
}
