/**
 * Which reading-room store a command works on (ADR 0188): the shared PostgreSQL database when
 * `--database` (or $RADIOLENS_DATABASE_URL) names one — where `serve --database` keeps users,
 * answers and the audit chain — else the node database of `--data`. One rule for `users`,
 * `audit` and `feedback export`, so that no command reads one store while the node writes
 * the other.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { RadiolensError } from '../foundation/core/index.js';
import { migrate, openPostgresPool, type PgPool } from '../node/postgres/index.js';
import {
  DATABASE_URL_ENV,
  DEFAULTS,
  embeddedReadingRoom,
  sharedReadingRoom,
  type ReadingRoomState,
} from '../node/service/index.js';
import { openNodeDatabase } from '../node/store/index.js';

export interface StoreOptions {
  readonly data?: string;
  readonly database?: string;
}

/** The flag and its help, the same on every command that takes it. */
export const DATABASE_OPTION = [
  '--database <postgresql-url>',
  `the shared PostgreSQL database of serve --database (default $${DATABASE_URL_ENV}; without either, the node database of --data)`,
] as const;

/** The database URL from the flag or the environment; undefined: the embedded store. */
export function databaseUrlOf(options: StoreOptions): string | undefined {
  const env = process.env[DATABASE_URL_ENV];
  const url = options.database ?? (env === undefined || env === '' ? undefined : env);
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--database (or ${DATABASE_URL_ENV}) is not a PostgreSQL URL — write it as postgresql://user@host:5432/database`,
    );
  }
  return url;
}

/** Opens the shared database (one connection, migrated as serve would), runs, closes. */
export async function withSharedDatabase<T>(
  url: string,
  run: (pool: PgPool) => Promise<T>,
): Promise<T> {
  const pool = openPostgresPool(url, { maxConnections: 2, applicationName: 'radiolens-cli' });
  try {
    await migrate(pool);
    return await run(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/**
 * Runs `work` on the reading room's store: PostgreSQL when a database is named, else the
 * node database of the data directory (created private, as serve creates it).
 */
export async function withReadingRoom<T>(
  options: StoreOptions,
  work: (room: ReadingRoomState) => Promise<T>,
): Promise<T> {
  const url = databaseUrlOf(options);
  if (url !== undefined) {
    return withSharedDatabase(url, async (pool) => work(await sharedReadingRoom(pool, url)));
  }
  const dataDir = resolve(options.data ?? DEFAULTS.dataDir);
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openNodeDatabase(dataDir);
  try {
    return await work(embeddedReadingRoom(db, dataDir));
  } finally {
    db.close();
  }
}
