/**
 * The reading room on PostgreSQL (ADR 0188) against its baseline, the embedded node's stores
 * (the file audit log and SQLite), measured in the same run on the machine's PostgreSQL, a
 * database of its own:
 *
 * 1. Audit append: one appender (sequential, as one node's DICOMweb reads are), and 8 at once
 *    (PostgreSQL: 8 pools, as 8 ingest processes; file: 8 AuditLog objects in one process,
 *    taking turns through the lock file). Every append is durable (fsync / commit).
 * 2. Session check (touch within its minute: a read), the cost every request pays.
 * 3. Verify of the whole chain after the appends.
 * 4. The login throttle (ADR 0194), what a login adds besides its password check: a failed
 *    login (one admission, new address and user), a good one (admission, then the user's count
 *    cleared), and 8 at once guessing one user from 8 pools (waiting on one row; all but 5
 *    refused). Baseline: the embedded node's, in memory. The password check itself (scrypt at
 *    the default cost) is printed for scale.
 *
 * Usage: npm run bench:reading-room [-- --appends 500]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, fileAuditChain, type AuditChain } from '../src/foundation/audit/index.js';
import {
  SessionStore,
  UserStore,
  hashPassword,
  memoryLoginThrottle,
  verifyPassword,
  sqliteSessionPort,
  sqliteUserPort,
  type LoginThrottlePort,
  type SessionPort,
  type UserPort,
} from '../src/node/access/index.js';
import {
  PgAuditChain,
  PgLoginThrottle,
  PgSessionStore,
  PgUserStore,
  migrate,
  openPostgresPool,
  type PgPool,
} from '../src/node/postgres/index.js';
import { openNodeDatabase } from '../src/node/store/index.js';
import { createScratchDatabase } from '../test/support/postgres.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}
const APPENDS = Number(option('appends', '500'));
const CONCURRENT = 8;
const CHEAP = { ln: 14, r: 8, p: 1 };

const event = (i: number) => ({
  actor: 'rita',
  action: 'http.retrieveStudyMetadata',
  subject: `study:${String(i).padStart(22, 'k')}`,
  details: { address: '10.1.2.3', queryKeys: ['includefield'] },
});

/** ms per append (median) and appends per second, `lanes` appenders at once. */
async function appendRate(
  chains: readonly AuditChain[],
  total: number,
): Promise<{ medianMs: number; perSecond: number }> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    chains.map(async (chain) => {
      while (next < total) {
        next += 1;
        const t = performance.now();
        await chain.append(event(next));
        times.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, perSecond: (total / elapsed) * 1000 };
}

async function touchMs(users: UserPort, sessions: SessionPort, n: number): Promise<number> {
  const user = await users.add(
    `u${randomBytes(3).toString('hex')}`,
    'radiologist',
    'a long enough passphrase',
  );
  const made = await sessions.create(user.id);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await sessions.touch(made.id);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

const median = (times: number[]): number => {
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
};

/** Median ms of a failed login's admission and of a good login's admission and clearing. */
async function throttleMs(
  throttle: LoginThrottlePort,
  n: number,
  tag: string,
): Promise<{ failed: number; good: number }> {
  const failed: number[] = [];
  const good: number[] = [];
  for (let i = 0; i < n; i++) {
    // A new address and user each time: the throttle's rows are made, as at a first failure.
    let t = performance.now();
    await throttle.admit(`10.${tag}.${i >> 8}.${i & 255}`, `guess-${tag}-${i}`);
    failed.push(performance.now() - t);
    t = performance.now();
    const admitted = await throttle.admit('10.0.0.1', `rita-${tag}`);
    if (!admitted.allowed) throw new Error('a good login was refused');
    await throttle.succeeded(admitted.attempt);
    good.push(performance.now() - t);
  }
  return { failed: median(failed), good: median(good) };
}

/** Median ms of an admission, `throttles.length` at once guessing one user, `n` in all. */
async function guessingAtOnceMs(
  throttles: readonly LoginThrottlePort[],
  n: number,
): Promise<{ medianMs: number; admitted: number }> {
  const times: number[] = [];
  let next = 0;
  let admitted = 0;
  await Promise.all(
    throttles.map(async (throttle) => {
      while (next < n) {
        next += 1;
        const address = `192.0.2.${next & 255}`;
        const t = performance.now();
        if ((await throttle.admit(address, 'dora')).allowed) admitted += 1;
        times.push(performance.now() - t);
      }
    }),
  );
  return { medianMs: median(times), admitted };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const result = await work();
  return [result, performance.now() - t];
}

const dir = await mkdtemp(join(tmpdir(), 'radiolens-bench-room-'));
const scratch = await createScratchDatabase('radiolens_bench');
const pools: PgPool[] = [];
try {
  for (let i = 0; i < CONCURRENT; i++)
    pools.push(openPostgresPool(scratch.url, { maxConnections: 2 }));
  await migrate(pools[0]!);
  const db = openNodeDatabase(join(dir, 'data'));
  const rows: string[][] = [];
  const row = (what: string, baseline: string, shared: string): void => {
    rows.push([what, baseline, shared]);
  };
  const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

  const fileOne = await appendRate([fileAuditChain(new AuditLog(join(dir, 'one.jsonl')))], APPENDS);
  const pgOne = await appendRate([new PgAuditChain(pools[0]!, scratch.url)], APPENDS);
  row('audit append, 1 appender: median', fmt(fileOne.medianMs), fmt(pgOne.medianMs));
  row(
    'audit append, 1 appender: per second',
    fileOne.perSecond.toFixed(0),
    pgOne.perSecond.toFixed(0),
  );
  const fileMany = await appendRate(
    Array.from({ length: CONCURRENT }, () => fileAuditChain(new AuditLog(join(dir, 'one.jsonl')))),
    APPENDS,
  );
  const pgMany = await appendRate(
    pools.map((pool) => new PgAuditChain(pool, scratch.url)),
    APPENDS,
  );
  row(`audit append, ${CONCURRENT} at once: median`, fmt(fileMany.medianMs), fmt(pgMany.medianMs));
  row(
    `audit append, ${CONCURRENT} at once: per second`,
    fileMany.perSecond.toFixed(0),
    pgMany.perSecond.toFixed(0),
  );

  const [fileVerify, fileVerifyMs] = await timed(() =>
    fileAuditChain(new AuditLog(join(dir, 'one.jsonl'))).verify(),
  );
  const [pgVerify, pgVerifyMs] = await timed(() =>
    new PgAuditChain(pools[0]!, scratch.url).verify(),
  );
  if (!fileVerify.ok || !pgVerify.ok) throw new Error('a chain did not verify');
  row(
    `verify (${fileVerify.entries} / ${pgVerify.entries} entries)`,
    fmt(fileVerifyMs),
    fmt(pgVerifyMs),
  );

  const sqliteTouch = await touchMs(
    sqliteUserPort(new UserStore(db, CHEAP)),
    sqliteSessionPort(new SessionStore(db)),
    APPENDS,
  );
  const pgTouch = await touchMs(
    new PgUserStore(pools[0]!, CHEAP),
    new PgSessionStore(pools[0]!),
    APPENDS,
  );
  row('session check (touch): median', fmt(sqliteTouch), fmt(pgTouch));
  db.close();

  const memory = await throttleMs(memoryLoginThrottle(), APPENDS, 'm');
  const pgThrottle = await throttleMs(await PgLoginThrottle.open(pools[0]!), APPENDS, 'p');
  row('login throttle, failed login (admit): median', fmt(memory.failed), fmt(pgThrottle.failed));
  row('login throttle, good login (admit + clear): median', fmt(memory.good), fmt(pgThrottle.good));
  const memoryAtOnce = await guessingAtOnceMs(
    Array.from({ length: CONCURRENT }, () => memoryLoginThrottle()),
    APPENDS,
  );
  const pgAtOnce = await guessingAtOnceMs(
    await Promise.all(pools.map((pool) => PgLoginThrottle.open(pool))),
    APPENDS,
  );
  row(
    `login throttle, ${CONCURRENT} at once on one user: median (admitted)`,
    `${fmt(memoryAtOnce.medianMs)} (${memoryAtOnce.admitted} admitted)`,
    `${fmt(pgAtOnce.medianMs)} (${pgAtOnce.admitted} admitted)`,
  );
  const hash = await hashPassword('a long enough passphrase');
  const checks: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await verifyPassword('not the passphrase at all', hash);
    checks.push(performance.now() - t);
  }
  const passwordCheckMs = median(checks);

  const header = [
    '',
    'baseline: embedded (file log, SQLite, memory)',
    'PostgreSQL (ADRs 0188, 0194)',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  process.stdout.write(
    `reading room stores, ${APPENDS} appends / checks each, load average ${loadavg()[0]!.toFixed(1)}\n\n`,
  );
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
  process.stdout.write(
    `\nfor scale: one password check (scrypt, default cost), median of 20: ${fmt(passwordCheckMs)}\n`,
  );
} finally {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await scratch.drop();
  await rm(dir, { recursive: true, force: true });
}
