import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { DeidKeys, loadOrCreateInstallationSecret } from './keys.js';
import { assertMapOutside, ReidentificationMap } from './reidMap.js';

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'reid-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const facts = {
  patientId: 'MRN1',
  issuerOfPatientId: 'HOSP',
  pseudonymousPatientId: 'RL00',
  dateShiftDays: -400,
  uids: new Map([['1.2.3', '2.25.99']]),
};

test('the map is private, answers lookups and audits every access in a verifiable chain', async () => {
  await withTemp(async (root) => {
    const dir = join(root, 'reid');
    const map = await ReidentificationMap.open(dir, 'tester');
    assert.equal(await map.record([facts], 'batch-1'), 2);
    assert.equal(await map.record([facts], 'batch-2'), 0, 'duplicates are not appended');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'map.jsonl'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'audit.jsonl'))).mode & 0o777, 0o600);
    assert.equal(await map.originalUid('2.25.99', 'return AI result'), '1.2.3');
    assert.equal((await map.originalPatient('RL00', 'return AI result'))?.patientId, 'MRN1');
    // A reopened map continues the same chain.
    const again = await ReidentificationMap.open(dir, 'someone-else');
    await again.originalUid('2.25.404', 'curiosity');
    const audit = await again.verifyAuditLog();
    assert.equal(audit.length, 5);
    assert.deepEqual(
      audit.map((a) => a.action),
      ['record', 'record', 'lookup', 'lookup', 'lookup'],
    );
    assert.equal(audit[4]!.actor, 'someone-else');
    assert.match(audit[2]!.detail, /return AI result/);
  });
});

test('editing the audit log is detected', async () => {
  await withTemp(async (root) => {
    const map = await ReidentificationMap.open(join(root, 'reid'), 'tester');
    await map.record([facts], 'b');
    await map.originalUid('2.25.99', 'why');
    const path = join(root, 'reid', 'audit.jsonl');
    const text = await readFile(path, 'utf8');
    await writeFile(
      path,
      text.replace('"why"', '"nothing to see"').replace('for: why', 'for: other'),
    );
    await assert.rejects(map.verifyAuditLog(), /altered at entry 1/);
  });
});

test('a map inside the output directory is refused', () => {
  assert.throws(
    () => assertMapOutside('/data/out/reid', '/data/out'),
    (e: unknown) => e instanceof RadiolensError && e.code === 'E_DEID_CONFIG',
  );
  assert.throws(() => assertMapOutside('/data/out', '/data/out'));
  assertMapOutside('/secure/reid', '/data/out');
});

test('installation secret: created 0600, stable, refused when world-readable', async () => {
  await withTemp(async (root) => {
    const path = join(root, 'keys', 'secret.key');
    const a = await loadOrCreateInstallationSecret(path);
    const b = await loadOrCreateInstallationSecret(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(a.remapUid('1.2.3'), b.remapUid('1.2.3'));
    await chmod(path, 0o644);
    await assert.rejects(loadOrCreateInstallationSecret(path), /chmod 600/);
    assert.throws(() => new DeidKeys(new Uint8Array(4)), /at least 16 bytes/);
  });
});
