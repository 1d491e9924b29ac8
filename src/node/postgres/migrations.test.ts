import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIGRATIONS, MIGRATION_LOCK_KEY, migrationChecksum } from './index.js';

/** sha256 of each released step's SQL; a new step adds a line, an old line never changes. */
const PINNED: Record<number, string> = {
  1: '10209d768144841ab6f4c9782affc1d68490409b94bf5cd8129485f48ed16515',
  2: 'b2d2877fe704214b76e74d8ea74c5a44e403275fa33d84aec8c8cbfb2c48a811',
  3: 'bd01a9d1e5d64299654e630b41a8dde728a4cf118bab9c9e0ff80a8797f70d0e',
  4: 'e370bdba037c4e53acd394de266fd12d612cd6bd9470b04c20c3f67448be37d6',
  5: '914d214907326f45f4989aa46fe3146bf5aa67fad5223f032f1258663017c975',
  6: '32a4978757570d34f39988658178fea18f14326e6d5cb0d889b9080fc28c474d',
  7: 'fb1015f4bb496826f2fa36f59a8b8f205f08d0a84e06da87f4429f2a86891cb5',
  8: 'bc2339be3f0d5cd1fb9e51f8f47b7434cc9150bb6ba70785e02375fb232f4974',
};
/** First 8 bytes of sha256('radiolens schema migrations'), signed (ADR 0181). */
const LOCK_KEY = '8766125488404307551';

test('migration versions run 1, 2, … without gaps or repeats, each named', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  );
  assert.equal(new Set(MIGRATIONS.map((m) => m.name)).size, MIGRATIONS.length);
  for (const m of MIGRATIONS) assert.match(migrationChecksum(m), /^[0-9a-f]{64}$/);
});

test('released migrations never change: their checksums are pinned here', () => {
  // A failing line here means a released step was edited; add a new step instead (ADR 0181).
  const pinned: Record<number, string> = Object.fromEntries(
    MIGRATIONS.map((m) => [m.version, migrationChecksum(m)]),
  );
  assert.deepEqual(pinned, PINNED);
});

test('the advisory lock key is a fixed signed 64-bit value', () => {
  assert.equal(typeof MIGRATION_LOCK_KEY, 'bigint');
  assert.ok(MIGRATION_LOCK_KEY >= -(2n ** 63n) && MIGRATION_LOCK_KEY < 2n ** 63n);
  assert.equal(MIGRATION_LOCK_KEY.toString(), LOCK_KEY);
});
