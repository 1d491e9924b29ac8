// The cluster's login throttle on PostgreSQL (ADR 0194): the port's contract (also run on the
// embedded node's, in memory), the database clock, attempts from two pools here and two other
// processes at once never admitted past the limit in total, the sweep of expired rows, and the
// database away. A fresh, migrated database per test, dropped afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { childScript } from '../../../test/support/index.js';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { loginThrottleContract } from '../../../test/support/loginThrottleContracts.js';
import { hammer } from '../../../test/support/loginAttempts.js';
import { freeLoopbackPort } from '../../../test/support/orthanc.js';
import { LOGIN_THROTTLE_DEFAULTS } from '../access/index.js';
import { PgLoginThrottle, databaseNow, openPostgresPool } from './index.js';

loginThrottleContract('PostgreSQL', (limits, clock, body) =>
  withTestDatabase(async ({ pool }) =>
    body(await PgLoginThrottle.open(pool, { limits, now: () => clock.now })),
  ),
);

const WINDOW_S = LOGIN_THROTTLE_DEFAULTS.windowMs / 1000;

test('PostgreSQL login throttle: counted on the database clock', async () => {
  await withTestDatabase(async ({ pool }) => {
    const throttle = await PgLoginThrottle.open(pool);
    const before = await databaseNow(pool);
    for (let i = 0; i < LOGIN_THROTTLE_DEFAULTS.perUser; i++) {
      assert.equal((await throttle.admit(`10.0.0.${i}`, 'ada')).allowed, true);
    }
    const after = await databaseNow(pool);
    const refused = await throttle.admit('10.0.0.9', 'ada');
    assert.ok(!refused.allowed);
    assert.equal(refused.by, 'user');
    assert.ok(refused.retryAfterSeconds <= WINDOW_S && refused.retryAfterSeconds >= WINDOW_S - 5);
    const rows = await pool.query<{ failures: string[] }>(
      `SELECT failures FROM login_throttle WHERE kind = 'user'`,
    );
    const times = rows.rows[0]!.failures.map(Number);
    assert.equal(times.length, LOGIN_THROTTLE_DEFAULTS.perUser);
    for (const t of times) assert.ok(t >= before && t <= after, `${t} in [${before}, ${after}]`);
  });
});

interface Guesser {
  readonly ready: Promise<void>;
  go(): void;
  readonly done: Promise<{ code: number | null; out: string; err: string }>;
}

/** Another process (as another ingest node) admitting `count` attempts when told to go. */
function guesser(url: string, count: number, user: string, address: string): Guesser {
  const { path, execArgv } = childScript('loginGuesser');
  const child = spawn(process.execPath, [...execArgv, path, url, String(count), user, address], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let readied: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (readied = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.startsWith('ready\n')) readied();
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = once(child, 'close').then(([code]) => {
    readied();
    return { code: code as number | null, out: out.replace(/^ready\n/, ''), err };
  });
  return { ready, go: () => child.stdin.write('go\n'), done };
}

test('PostgreSQL login throttle: two pools here and two other processes at once admit the limit in total, never more', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const second = openPostgresPool(url, { maxConnections: 4 });
    try {
      const PER = 40;
      const round = async (
        user: (who: string) => string,
        address: (who: string) => string,
      ): Promise<number> => {
        const children = ['proc-a', 'proc-b'].map((who) =>
          guesser(url, PER, user(who), address(who)),
        );
        await Promise.all(children.map((c) => c.ready));
        for (const c of children) c.go();
        const throttles = [await PgLoginThrottle.open(pool), await PgLoginThrottle.open(second)];
        const here = throttles.map((throttle, p) =>
          hammer(throttle, PER, (n) => [
            address(`pool-${p}`).replace('*', String(n)),
            user(`pool-${p}`).replace('*', String(n)),
          ]),
        );
        const [runs, local] = await Promise.all([
          Promise.all(children.map((c) => c.done)),
          Promise.all(here),
        ]);
        for (const run of runs) assert.equal(run.code, 0, run.err);
        const remote = runs.map((run) => (JSON.parse(run.out) as { admitted: number }).admitted);
        return [...remote, ...local].reduce((a, b) => a + b, 0);
      };
      // One user guessed from 160 addresses on four "nodes": 5 password checks in all.
      assert.equal(
        await round(
          () => 'ada',
          (who) => `${who}-*`,
        ),
        LOGIN_THROTTLE_DEFAULTS.perUser,
      );
      // One address guessing 160 user names on four "nodes": 20 in all.
      assert.equal(
        await round(
          (who) => `${who}-*`,
          () => '192.0.2.66',
        ),
        LOGIN_THROTTLE_DEFAULTS.perAddress,
      );
      const counted = await pool.query<{ n: number }>(
        `SELECT cardinality(failures) AS n FROM login_throttle
         WHERE kind = 'user' OR key = '192.0.2.66' ORDER BY kind, cardinality(failures) DESC
         LIMIT 2`,
      );
      assert.deepEqual(
        counted.rows.map((r) => r.n),
        [LOGIN_THROTTLE_DEFAULTS.perAddress, LOGIN_THROTTLE_DEFAULTS.perUser],
      );
    } finally {
      await second.end();
    }
  });
});

test('PostgreSQL login throttle: rows older than the window are swept by later admissions; fresh ones stay', async () => {
  await withTestDatabase(async ({ pool }) => {
    const now = await databaseNow(pool);
    const stale = now - LOGIN_THROTTLE_DEFAULTS.windowMs - 1000;
    await pool.query(
      `INSERT INTO login_throttle (kind, key, failures, last_at)
       SELECT 'address', '10.9.' || i, ARRAY[$1::bigint], $1 FROM generate_series(1, 50) AS i`,
      [stale],
    );
    await pool.query(
      `INSERT INTO login_throttle (kind, key, failures, last_at)
       VALUES ('user', 'recent', ARRAY[$1::bigint], $1)`,
      [now - 60_000],
    );
    const throttle = await PgLoginThrottle.open(pool);
    assert.equal((await throttle.admit('10.0.0.1', 'ada')).allowed, true);
    const left = async (): Promise<number> =>
      Number(
        (
          await pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM login_throttle WHERE last_at < $1`,
            [now - LOGIN_THROTTLE_DEFAULTS.windowMs],
          )
        ).rows[0]!.n,
      );
    assert.equal(await left(), 50 - 32);
    assert.equal((await throttle.admit('10.0.0.2', 'bob')).allowed, true);
    assert.equal(await left(), 0);
    const keys = await pool.query<{ kind: string; key: string }>(
      'SELECT kind, key FROM login_throttle ORDER BY kind, key',
    );
    assert.deepEqual(
      keys.rows.filter((r) => r.kind === 'address').map((r) => r.key),
      ['10.0.0.1', '10.0.0.2'],
    );
    const users = keys.rows.filter((r) => r.kind === 'user').map((r) => r.key);
    assert.equal(users.length, 3);
    assert.ok(users.includes('recent'));
    // User names are keyed, never stored as typed (a password may be in the name box).
    for (const key of users.filter((k) => k !== 'recent')) assert.match(key, /^[0-9a-f]{64}$/);
  });
});

test('PostgreSQL login throttle: the database away refuses to admit (E_DATABASE, answered 503), never lets an attempt through uncounted', async () => {
  const port = await freeLoopbackPort();
  const pool = openPostgresPool(`postgresql://postgres@127.0.0.1:${port}/radiolens`, {
    connectTimeoutMs: 2000,
  });
  try {
    // Made while the database was up (the cluster's secret read), used once it is away.
    const throttle = new PgLoginThrottle(pool, randomBytes(32));
    await assert.rejects(
      throttle.admit('10.0.0.1', 'ada'),
      /E_DATABASE: counting a login attempt failed: .*lost or refused/,
    );
    await assert.rejects(
      throttle.succeeded({ address: '10.0.0.1', user: 'ada', at: 1 }),
      /E_DATABASE: clearing the login count of a user failed/,
    );
  } finally {
    await pool.end();
  }
});
