import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../foundation/core/index.js';
import { OutputWrites } from './outputWrites.js';

test('background writes all land, and a failed one fails the run after the others settle', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-writes-'));
  try {
    const writes = new OutputWrites();
    // A file where a folder should be: mkdir fails for real.
    await writeFile(join(dir, 'blocker'), 'x');
    const failing = writes.add(writeFileAtomic(join(dir, 'blocker', 'a.dcm'), 'a'));
    for (let i = 0; i < 5; i++) writes.add(writeFileAtomic(join(dir, `ok-${i}.txt`), `${i}`));
    await failing; // settles without throwing: the failure is kept for drain()
    await writes.throttle(2);
    await assert.rejects(
      writes.drain(),
      (e: NodeJS.ErrnoException) => e.code === 'EEXIST' || e.code === 'ENOTDIR',
    );
    for (let i = 0; i < 5; i++)
      assert.equal(await readFile(join(dir, `ok-${i}.txt`), 'utf8'), `${i}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('with no failure, drain waits for writes added while it waits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-writes-'));
  try {
    const writes = new OutputWrites();
    const path = join(dir, 'late.txt');
    writes.add(
      writeFileAtomic(join(dir, 'first.txt'), '1').then(() => {
        writes.add(writeFileAtomic(path, '2'));
      }),
    );
    await writes.drain();
    assert.equal(await readFile(path, 'utf8'), '2');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
