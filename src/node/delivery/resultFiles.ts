/**
 * Result files kept in the shared database instead of a shared folder (ADR 0193). A worker
 * whose `--data` is a private folder commits the files of a job's results folder with the
 * job's completion; an outbox entry then names its file by (job id, name) instead of by a path
 * on one host's disk, and whichever process sends it reads the bytes from the database.
 *
 * A name is the file's path inside the job's results folder, with '/' between folders (the
 * analysis writes `<study UID>/…`): never absolute, never with '..', so that copying the files
 * into another node's folder cannot write outside it.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import type { ClaimedJob } from '../queue/index.js';
import type { ResultFileRef } from './destinations.js';
import type { OutboxItem } from './outbox.js';

export interface ResultFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/** What the worker, the senders and the ingest nodes need from the table of result files. */
export interface ResultFilesPort {
  /**
   * Completes the job with `result`, its result files and its outbox entries in one
   * transaction: all of them, or — the lease no longer held (a late completion, ADR 0185) —
   * none. True when committed.
   */
  complete(
    claimed: ClaimedJob,
    result: Record<string, unknown>,
    files: readonly ResultFile[],
    items: readonly OutboxItem[],
  ): Promise<boolean>;
  /** One file's bytes (checked against the digest written with them); undefined when absent. */
  read(ref: ResultFileRef): Promise<Buffer | undefined>;
  /** Every file of a job, by name. */
  list(jobId: number): Promise<ResultFile[]>;
}

/** A name as described above, or a coded error. */
export function checkResultFileName(name: string): string {
  const parts = name.split('/');
  if (
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    parts.some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `"${name}" is not a result file name (a relative path inside a job's results folder, without ..) — the database holds a file this Radiolens did not write`,
    );
  }
  return name;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file under a job's results folder, named relative to it, in name order. */
export async function readResultFolder(dir: string): Promise<ResultFile[]> {
  const files: ResultFile[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const name = relative(dir, path).split(sep).join('/');
        files.push({ name: checkResultFileName(name), bytes: await readFile(path) });
      }
    }
  };
  await walk(dir);
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Writes result files into `dir` under their names (folders made as needed); their paths. */
export async function writeResultFolder(
  dir: string,
  files: readonly ResultFile[],
): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const file of files) {
    const path = join(dir, ...checkResultFileName(file.name).split('/'));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Readable by this user only: results carry patient data.
    await writeFile(path, file.bytes, { mode: 0o600 });
    paths.set(file.name, path);
  }
  return paths;
}

/**
 * A private folder of this process holding result files read from the database for one send;
 * the senders read files (a C-STORE streams one from disk), so the bytes are put where they can,
 * one at a time (a batch of Secondary Captures is hundreds of MiB; none is held in memory longer
 * than its write). Each file keeps its base name (a folder destination names its copy by it).
 */
export class ResultStaging {
  private dir: string | undefined;
  private count = 0;

  /** Writes one file into the folder (made at the first); its path. */
  async put(ref: ResultFileRef, bytes: Buffer): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'radiolens-send-'));
    const path = join(this.dir, String(this.count++), basename(checkResultFileName(ref.name)));
    await mkdir(dirname(path), { mode: 0o700 });
    await writeFile(path, bytes, { mode: 0o600 });
    return path;
  }

  async remove(): Promise<void> {
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}
