import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  LOCK_FILE_NAME,
  acquireDataDirLock,
  currentBootId,
  processStartTime,
} from './dataDirLock.js';

async function withDir(body: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-lock-'));
  try {
    await body(dir);
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

test('a predecessor that had our pid (a container restart: pid 1 again) is taken over', () =>
  withDir((dir) => {
    // What the crashed predecessor left: same host, same pid, a nonce this process never held.
    writeFileSync(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 'x', nonce: 'earlier' }),
    );
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverStaleLock, true);
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE_NAME)), false);
  }));

test('a live pid that started later than the holder (pid reuse) is not the holder', async () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pid = sleeper.pid!;
    const start = processStartTime(pid);
    if (start === undefined) return; // not Linux: only kill(pid, 0) can be asked
    await withDir((dir) => {
      const lockPath = join(dir, LOCK_FILE_NAME);
      const write = (processStart: string, bootId = currentBootId()): void =>
        writeFileSync(
          lockPath,
          JSON.stringify({
            pid,
            host: hostname(),
            startedAt: 'x',
            nonce: 'n',
            bootId,
            processStart,
          }),
        );
      write(start);
      assert.throws(() => acquireDataDirLock(dir), new RegExp(`in use by process ${pid}`));
      write(String(Number(start) - 1));
      const reused = acquireDataDirLock(dir);
      assert.equal(reused.tookOverStaleLock, true);
      reused.release();
      write(start, 'another-boot');
      const rebooted = acquireDataDirLock(dir);
      assert.equal(rebooted.tookOverStaleLock, true);
      rebooted.release();
    });
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('pid 1 in a fresh pid namespace, SIGKILLed, then started again as pid 1: it starts', async (t) => {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  if (probe.status !== 0) {
    t.skip('unshare --pid is not permitted here (needs root or user namespaces)');
    return;
  }
  const module = fileURLToPath(new URL('./dataDirLock.js', import.meta.url));
  const script = (kill: boolean): string =>
    `import(${JSON.stringify(module)}).then(({ acquireDataDirLock }) => {` +
    `const lock = acquireDataDirLock(process.argv[1]);` +
    `console.log(JSON.stringify({ pid: process.pid, tookOver: lock.tookOverStaleLock }));` +
    (kill ? `process.kill(process.pid, 'SIGKILL');` : `lock.release();`) +
    `}).catch((e) => { console.log(JSON.stringify({ error: e.message })); process.exit(3); });`;
  await withDir((dir) => {
    const run = (kill: boolean) =>
      spawnSync(
        'unshare',
        ['--pid', '--fork', '--mount-proc', process.execPath, '-e', script(kill), dir],
        { encoding: 'utf8' },
      );
    const first = run(true);
    assert.deepEqual(JSON.parse(first.stdout.trim()), { pid: 1, tookOver: false });
    assert.equal(existsSync(join(dir, LOCK_FILE_NAME)), true, 'the crash left its lock');
    const second = run(false);
    assert.equal(second.status, 0, second.stdout + second.stderr);
    assert.deepEqual(JSON.parse(second.stdout.trim()), { pid: 1, tookOver: true });
  });
});
