// The reading room on PostgreSQL (ADR 0188): the port contracts (also run against the embedded
// stores), a tampered audit chain found by verify, and concurrent appenders from several pools
// and processes making one chain. A fresh, migrated database per test, dropped afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { auditEntryHash } from '../../foundation/audit/index.js';
import { childScript } from '../../../test/support/index.js';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { CHEAP_SCRYPT, readingRoomContract } from '../../../test/support/readingRoomContracts.js';
import {
  PgAuditChain,
  PgFeedbackStore,
  PgSessionStore,
  PgUserStore,
  STUDY_KEY_SECRET,
  openPostgresPool,
  sharedSecret,
} from './index.js';

readingRoomContract('PostgreSQL', (limits, body) =>
  withTestDatabase(async ({ pool, url }) =>
    body({
      users: new PgUserStore(pool, CHEAP_SCRYPT),
      sessions: new PgSessionStore(pool, limits),
      feedback: new PgFeedbackStore(pool),
      audit: new PgAuditChain(pool, url),
    }),
  ),
);

async function chainOfFive(
  work: (chain: PgAuditChain, sql: (text: string) => Promise<unknown>) => Promise<void>,
): Promise<void> {
  await withTestDatabase(async ({ pool, url }) => {
    const chain = new PgAuditChain(pool, url);
    for (let i = 1; i <= 5; i++) {
      await chain.append({ actor: 'ada', action: 'http.wado', subject: `study:k${i}` });
    }
    assert.deepEqual(await chain.verify(), { ok: true, entries: 5 });
    await work(chain, (text) => pool.query(text));
  });
}

test('PostgreSQL audit chain: an edited row is found, and named', async () => {
  await chainOfFive(async (chain, sql) => {
    await sql(`UPDATE audit_log SET actor = 'eve' WHERE seq = 3`);
    const result = await chain.verify();
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.line, 3);
    assert.equal(result.entries, 2);
    assert.match(result.problem, /entry 3 was edited/);
  });
  await chainOfFive(async (chain, sql) => {
    await sql(`UPDATE audit_log SET details = '{"address": "10.0.0.1"}' WHERE seq = 2`);
    const result = await chain.verify();
    assert.ok(!result.ok);
    assert.match(result.problem, /entry 2 was edited/);
  });
});

test('PostgreSQL audit chain: a deleted row, a deleted tail and a rehashed row are found', async () => {
  await chainOfFive(async (chain, sql) => {
    await sql('DELETE FROM audit_log WHERE seq = 2');
    const result = await chain.verify();
    assert.ok(!result.ok);
    assert.equal(result.line, 2);
    assert.match(result.problem, /entry 3 follows entry 1: 1 entry was removed/);
  });
  await chainOfFive(async (chain, sql) => {
    await sql('DELETE FROM audit_log WHERE seq >= 4');
    const result = await chain.verify();
    assert.ok(!result.ok);
    assert.match(result.problem, /ends at entry 3 but its head names entry 5/);
  });
  // Someone who edits an entry and recomputes its hash still breaks the next entry's link.
  await chainOfFive(async (chain, sql) => {
    const [entry] = (await chain.latest(5)).filter((e) => e.seq === 2);
    const forged = { ...entry!, actor: 'eve' };
    const { hash: _old, ...body } = forged;
    await sql(`UPDATE audit_log SET actor = 'eve', hash = '${auditEntryHash(body)}' WHERE seq = 2`);
    const result = await chain.verify();
    assert.ok(!result.ok);
    assert.equal(result.line, 3);
    assert.match(result.problem, /entry 3 does not chain to the entry before it/);
  });
});

test('PostgreSQL audit chain: appenders in two pools here and two other processes make one chain', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const { path, execArgv } = childScript('auditAppender');
    const PER_PROCESS = 60;
    const children = ['proc-a', 'proc-b'].map(
      (actor) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(
            process.execPath,
            [...execArgv, path, url, String(PER_PROCESS), actor],
            {
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let out = '';
          let err = '';
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
          child.on('close', (code) => resolve({ code, out, err }));
        }),
    );
    const second = openPostgresPool(url, { maxConnections: 4 });
    try {
      const here = [new PgAuditChain(pool, url), new PgAuditChain(second, url)].flatMap(
        (chain, p) =>
          Array.from({ length: 4 }, async (_, lane) => {
            const seqs: number[] = [];
            for (let i = 0; i < PER_PROCESS / 4; i++) {
              const entry = await chain.append({
                actor: `pool-${p}`,
                action: 'feedback.answer',
                subject: `study:lane${lane}-${i}`,
                details: { lane, i },
              });
              seqs.push(entry.seq);
            }
            return seqs;
          }),
      );
      const [runs, local] = await Promise.all([Promise.all(children), Promise.all(here)]);
      for (const run of runs) assert.equal(run.code, 0, run.err);
      const seqs = [
        ...runs.flatMap((run) => JSON.parse(run.out) as number[]),
        ...local.flat(),
      ].sort((a, b) => a - b);
      const total = 4 * PER_PROCESS;
      assert.deepEqual(
        seqs,
        Array.from({ length: total }, (_, i) => i + 1),
        'every append got its own seq, none twice, none skipped',
      );
      const chain = new PgAuditChain(pool, url);
      assert.deepEqual(await chain.verify(), { ok: true, entries: total });
      const actors = new Set((await chain.latest(total)).map((e) => e.actor));
      assert.deepEqual([...actors].sort(), ['pool-0', 'pool-1', 'proc-a', 'proc-b']);
    } finally {
      await second.end();
    }
  });
});

test('PostgreSQL study-key secret: made once, the same for every process that asks', async () => {
  await withTestDatabase(async ({ pool, url }) => {
    const other = openPostgresPool(url, { maxConnections: 2 });
    try {
      const [a, b] = await Promise.all([
        sharedSecret(pool, STUDY_KEY_SECRET),
        sharedSecret(other, STUDY_KEY_SECRET),
      ]);
      assert.equal(a.length, 32);
      assert.deepEqual(a, b);
      assert.deepEqual(await sharedSecret(pool, STUDY_KEY_SECRET), a);
    } finally {
      await other.end();
    }
  });
});
