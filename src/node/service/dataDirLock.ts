/**
 * One node per data directory. The job leases and delivery claims in the node database let
 * several workers share a queue, but a node that restarts after a crash must not wait for the
 * leases its dead predecessor held (30 s, and 10 min for a delivery claim) before it carries
 * on. Holding this lock proves that no other live process uses the directory, so every lease
 * and claim found at start-up is stale and can be expired at once (ADR 0116).
 *
 * A pid alone does not identify a process: in a container the node is pid 1 on every start,
 * and pids are reused after a reboot. The lock therefore also records a random nonce, the
 * kernel's boot id and the holder's start time (Linux `/proc`), and a holder is alive only
 * when all of them still match (ADR 0130).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';

export const LOCK_FILE_NAME = 'radiolens.lock';

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
  /** Random per acquisition: tells our own lock from a predecessor's with the same pid. */
  nonce?: string;
  /** /proc/sys/kernel/random/boot_id; a lock from an earlier boot is always stale. */
  bootId?: string;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): pid reuse changes it. */
  processStart?: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Whether a lock left by a process that no longer runs was taken over. */
  readonly tookOverStaleLock: boolean;
  release(): void;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The kernel's boot id, or undefined off Linux. */
export function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A process's start time in clock ticks since boot (Linux), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall; fields[0] is field 3
  } catch {
    return undefined;
  }
}

/** Nonces of the locks this process holds now (tests run several nodes in one process). */
const heldHere = new Set<string>();

/**
 * Whether the process that wrote `holder` (on this host) still runs. Our own pid in a lock
 * this process did not write (a nonce it does not hold) is a predecessor that had the same
 * pid: the container case, where every start is pid 1.
 */
function holderIsAlive(holder: LockContent): boolean {
  if (holder.pid === process.pid) return holder.nonce !== undefined && heldHere.has(holder.nonce);
  if (!processExists(holder.pid)) return false;
  const bootId = currentBootId();
  if (holder.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId) {
    return false;
  }
  const start = processStartTime(holder.pid);
  if (holder.processStart !== undefined && start !== undefined && holder.processStart !== start) {
    return false;
  }
  return true;
}

function readLock(path: string): LockContent | null {
  try {
    const content = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>;
    if (typeof content.pid !== 'number' || typeof content.host !== 'string') return null;
    const optional = (value: unknown): string | undefined =>
      typeof value === 'string' ? value : undefined;
    const nonce = optional(content.nonce);
    const bootId = optional(content.bootId);
    const processStart = optional(content.processStart);
    return {
      pid: content.pid,
      host: content.host,
      startedAt: String(content.startedAt ?? ''),
      ...(nonce !== undefined ? { nonce } : {}),
      ...(bootId !== undefined ? { bootId } : {}),
      ...(processStart !== undefined ? { processStart } : {}),
    };
  } catch {
    return null; // unreadable or half-written: the writer died before finishing it
  }
}

function tryCreate(path: string, nonce: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      const bootId = currentBootId();
      const processStart = processStartTime(process.pid);
      const content: LockContent = {
        pid: process.pid,
        host: hostname(),
        startedAt: new Date().toISOString(),
        nonce,
        ...(bootId !== undefined ? { bootId } : {}),
        ...(processStart !== undefined ? { processStart } : {}),
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
  const nonce = randomBytes(16).toString('hex');
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, nonce)) {
      heldHere.add(nonce);
      return {
        path,
        tookOverStaleLock,
        release: () => {
          const held = readLock(path);
          heldHere.delete(nonce);
          if (held?.nonce === nonce && held.host === hostname()) unlinkSync(path);
        },
      };
    }
    const holder = readLock(path);
    if (holder !== null && (holder.host !== hostname() || holderIsAlive(holder))) {
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
