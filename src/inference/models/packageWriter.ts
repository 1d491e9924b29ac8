import { mkdir, rm, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { parseManifest, type ModelManifest } from './manifest.js';
import { loadModelPackage, MANIFEST_FILE, sha256, type ModelPackage } from './package.js';

/**
 * Write a model package: the files, then a manifest listing each file's sha256. Written into
 * a hidden staging folder beside the target and renamed into place once verified, so a crash
 * never leaves a half-written package that a registry could pick up. Refuses to overwrite an
 * existing folder: a changed model is a new version.
 */
export async function writeModelPackage(
  dir: string,
  manifest: Omit<ModelManifest, 'files'>,
  files: Readonly<Record<string, Uint8Array | string>>,
): Promise<ModelPackage> {
  const hashes: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    hashes[name] = sha256(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }
  const complete = { ...manifest, files: hashes };
  // Validate before touching the disk: the schema is the contract.
  parseManifest(JSON.stringify(complete), `${manifest.id}@${manifest.version} manifest`);

  await mkdir(dirname(dir), { recursive: true });
  const staging = join(dirname(dir), `.staging-${randomBytes(6).toString('hex')}`);
  try {
    for (const [name, content] of Object.entries(files)) await writeFileAtomic(join(staging, name), content);
    await writeFileAtomic(join(staging, MANIFEST_FILE), `${JSON.stringify(complete, null, 2)}\n`);
    await loadModelPackage(staging);
    await rename(staging, dir).catch((error: unknown) => {
      throw new RadiolensError('E_MODEL_VERSION_EXISTS', `${dir} already exists — give the new package a new version`, {
        subject: dir,
        cause: error,
      });
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return loadModelPackage(dir);
}
