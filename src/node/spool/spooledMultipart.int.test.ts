import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskFull } from '../../foundation/core/index.js';
import { mountSmallDisk, unmountSmallDisk } from '../../../test/support/smallDisk.js';
import {
  DelimiterScanner,
  openSpoolFile,
  removeSpoolFile,
  spoolPath,
  spoolWebStream,
} from './index.js';

test('a body that does not fit on the disk is a full disk, not a shorter file taken for the whole', async (t: TestContext) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-spool-full-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const why = mountSmallDisk(dir, 64 * 1024);
  if (why !== null) {
    t.skip(why);
    return;
  }
  try {
    // One chunk larger than the disk: the disk takes what fits and says so only by the count
    // it returns; the next write is the one that fails with ENOSPC.
    const chunk = Buffer.alloc(200 * 1024, 0x41);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const path = spoolPath(dir, 'test');
    const file = await openSpoolFile(path);
    try {
      await assert.rejects(
        spoolWebStream(body, file, new DelimiterScanner('b'), 1 << 30),
        (error: unknown) => diskFull(error),
      );
      // The disk really did take part of the chunk: the short write happened.
      const kept = (await stat(path)).size;
      assert.ok(kept > 0 && kept < chunk.length, `kept ${kept} of ${chunk.length} bytes`);
    } finally {
      await removeSpoolFile(file, path);
    }
  } finally {
    unmountSmallDisk(dir);
  }
});
