/**
 * A throw-away PostgreSQL database per test: created on the machine's server
 * (RADIOLENS_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/postgres, trust
 * auth), migrated, and dropped afterwards. When no server answers, the test fails with one
 * line saying how to get one (tools/test-tools.sh installs and starts it), never skips.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, openPostgresPool, type PgPool } from '../../src/node/postgres/index.js';

export const ADMIN_URL =
  process.env.RADIOLENS_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (cause) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${(cause as Error).message}) — run 'sudo tools/test-tools.sh install' to install and start it, or set RADIOLENS_TEST_POSTGRES`,
      { cause },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** postgresql://… of the fresh database. */
  readonly url: string;
  readonly name: string;
  /** A pool on it (migrated when `migrated` was asked for). */
  readonly pool: PgPool;
  /** Ends every other session on the database, as a server restart would. */
  terminateBackends(): Promise<number>;
}

export interface ScratchDatabase {
  readonly name: string;
  /** postgresql://… of the fresh database. */
  readonly url: string;
  /** Drops it, ending whatever is still connected. */
  drop(): Promise<void>;
}

/** A fresh, empty database on the machine's server, for a test or a benchmark. */
export async function createScratchDatabase(prefix = 'radiolens_test'): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Runs `work` with a fresh database (migrated unless told otherwise) and drops it after. */
export async function withTestDatabase(
  work: (db: TestDatabase) => Promise<void>,
  options: { migrated?: boolean } = {},
): Promise<void> {
  const scratch = await createScratchDatabase();
  const { name, url } = scratch;
  const pool = openPostgresPool(url, { maxConnections: 20 });
  try {
    if (options.migrated !== false) await migrate(pool);
    await work({
      url,
      name,
      pool,
      terminateBackends: () =>
        admin(async (client) => {
          const result = await client.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()`,
            [name],
          );
          return result.rowCount ?? 0;
        }),
    });
  } finally {
    await pool.end().catch(() => undefined);
    await scratch.drop();
  }
}
