/**
 * Connections to the shared PostgreSQL database (ADR 0180): one node-postgres pool per
 * process, errors turned into coded RadiolensErrors that say what to do, and the one
 * transaction helper every multi-statement operation uses.
 */
import pg from 'pg';
import { RadiolensError } from '../../foundation/core/index.js';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;
/** A pool or a client inside a transaction: anything a single statement can run on. */
export type PgQueryable = pg.Pool | pg.PoolClient | pg.Client;

export interface PostgresOptions {
  /** Most connections this process opens; default 10. */
  readonly maxConnections?: number;
  /** Name shown in pg_stat_activity; default `radiolens`. */
  readonly applicationName?: string;
  /** Gives up connecting after this long; default 10 s. */
  readonly connectTimeoutMs?: number;
}

/** `postgresql://user:secret@host/db` → `postgresql://user@host/db`: never log a password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

/**
 * Opens a pool for `url` (postgresql://…). Connects lazily; call `checkConnection` to find a
 * wrong URL at start rather than at the first job. A connection the server ends while idle
 * (restart, pg_terminate_backend, network cut) is dropped from the pool and replaced by the
 * next query; without the error listener node-postgres would crash the process.
 */
export function openPostgresPool(url: string, options: PostgresOptions = {}): PgPool {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${redactUrl(url)} is not a PostgreSQL URL — write it as postgresql://user@host:5432/database`,
    );
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'radiolens',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  pool.on('error', () => {
    // An idle client died; the pool has already removed it. The next query opens a new one.
  });
  return pool;
}

/** SQLSTATE classes that mean "the connection or the server went away; try again later". */
/** node-postgres's own errors for a dead connection carry no SQLSTATE, only these messages. */
const DRIVER_CONNECTION_ERRORS =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Client was closed/i;

function isConnectionLoss(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') {
    return error instanceof Error && DRIVER_CONNECTION_ERRORS.test(error.message);
  }
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown (pg_terminate_backend, server stop)
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now (starting up)
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'ENOTFOUND'
  );
}

/**
 * A database error as E_DATABASE, with what was being done. A lost connection says so, since
 * the caller may simply retry: no operation here leaves a half-done change behind.
 */
export function databaseError(doing: string, cause: unknown): RadiolensError {
  if (cause instanceof RadiolensError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  const hint = isConnectionLoss(cause)
    ? 'the connection to PostgreSQL was lost or refused — nothing half-done was kept; retry once the server is reachable'
    : 'check the server log and that this node may write to the database';
  return new RadiolensError('E_DATABASE', `${doing} failed: ${message} — ${hint}`, { cause });
}

export function connectionLost(error: unknown): boolean {
  return isConnectionLoss(error instanceof RadiolensError ? error.cause : error);
}

/** Runs `work` in one transaction on one pooled client; rolls back on any error. */
export async function inTransaction<T>(
  pool: PgPool,
  doing: string,
  work: (client: PgClient) => Promise<T>,
): Promise<T> {
  let client: PgClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    throw databaseError(doing, cause);
  }
  // A checked-out client whose server goes away emits 'error' besides failing its query;
  // unheard, that event would crash the process. The failed query is what reports it.
  const ignoreError = (): void => {};
  client.on('error', ignoreError);
  let broken: unknown;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (cause) {
    broken = cause;
    try {
      await client.query('ROLLBACK');
    } catch {
      // The connection is gone; the server rolls back what it had.
    }
    throw databaseError(doing, cause);
  } finally {
    client.off('error', ignoreError);
    // A client whose transaction failed may be dead: destroy it rather than reuse it.
    client.release(broken instanceof Error && connectionLost(broken) ? broken : undefined);
  }
}

/** One statement on the pool, its error coded. */
export async function query<R extends pg.QueryResultRow>(
  db: PgQueryable,
  doing: string,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values);
  } catch (cause) {
    throw databaseError(doing, cause);
  }
}

/** The database clock in ms since the epoch: one clock for every host sharing the database. */
export async function databaseNow(db: PgQueryable): Promise<number> {
  const result = await query<{ now: string }>(
    db,
    'reading the database clock',
    `SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
  );
  return Number(result.rows[0]!.now);
}
