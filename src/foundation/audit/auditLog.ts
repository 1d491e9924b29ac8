/**
 * An append-only, hash-chained audit log (ADR 0089): one JSON object per line, each carrying
 * the SHA-256 of the entry before it, so that editing, removing or reordering an entry breaks
 * the chain at that entry, and `verifyAuditLog` names the first one. A small head file beside
 * the log records the last sequence number and hash, which also catches a cut-off tail (the
 * one change a chain alone cannot see).
 *
 * What it is not: a defence against someone who can rewrite the whole file and its head (that
 * needs the head published elsewhere, #13's concern), nor a store for patient data — callers
 * name studies and models by non-PHI keys.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { RadiolensError } from '../core/index.js';
import { writeFileAtomic } from '../core/index.js';

/** What a caller records: who did what to which thing, and the numbers that explain it. */
export interface AuditEvent {
  /** Who: a user name, or `user@host` for the command line. */
  readonly actor: string;
  /** What, as a dotted verb: `model.promote`, `model.promote-refused`, `model.rollback` … */
  readonly action: string;
  /** Which thing, by a key that is not patient data: `cxr-pneumonia@1.3.0`. */
  readonly subject: string;
  /** Anything else worth keeping (numbers, reasons, evidence paths); plain JSON. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One line of the log. */
export interface AuditEntry {
  readonly seq: number;
  /** ISO 8601 UTC. */
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** Hash of the previous entry; GENESIS for the first. */
  readonly prev: string;
  /** SHA-256 over `prev` and the canonical JSON of the fields above. */
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly entries: number }
  | {
      readonly ok: false;
      readonly entries: number;
      /** 1-based line of the first entry that does not fit the chain. */
      readonly line: number;
      readonly problem: string;
    };

export const AUDIT_GENESIS = '0'.repeat(64);
/** How long another appender may hold the lock before it counts as crashed. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 15_000;
/** How much of the log's end is read to find its last entry (entries are a few hundred bytes). */
const TAIL_WINDOW_BYTES = 16 * 1024;

/** JSON with sorted keys, so that the hash does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { prev, ...fields } = entry;
  return createHash('sha256')
    .update(`${prev}\n${canonical(fields)}`)
    .digest('hex');
}

/** The actor of a command-line action: the operating-system user on this machine. */
export function commandLineActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container with a numeric uid): keep "unknown".
  }
  return `${user}@${hostname()}`;
}

export class AuditLog {
  constructor(readonly path: string) {}

  /** The head file: the last entry's seq and hash, written after every append. */
  get headPath(): string {
    return `${this.path}.head`;
  }

  /**
   * Append one entry. Appenders in other processes (the node and a command line) take turns
   * through a lock file, so the chain never forks. The line is fsynced before the call
   * returns: an action reported as done has its record on disk.
   */
  async append(event: AuditEvent, now: Date = new Date()): Promise<AuditEntry> {
    await mkdir(dirname(this.path), { recursive: true });
    const release = await this.lock();
    try {
      const last = await this.lastEntry();
      const body = {
        seq: last === null ? 1 : last.seq + 1,
        at: now.toISOString(),
        actor: event.actor,
        action: event.action,
        subject: event.subject,
        details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
        prev: last === null ? AUDIT_GENESIS : last.hash,
      };
      const entry: AuditEntry = { ...body, hash: auditEntryHash(body) };
      const handle = await open(this.path, 'a', 0o600);
      try {
        await handle.appendFile(`${JSON.stringify(entry)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await writeFileAtomic(
        this.headPath,
        `${JSON.stringify({ seq: entry.seq, hash: entry.hash })}\n`,
      );
      return entry;
    } finally {
      await release();
    }
  }

  /** Every entry, parsed (no verification: use verifyAuditLog for that). */
  async entries(): Promise<AuditEntry[]> {
    const text = await readFile(this.path, 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    });
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditEntry);
  }

  /**
   * The last entry, read from the end of the file: an append costs the same with ten entries
   * or ten million (reading the whole log took 0.4 s per append at 100,000 entries, and the
   * reading room appends one per DICOMweb read).
   */
  private async lastEntry(): Promise<{ seq: number; hash: string } | null> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let line: string | undefined;
    try {
      const size = (await handle.stat()).size;
      // Grow the window from the end until it holds one whole line (or the whole file).
      for (let window = TAIL_WINDOW_BYTES; line === undefined; window *= 4) {
        const length = Math.min(window, size);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, size - length);
        const text = buffer.toString('utf8').trimEnd();
        const cut = text.lastIndexOf('\n');
        if (cut >= 0 || length === size) line = text.slice(cut + 1);
      }
    } finally {
      await handle.close();
    }
    if (line === '') return null;
    let last: AuditEntry;
    try {
      last = JSON.parse(line) as AuditEntry;
    } catch (cause) {
      throw new RadiolensError(
        'E_AUDIT',
        `the last line of the audit log ${this.path} is not JSON — run "radiolens audit verify" and restore the log from backup before recording more`,
        { subject: this.path, cause },
      );
    }
    return { seq: last.seq, hash: last.hash };
  }

  private async lock(): Promise<() => Promise<void>> {
    const lockPath = `${this.path}.lock`;
    const started = Date.now();
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return () => rm(lockPath, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = await stat(lockPath).catch(() => null);
      if (held !== null && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        // An appender that died mid-append; appends take milliseconds.
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new RadiolensError(
          'E_AUDIT',
          `the audit log ${this.path} stayed locked for ${LOCK_WAIT_MS / 1000} s (${lockPath}) — if no Radiolens process is running, remove the lock file`,
          { subject: lockPath },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * Check the whole chain: every line parses, sequence numbers run 1, 2, 3 …, each entry's
 * `prev` is the hash of the line before, each hash matches the entry's content, and the last
 * entry is the one the head file names. Names the first line where any of this fails.
 */
export async function verifyAuditLog(path: string): Promise<AuditVerification> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const head = await readHead(`${path}.head`);
    if (head !== null) {
      return {
        ok: false,
        entries: 0,
        line: 1,
        problem: `the log is missing but its head names entry ${head.seq}`,
      };
    }
    return { ok: true, entries: 0 };
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const parsed = lines.map((line): AuditEntry | null => {
    try {
      return JSON.parse(line) as AuditEntry;
    } catch {
      return null;
    }
  });
  let prev = AUDIT_GENESIS;
  let count = 0;
  const hashes: string[] = [];
  for (const [index, entry] of parsed.entries()) {
    const lineNo = index + 1;
    const fail = (problem: string): AuditVerification => ({
      ok: false,
      entries: count,
      line: lineNo,
      problem,
    });
    if (entry === null) return fail('the line is not JSON (edited or cut)');
    const expectedSeq = count + 1;
    if (entry.prev !== prev || entry.seq !== expectedSeq) {
      const later = parsed.findIndex((other, i) => i > index && other?.seq === expectedSeq);
      if (entry.seq !== expectedSeq && later >= 0) {
        return fail(
          `entry ${entry.seq} stands where entry ${expectedSeq} belongs (that one is on line ${later + 1}): the log was reordered`,
        );
      }
      if (typeof entry.seq === 'number' && entry.seq > expectedSeq) {
        const gap = entry.seq - expectedSeq;
        return fail(
          `entry ${entry.seq} follows entry ${count}: ${gap} entr${gap === 1 ? 'y was' : 'ies were'} removed before it`,
        );
      }
      if (typeof entry.seq === 'number' && entry.seq < expectedSeq) {
        return fail(
          `entry ${entry.seq} comes again after entry ${count}: an entry was repeated or reordered`,
        );
      }
      return fail(
        `entry ${entry.seq} does not chain to the entry before it (its prev hash differs): an entry before it was edited or replaced`,
      );
    }
    const { hash, ...body } = entry;
    if (auditEntryHash(body) !== hash) {
      return fail(`entry ${entry.seq} was edited: its content no longer matches its hash`);
    }
    prev = hash;
    hashes.push(hash);
    count += 1;
  }
  const head = await readHead(`${path}.head`);
  // A head one step behind is a crash between the append and the head write, not tampering.
  if (head !== null && hashes[head.seq - 1] !== head.hash) {
    if (head.seq > count) {
      return {
        ok: false,
        entries: count,
        line: count + 1,
        problem: `the log ends at entry ${count} but its head names entry ${head.seq}: the last ${head.seq - count} entr${head.seq - count === 1 ? 'y was' : 'ies were'} removed`,
      };
    }
    return {
      ok: false,
      entries: count,
      line: Math.min(count, head.seq) || 1,
      problem: `the head names entry ${head.seq} with another hash than the log holds`,
    };
  }
  return { ok: true, entries: count };
}

async function readHead(path: string): Promise<{ seq: number; hash: string } | null> {
  try {
    const head = JSON.parse(await readFile(path, 'utf8')) as { seq: number; hash: string };
    return head;
  } catch {
    return null;
  }
}
