/**
 * Content-addressed object files: `<dataDir>/objects/ab/cd/<sha256>.dcm`. A file is written
 * to a temporary name, fsynced, renamed into place and its directory fsynced, so after
 * `writeObjectDurably` returns the bytes survive a power cut (ADR 0091).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Path of an object relative to the data directory (stored in the index). */
export function objectRelativePath(sha256: string): string {
  return join('objects', sha256.slice(0, 2), sha256.slice(2, 4), `${sha256}.dcm`);
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes bytes under their sha256 unless an object with that name and size is already there
 * (same hash, same content). Returns the path relative to dataDir.
 */
export async function writeObjectDurably(
  dataDir: string,
  sha256: string,
  bytes: Uint8Array,
): Promise<string> {
  const relative = objectRelativePath(sha256);
  const target = join(dataDir, relative);
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && existing.size === bytes.byteLength) return relative;

  const dir = dirname(target);
  const created = await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${sha256}.tmp-${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(tmp, target);
  // The rename is durable only once the directory entry is; new parent directories too.
  await fsyncDirectory(dir);
  if (created !== undefined) {
    await fsyncDirectory(dirname(dir));
    await fsyncDirectory(dirname(dirname(dir)));
  }
  return relative;
}
