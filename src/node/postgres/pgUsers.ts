/**
 * The reading room's users and sessions on PostgreSQL (ADR 0188), with the rules of the
 * embedded ones (ADRs 0174, 0175): a user is disabled, never deleted, and disabling ends their
 * sessions; the cookie's sha256 is the session's key; a session ends at logout, idle or
 * absolute expiry, or when its user is disabled. Every ingest node of a cluster reads the same
 * rows, so a login on one is a session on all. Times are ms from the caller (as embedded):
 * session expiry is judged by the node that reads it, whose clock NTP keeps within seconds of
 * the others', well inside minutes of idle time.
 */
import {
  LAST_SEEN_WRITE_MS,
  SESSION_DEFAULTS,
  SESSION_ID,
  USER_NAME,
  checkNewUser,
  hashPassword,
  newSessionSecrets,
  noSuchUser,
  sessionKey,
  slidExpiry,
  userExists,
  verifyPassword,
  type NewSession,
  type Role,
  type ScryptParameters,
  type Session,
  type SessionLimits,
  type SessionPort,
  type UserPort,
  type UserRecord,
} from '../access/index.js';
import { inTransaction, query, type PgPool } from './connection.js';

interface PgUserRow {
  id: string;
  name: string;
  role: string;
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
}

function toRecord(row: PgUserRow): UserRecord {
  return {
    id: Number(row.id),
    name: row.name,
    role: row.role as Role,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    disabledAt: row.disabled_at === null ? null : new Date(Number(row.disabled_at)).toISOString(),
  };
}

export class PgUserStore implements UserPort {
  /** `pool` must be migrated (migrate()); the store does not own it. */
  constructor(
    private readonly pool: PgPool,
    /** Tests may pass cheaper parameters; the node and the CLI use the defaults. */
    private readonly scryptParameters?: ScryptParameters,
  ) {}

  async add(name: string, role: string, password: string, now = new Date()): Promise<UserRecord> {
    checkNewUser(name, role);
    if ((await this.find(name)) !== undefined) throw userExists(name);
    const hash = await hashPassword(password, this.scryptParameters);
    // Two adds of one name at once: the unique name lets one in, the other is told it exists.
    const result = await query<PgUserRow>(
      this.pool,
      'adding a user',
      `INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [name, role, hash, now.getTime()],
    );
    if (result.rows[0] === undefined) throw userExists(name);
    return toRecord(result.rows[0]);
  }

  async find(name: string): Promise<UserRecord | undefined> {
    const result = await query<PgUserRow>(
      this.pool,
      'reading a user',
      'SELECT * FROM users WHERE name = $1',
      [name],
    );
    return result.rows[0] === undefined ? undefined : toRecord(result.rows[0]);
  }

  async list(): Promise<UserRecord[]> {
    const result = await query<PgUserRow>(
      this.pool,
      'listing users',
      'SELECT * FROM users ORDER BY name',
    );
    return result.rows.map(toRecord);
  }

  async disable(name: string, now = new Date()): Promise<boolean> {
    return inTransaction(this.pool, 'disabling a user', async (client) => {
      const found = await client.query<{ id: string; disabled_at: string | null }>(
        'SELECT id, disabled_at FROM users WHERE name = $1 FOR UPDATE',
        [name],
      );
      const user = found.rows[0];
      if (user === undefined) throw noSuchUser(name);
      if (user.disabled_at !== null) return false;
      await client.query('UPDATE users SET disabled_at = $1 WHERE id = $2', [
        now.getTime(),
        user.id,
      ]);
      await client.query('DELETE FROM sessions WHERE user_id = $1', [user.id]);
      return true;
    });
  }

  async authenticate(name: string, password: string): Promise<UserRecord | undefined> {
    const row = USER_NAME.test(name)
      ? (
          await query<PgUserRow>(
            this.pool,
            'reading a user',
            'SELECT * FROM users WHERE name = $1 AND disabled_at IS NULL',
            [name],
          )
        ).rows[0]
      : undefined;
    // An unknown or disabled user costs the same scrypt as a wrong password.
    const ok = await verifyPassword(password, row?.password_hash);
    return ok && row !== undefined ? toRecord(row) : undefined;
  }
}

interface PgSessionRow {
  user_id: string;
  name: string;
  role: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export class PgSessionStore implements SessionPort {
  constructor(
    private readonly pool: PgPool,
    readonly limits: SessionLimits = SESSION_DEFAULTS,
  ) {}

  async create(userId: number, now = Date.now()): Promise<NewSession> {
    const { id, csrfToken, expiresAt } = newSessionSecrets(this.limits, now);
    const result = await query<{ name: string; role: Role }>(
      this.pool,
      'creating a session',
      // One statement: the session and the user it names (old sessions go when new ones come,
      // so the table never grows without bound).
      `WITH made AS (
         INSERT INTO sessions (id_sha256, user_id, csrf_token, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5)
       ), swept AS (
         DELETE FROM sessions WHERE expires_at <= $4
       )
       SELECT name, role FROM users WHERE id = $2`,
      [sessionKey(id), userId, csrfToken, now, expiresAt],
    );
    const user = result.rows[0]!;
    return { id, userId, userName: user.name, role: user.role, csrfToken, expiresAt };
  }

  async touch(id: string, now = Date.now()): Promise<Session | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const key = sessionKey(id);
    const result = await query<PgSessionRow>(
      this.pool,
      'reading a session',
      `SELECT s.user_id, u.name, u.role, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
       FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id_sha256 = $1 AND u.disabled_at IS NULL`,
      [key],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    if (Number(row.expires_at) <= now) {
      await query(
        this.pool,
        'ending an expired session',
        'DELETE FROM sessions WHERE id_sha256 = $1',
        [key],
      );
      return undefined;
    }
    const slide = now - Number(row.last_seen_at) >= LAST_SEEN_WRITE_MS;
    const expiresAt = slidExpiry(this.limits, Number(row.created_at), now);
    if (slide) {
      await query(
        this.pool,
        'sliding a session',
        'UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_sha256 = $3',
        [now, expiresAt, key],
      );
    }
    return {
      userId: Number(row.user_id),
      userName: row.name,
      role: row.role as Role,
      csrfToken: row.csrf_token,
      expiresAt: slide ? expiresAt : Number(row.expires_at),
    };
  }

  async isLive(id: string, now = Date.now()): Promise<boolean> {
    const result = await query<{ expires_at: string }>(
      this.pool,
      'reading a session',
      `SELECT s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id_sha256 = $1 AND u.disabled_at IS NULL`,
      [sessionKey(id)],
    );
    const row = result.rows[0];
    return row !== undefined && Number(row.expires_at) > now;
  }

  async end(id: string): Promise<void> {
    await query(this.pool, 'ending a session', 'DELETE FROM sessions WHERE id_sha256 = $1', [
      sessionKey(id),
    ]);
  }
}
