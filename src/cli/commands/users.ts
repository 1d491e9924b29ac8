/**
 * `radiolens users add|list|disable` (issue #13 Deliver 6, ADR 0174): the reading room's
 * local users in the node database of a data directory. Safe while the node runs (SQLite
 * WAL); a disabled user's sessions end at once. Each change is an audit record.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AuditLog, commandLineActor } from '../../foundation/audit/index.js';
import { ROLES, UserStore, auditLogPath, type UserRecord } from '../../node/access/index.js';
import { DEFAULTS } from '../../node/service/index.js';
import { openNodeDatabase } from '../../node/store/index.js';
import { readNewPassword } from '../passwordInput.js';
import type { CommandModule } from './index.js';

interface DataOption {
  readonly data?: string;
}

/** Opens the node database; a new data folder is created private, as `serve` creates it. */
function withUsers<T>(
  opts: DataOption,
  run: (users: UserStore, dataDir: string) => Promise<T>,
): Promise<T> {
  const dataDir = resolve(opts.data ?? DEFAULTS.dataDir);
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openNodeDatabase(dataDir);
  return run(new UserStore(db), dataDir).finally(() => db.close());
}

export async function addUser(
  opts: DataOption & { readonly role: string },
  name: string,
  password: string,
): Promise<UserRecord> {
  return withUsers(opts, async (users, dataDir) => {
    const user = await users.add(name, opts.role, password);
    await new AuditLog(auditLogPath(dataDir)).append({
      actor: commandLineActor(),
      action: 'user.add',
      subject: `user:${user.name}`,
      details: { role: user.role },
    });
    return user;
  });
}

export async function disableUser(opts: DataOption, name: string): Promise<boolean> {
  return withUsers(opts, async (users, dataDir) => {
    const changed = users.disable(name);
    if (changed) {
      await new AuditLog(auditLogPath(dataDir)).append({
        actor: commandLineActor(),
        action: 'user.disable',
        subject: `user:${name}`,
      });
    }
    return changed;
  });
}

export const usersCommand: CommandModule = (program: Command) => {
  const users = program
    .command('users')
    .description("The reading room's local users and their roles (radiolens serve's login)");
  const data = [
    '--data <dir>',
    `the node's data directory (default ./${DEFAULTS.dataDir})`,
  ] as const;
  users
    .command('add <name>')
    .description(
      'Add a user: the password is typed twice without echo, or piped in with --password-stdin',
    )
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option(...data)
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .addHelpText(
      'after',
      `
Roles: radiologist (reads studies over DICOMweb, answers findings), administrator (may send
STOW-RS), data-scientist (reads the answers), auditor (reads the audit log).
Passwords: at least 12 characters; stored as scrypt hashes (N=2^15, r=8, p=3).
Example: printf %s "$PASSWORD" | radiolens users add ada --role radiologist --password-stdin`,
    )
    .action(async (name: string, opts: DataOption & { role: string; passwordStdin?: boolean }) => {
      const password = await readNewPassword(opts.passwordStdin === true);
      const user = await addUser(opts, name, password);
      process.stdout.write(`added ${user.name} (${user.role})\n`);
    });
  users
    .command('list')
    .description('List users: name, role, created, disabled')
    .option(...data)
    .action(async (opts: DataOption) => {
      await withUsers(opts, async (store) => {
        const rows = store.list();
        if (rows.length === 0) {
          process.stdout.write(
            'no users yet — add one with "radiolens users add <name> --role <role>"\n',
          );
          return;
        }
        for (const u of rows) {
          process.stdout.write(
            `${u.name}\t${u.role}\tcreated ${u.createdAt}\t${u.disabledAt === null ? 'active' : `disabled ${u.disabledAt}`}\n`,
          );
        }
      });
    });
  users
    .command('disable <name>')
    .description(
      'Disable a user (never deleted: the audit log keeps naming them); ends their sessions',
    )
    .option(...data)
    .action(async (name: string, opts: DataOption) => {
      const changed = await disableUser(opts, name);
      process.stdout.write(changed ? `disabled ${name}\n` : `${name} was already disabled\n`);
    });
};
