/**
 * The reading room's users as an asynchronous port (ADR 0188): what login, the CLI and the
 * node need, whichever database keeps them. The embedded store (userStore.ts, SQLite, partly
 * synchronous) is wrapped by sqliteUserPort; the PostgreSQL store (node/postgres) implements
 * it directly. One contract suite (test/support/readingRoomContracts.ts) runs against both.
 */
import type { UserRecord, UserStore } from './userStore.js';

export interface UserPort {
  /** Adds an active user; E_BAD_INPUT for a bad name or role, or a name that exists. */
  add(name: string, role: string, password: string, now?: Date): Promise<UserRecord>;
  find(name: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** Disables the user and ends their sessions; false when already disabled. */
  disable(name: string, now?: Date): Promise<boolean>;
  /** The active user with this name and password, or undefined (same cost either way). */
  authenticate(name: string, password: string): Promise<UserRecord | undefined>;
}

/** The embedded store behind the port; async so that a throw becomes a rejection. */
export function sqliteUserPort(store: UserStore): UserPort {
  return {
    add: (name, role, password, now) => store.add(name, role, password, now),
    find: async (name) => store.find(name),
    list: async () => store.list(),
    disable: async (name, now) => store.disable(name, now),
    authenticate: (name, password) => store.authenticate(name, password),
  };
}
