/**
 * Server-side sessions for people who log in (ADR 0175). The cookie carries 32 random bytes;
 * the database keeps only their sha256, the user, a CSRF token and three times. A session
 * ends at logout, after `idleMs` without a request, after `absoluteMs` whatever happens, and
 * when its user is disabled (the lookup joins on an active user).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeDatabase } from '../store/index.js';
import type { Role } from './roles.js';
import { ensureAccessSchema } from './userStore.js';

export interface SessionLimits {
  /** A session unused this long ends (a workstation left logged in). */
  readonly idleMs: number;
  /** A session ends this long after login, used or not (a shift). */
  readonly absoluteMs: number;
}

export const SESSION_DEFAULTS: SessionLimits = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 60 * 60_000,
};

export interface Session {
  readonly userId: number;
  readonly userName: string;
  readonly role: Role;
  /** Sent back in X-CSRF-Token on every state-changing request. */
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface NewSession extends Session {
  /** The cookie value; never stored. */
  readonly id: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The key a session is stored under: the cookie value's sha256 (a copy of the table opens none). */
export const sessionKey = sha256;

/** What a cookie value looks like: 32 random bytes, base64url. Anything else is no session. */
export const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** A session's last use is written at most this often: a viewer's many requests are not many writes. */
export const LAST_SEEN_WRITE_MS = 60_000;

/** A new session's cookie value and CSRF token, and when it expires. */
export function newSessionSecrets(
  limits: SessionLimits,
  now: number,
): { id: string; csrfToken: string; expiresAt: number } {
  return {
    id: randomBytes(32).toString('base64url'),
    csrfToken: randomBytes(32).toString('base64url'),
    expiresAt: Math.min(now + limits.idleMs, now + limits.absoluteMs),
  };
}

/** The expiry a use at `now` slides a session to: idle time from now, never past the absolute end. */
export function slidExpiry(limits: SessionLimits, createdAt: number, now: number): number {
  return Math.min(now + limits.idleMs, createdAt + limits.absoluteMs);
}

interface SessionRow {
  user_id: number;
  name: string;
  role: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export class SessionStore {
  constructor(
    private readonly db: NodeDatabase,
    readonly limits: SessionLimits = SESSION_DEFAULTS,
  ) {
    ensureAccessSchema(db);
  }

  create(userId: number, now = Date.now()): NewSession {
    const { id, csrfToken, expiresAt } = newSessionSecrets(this.limits, now);
    this.db
      .prepare(
        `INSERT INTO sessions (id_sha256, user_id, csrf_token, created_at, last_seen_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(sha256(id), userId, csrfToken, now, now, expiresAt);
    // Old sessions go when new ones come: the table never grows without bound.
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now);
    const user = this.db.prepare('SELECT name, role FROM users WHERE id = ?').get(userId) as {
      name: string;
      role: Role;
    };
    return { id, userId, userName: user.name, role: user.role, csrfToken, expiresAt };
  }

  /** The live session with this cookie value (sliding its idle expiry), or undefined. */
  touch(id: string, now = Date.now()): Session | undefined {
    if (!SESSION_ID.test(id)) return undefined;
    const key = sha256(id);
    const row = this.db
      .prepare(
        `SELECT s.user_id, u.name, u.role, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_sha256 = ? AND u.disabled_at IS NULL`,
      )
      .get(key) as SessionRow | undefined;
    if (row === undefined) return undefined;
    if (row.expires_at <= now) {
      this.db.prepare('DELETE FROM sessions WHERE id_sha256 = ?').run(key);
      return undefined;
    }
    const expiresAt = slidExpiry(this.limits, row.created_at, now);
    // Written at most once a minute per session: a viewer's many requests are not many writes.
    if (now - row.last_seen_at >= LAST_SEEN_WRITE_MS) {
      this.db
        .prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_sha256 = ?')
        .run(now, expiresAt, key);
    }
    return {
      userId: row.user_id,
      userName: row.name,
      role: row.role as Role,
      csrfToken: row.csrf_token,
      expiresAt: now - row.last_seen_at >= LAST_SEEN_WRITE_MS ? expiresAt : row.expires_at,
    };
  }

  /**
   * Whether the session with this cookie value is still live (not ended, expired or of a
   * disabled user), without sliding its expiry: for a long-lived stream, which must not keep
   * its session alive by itself.
   */
  isLive(id: string, now = Date.now()): boolean {
    const row = this.db
      .prepare(
        `SELECT s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_sha256 = ? AND u.disabled_at IS NULL`,
      )
      .get(sha256(id)) as { expires_at: number } | undefined;
    return row !== undefined && row.expires_at > now;
  }

  end(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_sha256 = ?').run(sha256(id));
  }
}

/** Whether the X-CSRF-Token header carries this session's token (constant time). */
export function csrfTokenMatches(session: Session, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header, 'utf8');
  const expected = Buffer.from(session.csrfToken, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Methods that change state, which a cookie session may use only with its CSRF token. */
export function isStateChanging(method: string | undefined): boolean {
  return !(method === 'GET' || method === 'HEAD' || method === 'OPTIONS');
}
