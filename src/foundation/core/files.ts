import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface WriteFileAtomicOptions {
  /**
   * Also make the new name itself survive a power cut: fsync the directory after the rename,
   * and the parent of every directory this call created (ADR 0091). Needed where the caller
   * acknowledges the write to someone else (a C-STORE response); off for files that only
   * need never to be seen half-written.
   */
  readonly durable?: boolean;
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
 * Write a file so that readers see either the old content or the whole new content, never a
 * half-written file: write to a temporary sibling, fsync, then rename over the target (atomic
 * on POSIX file systems). A crash or Ctrl-C leaves at most a stray `.tmp-*` file.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  // The first directory mkdir created, if it created any.
  const created = await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(tmp, path);
  if (options.durable === true) {
    await fsyncDirectory(dir);
    if (created !== undefined) {
      // Each new directory's own entry lives in its parent, up to the first one created.
      for (let each = dir; each !== dirname(created); each = dirname(each)) {
        await fsyncDirectory(dirname(each));
      }
    }
  }
}

/**
 * Writes the whole of `bytes` to `file` at `position`. One `FileHandle.write` may take fewer
 * bytes than it was given and not fail: a disk that fills in the middle of a chunk takes what
 * fits, and only the next write says ENOSPC. A caller that ignored the count kept a file
 * shorter than it believed — a spooled upload read back as "truncated" (the sender's fault)
 * instead of a full disk (ours). So the rest is written again until all of it is on disk or a
 * write fails; a write that takes nothing at all is an error too, never an endless loop.
 */
export async function writeAllAt(
  file: Pick<FileHandle, 'write'>,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(
      bytes,
      done,
      bytes.byteLength - done,
      position + done,
    );
    if (bytesWritten <= 0) {
      throw new Error(
        `the file took none of the last ${bytes.byteLength - done} bytes written at ${position + done}`,
      );
    }
    done += bytesWritten;
  }
}

export interface WalkedEntry {
  /** The entry's path: `dir` joined with its path below it. */
  readonly path: string;
  /** A regular file; false for links, sockets and other special files. */
  readonly regular: boolean;
}

/**
 * Every non-folder entry below `dir`, recursively, sorted by path so runs are reproducible
 * whatever order the file system lists. Entries whose name starts with "." — hidden files,
 * our own atomic-write temporaries, `.incoming`/`.rejected` folders — are skipped with
 * everything under them, unless `hidden` is set. Links are reported, never followed.
 * `skipUnreadableSubfolders`: a subfolder that vanishes or cannot be read while the walk runs
 * is left out instead of failing the walk (a watched folder that senders change under us);
 * `dir` itself must be readable either way.
 */
export async function walkDirectory(
  dir: string,
  options: { hidden?: boolean; skipUnreadableSubfolders?: boolean } = {},
): Promise<WalkedEntry[]> {
  const out: WalkedEntry[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (current !== dir && options.skipUnreadableSubfolders === true) return;
      throw error;
    }
    for (const entry of entries) {
      if (!options.hidden && entry.name.startsWith('.')) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.push({ path, regular: entry.isFile() });
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The regular files below `dir` (walkDirectory without links and special files). */
export async function filesUnder(
  dir: string,
  options: { hidden?: boolean; skipUnreadableSubfolders?: boolean } = {},
): Promise<string[]> {
  return (await walkDirectory(dir, options)).filter((e) => e.regular).map((e) => e.path);
}
