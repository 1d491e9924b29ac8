import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOCK_FILE_NAME, acquireDataDirLock } from './dataDirLock.js';

async function withDir(body: (dir: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-lock-'));
  try {
    body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a second node on the same data directory is refused, naming the holder', () =>
  withDir((dir) => {
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverStaleLock, false);
    assert.throws(
      () => acquireDataDirLock(dir),
      (error: Error) =>
        error.message.includes(`in use by process ${process.pid}`) &&
        error.message.includes('choose another --data'),
    );
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE_NAME)), false);
    acquireDataDirLock(dir).release();
  }));

test("a dead process's lock is taken over and reported", () =>
  withDir((dir) => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const host = hostname();
    writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: dead, host, startedAt: 'x' }));
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverStaleLock, true);
    lock.release();
  }));

test('a half-written lock (the writer died mid-write) is taken over', () =>
  withDir((dir) => {
    writeFileSync(join(dir, LOCK_FILE_NAME), '{"pid": 12');
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverStaleLock, true);
    lock.release();
  }));

test("another host's lock is never taken over (shared network folder)", () =>
  withDir((dir) => {
    writeFileSync(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: 1, host: 'some-other-host', startedAt: 'x' }),
    );
    assert.throws(() => acquireDataDirLock(dir), /in use by process 1 on some-other-host/);
  }));
