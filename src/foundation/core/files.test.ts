import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesUnder, walkDirectory, writeAllAt } from './index.js';

test('walkDirectory: every entry below, sorted, hidden names and folders skipped, links reported not followed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-walk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'b', 'c'), { recursive: true });
  await mkdir(join(dir, '.incoming'));
  await writeFile(join(dir, 'b', 'c', 'z.dcm'), 'z');
  await writeFile(join(dir, 'a.dcm'), 'a');
  await writeFile(join(dir, '.tmp-a.dcm'), 'partial');
  await writeFile(join(dir, '.incoming', 'x.dcm'), 'x');
  await symlink(join(dir, 'a.dcm'), join(dir, 'b', 'link.dcm'));
  assert.deepEqual(await filesUnder(dir), [join(dir, 'a.dcm'), join(dir, 'b', 'c', 'z.dcm')]);
  assert.deepEqual(await walkDirectory(dir), [
    { path: join(dir, 'a.dcm'), regular: true },
    { path: join(dir, 'b', 'c', 'z.dcm'), regular: true },
    { path: join(dir, 'b', 'link.dcm'), regular: false },
  ]);
  assert.deepEqual(await filesUnder(dir, { hidden: true }), [
    join(dir, '.incoming', 'x.dcm'),
    join(dir, '.tmp-a.dcm'),
    join(dir, 'a.dcm'),
    join(dir, 'b', 'c', 'z.dcm'),
  ]);
});

test('writeAllAt: a write that takes part of the bytes is followed by one for the rest; one that takes none is an error', async () => {
  const disk = Buffer.alloc(32);
  const calls: [number, number][] = [];
  // A file that takes at most 5 bytes a call, as a disk filling mid-chunk takes what fits.
  const stingy = {
    write: (bytes: Uint8Array, offset: number, length: number, position: number) => {
      const taken = Math.min(5, length);
      calls.push([length, position]);
      disk.set(bytes.subarray(offset, offset + taken), position);
      return Promise.resolve({ bytesWritten: taken, buffer: bytes });
    },
  } as unknown as Parameters<typeof writeAllAt>[0];
  await writeAllAt(stingy, Buffer.from('abcdefghijklm'), 10);
  assert.equal(disk.subarray(10, 23).toString(), 'abcdefghijklm');
  assert.deepEqual(calls, [
    [13, 10],
    [8, 15],
    [3, 20],
  ]);
  const none = {
    write: (bytes: Uint8Array) => Promise.resolve({ bytesWritten: 0, buffer: bytes }),
  } as unknown as Parameters<typeof writeAllAt>[0];
  await assert.rejects(writeAllAt(none, Buffer.from('abc'), 0), /took none of the last 3 bytes/);
});
