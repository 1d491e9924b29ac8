import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { childScript } from '../../../test/support/index.js';
import {
  MIGRATIONS,
  migrate,
  migrationChecksum,
  schemaVersion,
  type Migration,
  type PgPool,
} from './index.js';

const NEWEST = Math.max(...MIGRATIONS.map((m) => m.version));

async function tableExists(pool: PgPool, table: string): Promise<boolean> {
  const result = await pool.query<{ found: string | null }>(
    'SELECT to_regclass($1)::text AS found',
    [table],
  );
  return result.rows[0]?.found !== null;
}

test('migrate applies every step once, records it with its checksum, and is idempotent', async () => {
  await withTestDatabase(
    async ({ pool }) => {
      assert.equal(await schemaVersion(pool), 0);
      const first = await migrate(pool);
      assert.deepEqual(
        first.applied,
        MIGRATIONS.map((m) => m.version),
      );
      assert.equal(first.version, NEWEST);
      const second = await migrate(pool);
      assert.deepEqual(second, { applied: [], version: NEWEST });
      const rows = await pool.query<{ version: number; name: string; checksum: string }>(
        'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(
        rows.rows,
        MIGRATIONS.map((m) => ({
          version: m.version,
          name: m.name,
          checksum: migrationChecksum(m),
        })),
      );
      for (const table of ['jobs', 'outbox', 'nodes']) assert.ok(await tableExists(pool, table));
    },
    { migrated: false },
  );
});

test('four processes migrating one database at once: each step applied exactly once', async () => {
  await withTestDatabase(
    async ({ url, pool }) => {
      const { path, execArgv } = childScript('migrate');
      const runs = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
              const child = spawn(process.execPath, [...execArgv, path, url], {
                stdio: ['ignore', 'pipe', 'pipe'],
              });
              let out = '';
              let err = '';
              child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
              child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
              child.on('close', (code) => resolve({ code, out, err }));
            }),
        ),
      );
      for (const run of runs) assert.equal(run.code, 0, run.err);
      const results = runs.map(
        (run) => JSON.parse(run.out) as { applied: number[]; version: number },
      );
      for (const result of results) assert.equal(result.version, NEWEST);
      const applied = results.flatMap((result) => result.applied).sort((a, b) => a - b);
      assert.deepEqual(
        applied,
        MIGRATIONS.map((m) => m.version),
        'every step applied by exactly one process',
      );
      assert.equal(
        results.filter((result) => result.applied.length > 0).length,
        1,
        'one process did all the work; the others waited on the lock and found nothing to do',
      );
      const count = await pool.query<{ n: number }>(
        'SELECT count(*)::integer AS n FROM schema_migrations',
      );
      assert.equal(count.rows[0]?.n, MIGRATIONS.length);
    },
    { migrated: false },
  );
});

test('a database with a newer schema is refused before anything changes', async () => {
  await withTestDatabase(
    async ({ pool }) => {
      await pool.query(
        `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
           checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      await pool.query(
        `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, 'from the future', 'x')`,
        [NEWEST + 1],
      );
      await assert.rejects(
        migrate(pool),
        new RegExp(
          `E_DATABASE: the database schema is at version ${NEWEST + 1} .*newer than this Radiolens knows \\(${NEWEST}\\)`,
        ),
      );
      assert.equal(await tableExists(pool, 'jobs'), false, 'no older step was applied either');
    },
    { migrated: false },
  );
});

test('a recorded step that differs from the code is refused', async () => {
  await withTestDatabase(async ({ pool }) => {
    const altered: Migration[] = MIGRATIONS.map((m) =>
      m.version === 1 ? { ...m, sql: `${m.sql}\n-- edited after release` } : m,
    );
    await assert.rejects(
      migrate(pool, altered),
      /E_DATABASE: schema migration 1 recorded .* differs/,
    );
  });
});

test('a failing step leaves the database at the version before it', async () => {
  await withTestDatabase(async ({ pool }) => {
    const broken: Migration[] = [
      ...MIGRATIONS,
      {
        version: NEWEST + 1,
        name: 'half good',
        sql: 'CREATE TABLE half_good (id integer); SELECT no_such_function();',
      },
    ];
    await assert.rejects(
      migrate(pool, broken),
      /E_DATABASE: migrating the database schema failed|E_DATABASE: schema migration/,
    );
    assert.equal(await schemaVersion(pool), NEWEST);
    assert.equal(await tableExists(pool, 'half_good'), false);
  });
});
