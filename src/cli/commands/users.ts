/**
 * `radiolens users add|list|disable` (issue #13 Deliver 6, ADR 0174): the reading room's
 * local users in the node database of a data directory, or with `--database` in the shared
 * PostgreSQL database of `serve --database` (ADR 0188). Safe while the node runs (SQLite WAL;
 * PostgreSQL); a disabled user's sessions end at once. Each change is an audit record in the
 * same store's audit chain.
 */
import type { Command } from 'commander';
import { commandLineActor } from '../../foundation/audit/index.js';
import { ROLES, type UserRecord } from '../../node/access/index.js';
import { DEFAULTS } from '../../node/service/index.js';
import { readNewPassword } from '../passwordInput.js';
import { DATABASE_OPTION, withReadingRoom, type StoreOptions } from '../readingRoomStore.js';
import type { CommandModule } from './index.js';

export async function addUser(
  opts: StoreOptions & { readonly role: string },
  name: string,
  password: string,
): Promise<UserRecord> {
  return withReadingRoom(opts, async ({ users, audit }) => {
    const user = await users.add(name, opts.role, password);
    await audit.record({
      actor: commandLineActor(),
      action: 'user.add',
      subject: `user:${user.name}`,
      details: { role: user.role },
    });
    return user;
  });
}

export async function disableUser(opts: StoreOptions, name: string): Promise<boolean> {
  return withReadingRoom(opts, async ({ users, audit }) => {
    const changed = await users.disable(name);
    if (changed) {
      await audit.record({
        actor: commandLineActor(),
        action: 'user.disable',
        subject: `user:${name}`,
      });
    }
    return changed;
  });
}

export async function listUsers(opts: StoreOptions): Promise<UserRecord[]> {
  return withReadingRoom(opts, ({ users }) => users.list());
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
    .option(...DATABASE_OPTION)
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .addHelpText(
      'after',
      `
Roles: radiologist (reads studies over DICOMweb, answers findings), administrator (may send
STOW-RS), data-scientist (reads the answers), auditor (reads the audit log).
Passwords: at least 12 characters; stored as scrypt hashes (N=2^15, r=8, p=3).
Example: printf %s "$PASSWORD" | radiolens users add ada --role radiologist --password-stdin`,
    )
    .action(
      async (name: string, opts: StoreOptions & { role: string; passwordStdin?: boolean }) => {
        const password = await readNewPassword(opts.passwordStdin === true);
        const user = await addUser(opts, name, password);
        process.stdout.write(`added ${user.name} (${user.role})\n`);
      },
    );
  users
    .command('list')
    .description('List users: name, role, created, disabled')
    .option(...data)
    .option(...DATABASE_OPTION)
    .action(async (opts: StoreOptions) => {
      const rows = await listUsers(opts);
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
  users
    .command('disable <name>')
    .description(
      'Disable a user (never deleted: the audit log keeps naming them); ends their sessions',
    )
    .option(...data)
    .option(...DATABASE_OPTION)
    .action(async (name: string, opts: StoreOptions) => {
      const changed = await disableUser(opts, name);
      process.stdout.write(changed ? `disabled ${name}\n` : `${name} was already disabled\n`);
    });
};
