/**
 * Content-addressed object files: `<dataDir>/objects/ab/<sha256>.dcm` (ADR 0091). The bytes
 * are first written and fdatasync'ed under a temporary name in `objects/.incoming/` while
 * their sha256 is computed on the store's side thread, then renamed to their content
 * address; the store fsyncs the folder while the index commits (ADR 0117). The 256 folders
 * are made, durably, once when the store opens: a folder created per object would cost more
 * fsyncs on the acknowledgement path.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

const INCOMING = '.incoming';
/** A temporary object older than this was left by a crash: no store call runs that long. */
const STALE_INCOMING_MS = 60 * 60 * 1000;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Path of an object relative to the data directory (stored in the index). */
export function objectRelativePath(sha256: string): string {
  return join('objects', sha256.slice(0, 2), `${sha256}.dcm`);
}

/** fsync of a file or folder by path. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `objects/00` … `objects/ff` and `objects/.incoming` where missing, durably. */
export function ensureObjectFolders(dataDir: string): void {
  const objects = join(dataDir, 'objects');
  const createdObjects = mkdirSync(objects, { recursive: true }) !== undefined;
  let created = false;
  for (let i = 0; i <= 256; i++) {
    const folder = join(objects, i === 256 ? INCOMING : i.toString(16).padStart(2, '0'));
    if (statSync(folder, { throwIfNoEntry: false })?.isDirectory() === true) continue;
    mkdirSync(folder, { recursive: true });
    created = true;
  }
  if (created) fsyncPath(objects);
  if (createdObjects) fsyncPath(dataDir);
}

/**
 * After a crash: a pending object whose sha256 is indexed but whose object file is missing
 * lost its rename (the index commit ran beside the folder fsync and won the race to the
 * disk, see commitPendingObject); it is renamed again. A pending object nobody indexed and
 * older than an hour is removed.
 */
export function recoverPendingObjects(
  dataDir: string,
  indexedPath: (sha256: string) => string | undefined,
): void {
  const incoming = join(dataDir, 'objects', INCOMING);
  for (const name of readdirSync(incoming)) {
    const path = join(incoming, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      // Another process sharing the folder committed or discarded it meanwhile.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const relative = indexedPath(sha256Hex(bytes));
    const target = relative === undefined ? undefined : join(dataDir, relative);
    if (target !== undefined && statSync(target, { throwIfNoEntry: false }) === undefined) {
      mkdirSync(dirname(target), { recursive: true });
      renameSync(path, target);
      fsyncPath(dirname(target));
      continue;
    }
    const mtime = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - mtime > STALE_INCOMING_MS) rmSync(path, { force: true });
  }
}

/**
 * Writes bytes under a temporary name and fdatasyncs them. Blocking on purpose: one
 * sequence of system calls costs less than the thread-pool round trips of the asynchronous
 * API, and the caller (an instance being acknowledged) has nothing else to do (ADR 0117).
 * Returns the temporary path for commitPendingObject or discardPendingObject.
 */
export function writePendingObject(dataDir: string, bytes: Uint8Array): string {
  const path = join(dataDir, 'objects', INCOMING, `${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes.byteLength;) {
      written += writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    // fdatasync: the blocks and the size; the name is made durable by the folder fsync.
    fdatasyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(fd);
  return path;
}

/** A pending object at its content address. */
export interface CommittedObject {
  /** Relative to the data directory. */
  readonly path: string;
  /**
   * The folder that received the new name, which the caller must fsync before it
   * acknowledges; undefined when the object was already there.
   */
  readonly renamedInto: string | undefined;
}

/**
 * Gives a pending object its content address. The folder fsync that makes the new name
 * durable is left to the caller, so that it can run beside the index commit (ADR 0117); if
 * the index commit reaches the disk first and the machine then fails, recoverPendingObjects
 * renames the object again. An object already there with that name and size is the same
 * content (stored before, or left by a crash after its rename): it is kept and the pending
 * copy dropped.
 */
export function commitPendingObject(
  dataDir: string,
  pendingPath: string,
  sha256: string,
  size: number,
): CommittedObject {
  const path = objectRelativePath(sha256);
  const target = join(dataDir, path);
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing !== undefined && existing.size === size) {
    rmSync(pendingPath, { force: true });
    return { path, renamedInto: undefined };
  }
  renameSync(pendingPath, target);
  return { path, renamedInto: dirname(target) };
}

export function discardPendingObject(pendingPath: string): void {
  rmSync(pendingPath, { force: true });
}
