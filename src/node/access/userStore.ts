/**
 * Local users in the node database (ADR 0174): name, role, scrypt hash, created and disabled
 * times. A user is disabled, never deleted, so that audit records and answers keep naming
 * someone who existed; disabling one also ends their sessions at once.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import type { NodeDatabase } from '../store/index.js';
import { hashPassword, verifyPassword, type ScryptParameters } from './password.js';
import { USER_NAME, isRole, type Role } from './roles.js';

export interface UserRecord {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
  /** ISO time it was disabled, or null while active. */
  readonly disabledAt: string | null;
}

interface UserRow {
  id: number;
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  disabled_at: number | null;
}

export function ensureAccessSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      role TEXT NOT NULL CHECK (role IN ('radiologist', 'administrator', 'data-scientist', 'auditor')),
      password_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      disabled_at INTEGER
    );
    -- Server-side sessions (ADR 0175): the cookie carries a random id; only its sha256 is
    -- kept here, so that a copy of the database opens no session.
    CREATE TABLE IF NOT EXISTS sessions (
      id_sha256 TEXT PRIMARY KEY,
      user_id INTEGER NOT NULL REFERENCES users (id),
      csrf_token TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
  `);
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    createdAt: new Date(row.created_at).toISOString(),
    disabledAt: row.disabled_at === null ? null : new Date(row.disabled_at).toISOString(),
  };
}

function bad(message: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', message);
}

/** Throws E_BAD_INPUT when `name` or `role` may not be a new user's; every store checks this. */
export function checkNewUser(name: string, role: string): asserts role is Role {
  if (!USER_NAME.test(name)) {
    throw bad(
      `user name "${name}": lower-case letters, digits, ".", "_" or "-", starting with a letter, 2–64 characters`,
    );
  }
  if (!isRole(role)) {
    throw bad(`role "${role}": one of radiologist, administrator, data-scientist, auditor`);
  }
}

/** The refusal of a name that exists (in any store). */
export function userExists(name: string): RadiolensError {
  return bad(`a user "${name}" exists already (users are disabled, never reused)`);
}

/** The refusal of disabling a name that is no user. */
export function noSuchUser(name: string): RadiolensError {
  return bad(`no user "${name}" — "radiolens users list" shows them`);
}

export class UserStore {
  constructor(
    private readonly db: NodeDatabase,
    /** Tests may pass cheaper parameters; the node and the CLI use the defaults. */
    private readonly scryptParameters?: ScryptParameters,
  ) {
    ensureAccessSchema(db);
  }

  async add(name: string, role: string, password: string, now = new Date()): Promise<UserRecord> {
    checkNewUser(name, role);
    if (this.find(name) !== undefined) throw userExists(name);
    const hash = await hashPassword(password, this.scryptParameters);
    const id = Number(
      this.db
        .prepare('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(name, role, hash, now.getTime()).lastInsertRowid,
    );
    return this.findById(id)!;
  }

  find(name: string): UserRecord | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as
      UserRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  findById(id: number): UserRecord | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  list(): UserRecord[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toRecord);
  }

  /** Disables the user and ends their sessions; false when already disabled. */
  disable(name: string, now = new Date()): boolean {
    const user = this.find(name);
    if (user === undefined) throw noSuchUser(name);
    if (user.disabledAt !== null) return false;
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET disabled_at = ? WHERE id = ?').run(now.getTime(), user.id);
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(user.id);
    })();
    return true;
  }

  /**
   * The active user with this name and password, or undefined. An unknown or disabled user
   * costs the same scrypt as a wrong password.
   */
  async authenticate(name: string, password: string): Promise<UserRecord | undefined> {
    const row = USER_NAME.test(name)
      ? (this.db.prepare('SELECT * FROM users WHERE name = ? AND disabled_at IS NULL').get(name) as
          UserRow | undefined)
      : undefined;
    const ok = await verifyPassword(password, row?.password_hash);
    return ok && row !== undefined ? toRecord(row) : undefined;
  }
}
