import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, verifyAuditLog, type AuditEntry } from './index.js';

async function withLog(run: (log: AuditLog) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  try {
    await run(new AuditLog(join(dir, 'audit', 'audit.jsonl')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fourEntries(log: AuditLog): Promise<string[]> {
  for (const [i, action] of [
    'model.promote',
    'model.promote-refused',
    'model.rollback',
    'model.promote',
  ].entries()) {
    await log.append(
      { actor: 'tester@host', action, subject: `cxr@1.${i}.0`, details: { auc: 0.8 + i / 100 } },
      new Date(Date.UTC(2026, 0, 1 + i)),
    );
  }
  return (await readFile(log.path, 'utf8')).trimEnd().split('\n');
}

const write = (log: AuditLog, lines: string[]): Promise<void> =>
  writeFile(log.path, `${lines.join('\n')}\n`);

test('an intact log verifies; entries chain by hash and count from 1', async () => {
  await withLog(async (log) => {
    assert.deepEqual(
      await verifyAuditLog(log.path),
      { ok: true, entries: 0 },
      'no log yet is intact',
    );
    await fourEntries(log);
    assert.deepEqual(await verifyAuditLog(log.path), { ok: true, entries: 4 });
    const entries = await log.entries();
    assert.deepEqual(
      entries.map((e) => e.seq),
      [1, 2, 3, 4],
    );
    assert.equal(entries[1]!.prev, entries[0]!.hash);
    assert.equal(entries[0]!.details['auc'], 0.8);
  });
});

test('an edited entry is named, also when its hash was recomputed by the editor', async () => {
  await withLog(async (log) => {
    const lines = await fourEntries(log);
    const edited = JSON.parse(lines[1]!) as AuditEntry;
    await write(log, [
      lines[0]!,
      JSON.stringify({ ...edited, details: { auc: 0.99 } }),
      ...lines.slice(2),
    ]);
    const result = await verifyAuditLog(log.path);
    assert.equal(result.ok, false);
    assert.ok(
      !result.ok && result.line === 2 && /entry 2 was edited/.test(result.problem),
      JSON.stringify(result),
    );
  });
});

test('a removed entry, a reordered log and a cut-off tail are each named', async () => {
  await withLog(async (log) => {
    const lines = await fourEntries(log);
    await write(log, [lines[0]!, lines[2]!, lines[3]!]);
    let result = await verifyAuditLog(log.path);
    assert.ok(
      !result.ok && result.line === 2 && /1 entry was removed/.test(result.problem),
      JSON.stringify(result),
    );

    await write(log, [lines[0]!, lines[2]!, lines[1]!, lines[3]!]);
    result = await verifyAuditLog(log.path);
    assert.ok(
      !result.ok && result.line === 2 && /reordered/.test(result.problem),
      JSON.stringify(result),
    );

    await write(log, lines.slice(0, 3));
    result = await verifyAuditLog(log.path);
    assert.ok(
      !result.ok && /the last 1 entry was removed/.test(result.problem),
      JSON.stringify(result),
    );
  });
});

test('appends from many callers at once keep one chain', async () => {
  await withLog(async (log) => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        log.append({ actor: 'a', action: 'x', subject: `s${i}` }),
      ),
    );
    assert.deepEqual(await verifyAuditLog(log.path), { ok: true, entries: 12 });
  });
});

test('the next entry chains to the last one even when that one is longer than the tail read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-audit-'));
  try {
    const log = new AuditLog(join(dir, 'audit.jsonl'));
    await log.append({ actor: 'a', action: 'x.first', subject: 's' });
    // 100 KiB of details: several times the 16 KiB window the last entry is looked for in.
    await log.append({
      actor: 'a',
      action: 'x.long',
      subject: 's',
      details: { note: 'é'.repeat(50_000) },
    });
    const third = await log.append({ actor: 'a', action: 'x.third', subject: 's' });
    assert.equal(third.seq, 3);
    assert.deepEqual(await verifyAuditLog(log.path), { ok: true, entries: 3 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
