import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesUnder, walkDirectory } from './index.js';

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
