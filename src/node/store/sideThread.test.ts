import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SideThread } from './sideThread.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

test('sha256 on the side thread equals createHash, for views into larger buffers too', () => {
  const side = SideThread.shared();
  const big = randomBytes(3 * 1024 * 1024);
  const view = big.subarray(1000, 1000 + 700_001);
  const jobs = [new Uint8Array(0), randomBytes(1), view, big].map((bytes) => ({
    bytes,
    job: side.startSha256(bytes),
  }));
  // Joined in reverse: each job has its own result.
  for (const { bytes, job } of jobs.reverse()) assert.equal(job.join(), sha256(bytes));
});

test('fsync on the side thread: a folder syncs, a missing path throws its error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-side-'));
  try {
    const side = SideThread.shared();
    side.startFsync(dir).join();
    assert.throws(() => side.startFsync(join(dir, 'missing')).join(), /ENOENT/);
    // The thread survives a failed job.
    assert.equal(side.startSha256(Buffer.from('abc')).join(), sha256(Buffer.from('abc')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
