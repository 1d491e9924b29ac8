/**
 * Server-side sessions as an asynchronous port (ADR 0188), so that a session made on one
 * ingest node is honoured by another on the same database. The embedded store (sessions.ts,
 * SQLite, synchronous) is wrapped by sqliteSessionPort; the PostgreSQL one implements it.
 */
import type { NewSession, Session, SessionLimits, SessionStore } from './sessions.js';

export interface SessionPort {
  readonly limits: SessionLimits;
  create(userId: number, now?: number): Promise<NewSession>;
  /** The live session with this cookie value (sliding its idle expiry), or undefined. */
  touch(id: string, now?: number): Promise<Session | undefined>;
  /** Whether the session is live, without sliding its expiry (long-lived streams). */
  isLive(id: string, now?: number): Promise<boolean>;
  end(id: string): Promise<void>;
}

export function sqliteSessionPort(store: SessionStore): SessionPort {
  return {
    limits: store.limits,
    create: async (userId, now) => store.create(userId, now),
    touch: async (id, now) => store.touch(id, now),
    isLive: async (id, now) => store.isLive(id, now),
    end: async (id) => store.end(id),
  };
}
