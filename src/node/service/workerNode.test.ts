import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitingConditions } from './workerNode.js';

type Trouble = { readonly since: number; readonly error: string } | undefined;

function thread(disk: Trouble, store: Trouble) {
  return { localDiskTrouble: () => disk, sharedStoreTrouble: () => store };
}

test('a worker whose disk is full or whose store is away says so on /health, once per kind, and never blocks ingest', () => {
  assert.deepEqual(waitingConditions([thread(undefined, undefined)]), []);
  const since = Date.UTC(2026, 11, 4, 12, 0, 0);
  const conditions = waitingConditions([
    thread(undefined, undefined),
    thread({ since, error: 'E_DISK_FULL: no space left in /tmp' }, undefined),
    thread(
      { since: since + 1000, error: 'E_DISK_FULL: again' },
      { since, error: 'E_STORE_UNREACHABLE: connection refused' },
    ),
  ]);
  assert.deepEqual(conditions, [
    {
      condition: 'disk-full',
      blocksIngest: false,
      detail: 'since 2026-12-04T12:00:00.000Z: E_DISK_FULL: no space left in /tmp',
    },
    {
      condition: 'shared-store-unreachable',
      blocksIngest: false,
      detail: 'since 2026-12-04T12:00:00.000Z: E_STORE_UNREACHABLE: connection refused',
    },
  ]);
});
