/**
 * WatchedFolder: DICOM files dropped into a folder (often a network share) are stored and
 * then removed. Polling, not fs.watch: change notifications do not cross SMB/NFS reliably,
 * and a file is only taken once its size and mtime held still between two scans. The file
 * is removed only after InstanceStore.storeInstance resolved, so a crash in between stores
 * it again next time (a 'duplicate'), never loses it (ADR 0109).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import {
  DicomStatus,
  RadiolensError,
  describeError,
  filesUnder,
  isRadiolensError,
  outcomeOf,
} from '../../../foundation/core/index.js';
import type { InstanceStore, StoreOutcome } from '../../store/index.js';

export const REJECTED_FOLDER = '.rejected';
export const DONE_FOLDER = '.done';

export interface WatchedFolderOptions {
  /** Milliseconds between scans; default 1000. */
  readonly pollMs?: number;
  /** Move stored files to <folder>/.done/ instead of deleting them; default false. */
  readonly keepDone?: boolean;
  /**
   * A file that ends early (E_TRUNCATED) may still be being written by a slow or paused
   * sender: it is left in place and only rejected once unchanged for this long; default
   * 60 000 ms.
   */
  readonly incompleteGraceMs?: number;
  /** Structured events for logs and metrics; no file names (they may carry PHI), no UIDs. */
  readonly onEvent?: (event: WatchEvent) => void;
  /** Clock, for tests of the grace period. */
  readonly now?: () => number;
}

/**
 * `file` is a short sha256 prefix of the path relative to the folder: enough to correlate
 * events, without writing a file name that may contain a patient's name into logs.
 */
export type WatchEvent =
  | { type: 'stored'; file: string; outcome: StoreOutcome; sha256: string; size: number }
  | { type: 'rejected'; file: string; error: string }
  | { type: 'incomplete'; file: string }
  | { type: 'store-failed'; file: string; error: string }
  | { type: 'remove-failed'; file: string; error: string }
  | { type: 'scan-failed'; error: string };

/** What a scan saw of a file, to tell whether it is still being written. */
interface Seen {
  size: number;
  mtimeMs: number;
  /** Set when storing failed with E_TRUNCATED: when that size/mtime was first refused. */
  incompleteSince?: number;
}

/**
 * Only our own passing trouble — what the one outcome map answers "out of resources" (A700:
 * disk full, database busy) — leaves the file to be tried again. Every other failure is about
 * the file's bytes (C000 "cannot understand", a parsing limit, or an uncoded failure such as
 * absurd nesting once gave), and reading it again cannot help, so the file is rejected with
 * the reason (ADR 0124; issue #16: such a file was once retried forever).
 */
function isTransient(error: unknown): boolean {
  return outcomeOf(error).dimseStatus === DicomStatus.OUT_OF_RESOURCES;
}

function fileRef(relativePath: string): string {
  return createHash('sha256').update(relativePath).digest('hex').slice(0, 12);
}

export class WatchedFolder {
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopping = false;

  constructor(
    private readonly store: InstanceStore,
    /** The folder watched; created by start() when missing. */
    readonly folder: string,
    private readonly options: WatchedFolderOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.graceMs = options.incompleteGraceMs ?? 60_000;
    this.now = options.now ?? Date.now;
    if (!(this.pollMs > 0)) {
      throw new RadiolensError('E_BAD_INPUT', `pollMs must be positive, got ${this.pollMs}`);
    }
  }

  /** Starts polling. Throws E_IO when the folder cannot be created. */
  start(): void {
    if (this.timer !== undefined || this.running !== undefined) return;
    try {
      mkdirSync(this.folder, { recursive: true });
    } catch (cause) {
      throw new RadiolensError(
        'E_IO',
        `cannot create the import folder ${this.folder}: ${(cause as Error).message} — check the path and permissions`,
        { subject: this.folder, cause },
      );
    }
    this.stopping = false;
    this.schedule(0);
  }

  /** Stops polling and waits for the file being stored, if any; the rest waits for next time. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /**
   * One scan: records what changed, takes every file unchanged since the previous scan.
   * Returns how many files were stored (or recognised as duplicates) and removed. Tests call
   * it directly; start() calls it every pollMs.
   */
  scanOnce(): Promise<number> {
    if (this.running !== undefined) return this.running;
    const run = this.scan().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.scanOnce().finally(() => {
        if (!this.stopping) this.schedule(this.pollMs);
      });
    }, delay);
  }

  private emit(event: WatchEvent): void {
    this.options.onEvent?.(event);
  }

  private async scan(): Promise<number> {
    let files: string[];
    try {
      files = await this.listFiles(this.folder);
    } catch (error) {
      this.emit({ type: 'scan-failed', error: describeError(error).slice(0, 200) });
      return 0;
    }
    const present = new Set(files);
    for (const path of this.seen.keys()) if (!present.has(path)) this.seen.delete(path);

    let taken = 0;
    for (const path of files) {
      if (this.stopping) break;
      let size: number;
      let mtimeMs: number;
      try {
        ({ size, mtimeMs } = await stat(path));
      } catch {
        this.seen.delete(path); // gone meanwhile
        continue;
      }
      const before = this.seen.get(path);
      if (before === undefined || before.size !== size || before.mtimeMs !== mtimeMs) {
        this.seen.set(path, { size, mtimeMs });
        continue;
      }
      if (before.incompleteSince !== undefined) {
        if (this.now() - before.incompleteSince < this.graceMs) continue;
        await this.reject(
          path,
          `the file ends early and has not changed for ${Math.round(this.graceMs / 1000)} s: it was cut off (E_TRUNCATED) — send it again`,
          'E_TRUNCATED',
        );
        this.seen.delete(path);
        continue;
      }
      if (await this.take(path, before)) taken += 1;
    }
    return taken;
  }

  /**
   * Files below the folder (the one walker, foundation/core filesUnder): dot-files and
   * dot-folders (.rejected, .done) and links skipped; a subfolder that vanished or is
   * unreadable is left out and the rest of the scan goes on.
   */
  private listFiles(dir: string): Promise<string[]> {
    return filesUnder(dir, { skipUnreadableSubfolders: true });
  }

  /** Stores one file and removes it; false when it stays (incomplete, store down) or is rejected. */
  private async take(path: string, seen: Seen): Promise<boolean> {
    const relativePath = relative(this.folder, path);
    const file = fileRef(relativePath);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch {
      this.seen.delete(path); // removed or unreadable meanwhile; looked at again next scan
      return false;
    }
    // Read between stat and readFile: if the file grew meanwhile, wait for the next scan.
    if (bytes.byteLength !== seen.size) {
      this.seen.set(path, { size: bytes.byteLength, mtimeMs: -1 });
      return false;
    }
    let outcome: StoreOutcome;
    let sha256: string;
    try {
      const result = await this.store.storeInstance(bytes, {
        source: `import folder file ${relativePath}`,
        callingAeTitle: '',
      });
      outcome = result.outcome;
      sha256 = result.instance.sha256;
    } catch (error) {
      const code = isRadiolensError(error) ? error.code : 'E_UNEXPECTED';
      if (code === 'E_TRUNCATED') {
        // Perhaps still being written (a paused sender): give it the grace period.
        seen.incompleteSince = this.now();
        this.emit({ type: 'incomplete', file });
      } else if (!isTransient(error)) {
        const reason = isRadiolensError(error)
          ? describeError(error)
          : `E_UNEXPECTED: the file could not be read (${error instanceof Error ? error.name : 'error'}: ${describeError(error).slice(0, 200)}) — it is not retried`;
        await this.reject(path, reason, code);
        this.seen.delete(path);
      } else {
        // Our own trouble (disk, database): the file stays and is tried again once stable.
        this.seen.delete(path);
        this.emit({ type: 'store-failed', file, error: code });
      }
      return false;
    }
    this.emit({ type: 'stored', file, outcome, sha256, size: bytes.byteLength });
    // Only now, with the instance durable, may the file go.
    try {
      if (this.options.keepDone === true) {
        await moveInto(this.folder, DONE_FOLDER, relativePath);
      } else {
        await unlink(path);
      }
    } catch (error) {
      this.emit({ type: 'remove-failed', file, error: describeError(error).slice(0, 200) });
      this.seen.delete(path);
      return false;
    }
    this.seen.delete(path);
    return true;
  }

  /** Moves a file to .rejected/ with a <name>.error.txt beside it saying why. */
  private async reject(path: string, reason: string, code: string): Promise<void> {
    const relativePath = relative(this.folder, path);
    const file = fileRef(relativePath);
    try {
      const target = await freeTarget(join(this.folder, REJECTED_FOLDER, relativePath));
      await mkdir(dirname(target), { recursive: true });
      // The explanation first: a crash before the move leaves the file to be rejected again.
      await writeFile(
        `${target}.error.txt`,
        [
          `file: ${relativePath.split(sep).join('/')}`,
          `rejected at: ${new Date(this.now()).toISOString()}`,
          `reason: ${reason}`,
          '',
          'Not imported. Fix or replace the file and drop it into the import folder again.',
          '',
        ].join('\n'),
      );
      await rename(path, target);
      this.emit({ type: 'rejected', file, error: code });
    } catch (error) {
      this.emit({ type: 'remove-failed', file, error: describeError(error).slice(0, 200) });
    }
  }
}

/** Moves <folder>/<relativePath> to <folder>/<sub>/<relativePath>, never overwriting. */
async function moveInto(folder: string, sub: string, relativePath: string): Promise<void> {
  const target = await freeTarget(join(folder, sub, relativePath));
  await mkdir(dirname(target), { recursive: true });
  await rename(join(folder, relativePath), target);
}

/** `path`, or `path` with -1, -2 … before its extension when that name is taken. */
async function freeTarget(path: string): Promise<string> {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let i = 0; ; i += 1) {
    const candidate = i === 0 ? path : join(dirname(path), `${stem}-${i}${ext}`);
    try {
      await stat(candidate);
    } catch {
      return candidate;
    }
  }
}
