/**
 * Content-addressed object files: `<dataDir>/objects/ab/cd/<sha256>.dcm`, written with
 * core's durable atomic write (temporary name, fsync, rename, directory fsync), so after
 * `writeObjectDurably` returns the bytes survive a power cut (ADR 0091).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/index.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Path of an object relative to the data directory (stored in the index). */
export function objectRelativePath(sha256: string): string {
  return join('objects', sha256.slice(0, 2), sha256.slice(2, 4), `${sha256}.dcm`);
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

  await writeFileAtomic(target, bytes, { durable: true });
  return relative;
}
