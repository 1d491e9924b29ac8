/**
 * The data folder holds patient data (objects, database, results, outbox, spool, logs): it
 * is private by default (issue #16, ADR 0135). The node runs with umask 077 — 027 when a
 * group is configured — so everything it creates is 0600/0700 (0640/0750), and at start
 * the folder itself is checked, as the de-identification secret is: a folder that other
 * local users can read is refused (or, when configured, only warned about) with the command
 * that fixes it. The folder's mode guards everything below it, so files created by older
 * versions are reported once here, not walked one by one.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { RadiolensError } from '../../foundation/core/index.js';
import type { NodeConfig } from './config.js';
import type { NodeLogger } from './log.js';

/** The numeric id of a group given by name or number, from /etc/group. */
export function groupId(group: string | number): number {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    // No /etc/group (not Unix-like): only numeric groups work.
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new RadiolensError(
    'E_BAD_INPUT',
    `storage.group "${group}" is not a group on this machine — create it or give its numeric id`,
  );
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/**
 * Sets the process umask, creates the data folder with its private mode when missing, and
 * checks an existing one. Throws E_BAD_INPUT when it is looser and the policy is 'refuse'.
 */
export function secureDataDir(
  dataDir: string,
  storage: NodeConfig['storage'],
  logger: NodeLogger,
): void {
  const shared = storage.group !== null;
  const umask = shared ? 0o027 : 0o077;
  process.umask(umask);
  // setgid on a shared folder: what is created inside inherits the group.
  const folderMode = shared ? 0o2750 : 0o700;
  const created = mkdirSync(dataDir, { recursive: true, mode: folderMode }) !== undefined;
  const gid = storage.group === null ? undefined : groupId(storage.group);
  if (created) {
    // mkdir's mode passes through the umask and ignores setgid: set it exactly.
    if (gid !== undefined) chownSync(dataDir, -1, gid);
    chmodSync(dataDir, folderMode);
    return;
  }
  const info = statSync(dataDir);
  const loose = info.mode & 0o777 & umask;
  const wrongGroup = gid !== undefined && info.gid !== gid;
  if (loose === 0 && !wrongGroup) return;
  const fix = shared
    ? `chgrp -R ${String(storage.group)} ${dataDir} && chmod -R g-w,o-rwx ${dataDir} && chmod g+s ${dataDir}`
    : `chmod -R go-rwx ${dataDir}`;
  const problem = wrongGroup
    ? `the data folder ${dataDir} belongs to group ${info.gid}, not storage.group ${String(storage.group)}`
    : `the data folder ${dataDir} is mode ${octal(info.mode)}: ${shared ? 'users outside the group' : 'other local users'} can reach patient data`;
  if (storage.loosePermissions === 'warn') {
    logger.warn('data-folder-not-private', { problem, fix });
    return;
  }
  throw new RadiolensError(
    'E_BAD_INPUT',
    `${problem} — run: ${fix} (or set storage.loosePermissions to "warn" to start anyway)`,
    { subject: dataDir },
  );
}
