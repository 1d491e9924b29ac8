/**
 * The version of a site dataset as a content hash: sha256 over the labels file's bytes and,
 * for every image in name order, its name and the sha256 of its bytes. Any relabelled,
 * added, removed or altered image gives a new version, so a model's lineage names the exact
 * data it was adapted on. Same construction as training/train.py's dataset_version.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RadiolensError } from '../../foundation/core/index.js';
import { sha256File } from '../../inference/models/index.js';

export interface DatasetVersion {
  /** "sha256:<hex>" */
  version: string;
  sha256: string;
  images: number;
}

export async function siteDatasetVersion(
  labelsCsvPath: string,
  images: readonly { image: string; imagePath: string }[],
): Promise<DatasetVersion> {
  const hash = createHash('sha256');
  hash.update(
    await readFile(labelsCsvPath).catch((error: unknown) => {
      throw new RadiolensError('E_IO', `cannot read ${labelsCsvPath}`, {
        subject: labelsCsvPath,
        cause: error,
      });
    }),
  );
  const sorted = [...images].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
  for (const { image, imagePath } of sorted) {
    hash.update(image);
    const digest = await sha256File(imagePath).catch((error: unknown) => {
      throw new RadiolensError(
        'E_IO',
        `cannot read image ${imagePath} listed in ${labelsCsvPath}`,
        {
          subject: imagePath,
          cause: error,
        },
      );
    });
    hash.update(digest);
  }
  const hex = hash.digest('hex');
  return { version: `sha256:${hex}`, sha256: hex, images: images.length };
}
