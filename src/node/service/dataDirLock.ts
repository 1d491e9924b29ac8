/**
 * One node per data directory. The job leases and delivery claims in the node database let
 * several workers share a queue, but a node that restarts after a crash must not wait for the
 * leases its dead predecessor held (30 s, and 10 min for a delivery claim) before it carries
 * on. Holding this lock proves that no other live process uses the directory, so every lease
 * and claim found at start-up is stale and can be expired at once (ADR 0116).
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';

export const LOCK_FILE_NAME = 'radiolens.lock';

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Whether a lock left by a process that no longer runs was taken over. */
  readonly tookOverStaleLock: boolean;
  release(): void;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockContent | null {
  try {
    const content = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>;
    return typeof content.pid === 'number' && typeof content.host === 'string'
      ? { pid: content.pid, host: content.host, startedAt: String(content.startedAt ?? '') }
      : null;
  } catch {
    return null; // unreadable or half-written: the writer died before finishing it
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o644);
    try {
      const content: LockContent = {
        pid: process.pid,
        host: hostname(),
        startedAt: new Date().toISOString(),
      };
      writeSync(fd, `${JSON.stringify(content)}\n`);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new RadiolensError(
      'E_BAD_INPUT',
      `cannot create ${path}: ${(error as Error).message}; check that the data directory is writable`,
    );
  }
}

/**
 * Takes the data directory's lock, or throws E_BAD_INPUT naming the process that holds it.
 * A lock whose process is gone (crash, SIGKILL, power loss) is taken over. A lock written on
 * another host (a shared network folder) is never taken over: we cannot tell whether that
 * node still runs.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE_NAME);
  let tookOverStaleLock = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path)) {
      return {
        path,
        tookOverStaleLock,
        release: () => {
          const held = readLock(path);
          if (held?.pid === process.pid && held.host === hostname()) unlinkSync(path);
        },
      };
    }
    const holder = readLock(path);
    if (holder !== null && (holder.host !== hostname() || processIsAlive(holder.pid))) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `data directory ${dataDir} is in use by process ${holder.pid} on ${holder.host} ` +
          `(since ${holder.startedAt}); stop that node or choose another --data directory. ` +
          `If that process is certainly gone, delete ${path}.`,
      );
    }
    unlinkSync(path);
    tookOverStaleLock = true;
  }
  throw new RadiolensError('E_BAD_INPUT', `could not take the lock ${path}; try again`);
}
