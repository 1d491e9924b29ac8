import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstanceStore, sha256Hex } from './index.js';
import { childScript } from '../../../test/support/index.js';

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test('SIGKILL while storing: every acknowledged instance is indexed and intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-crash-'));
  try {
    const { path, execArgv } = childScript('storeLoop');
    const child = spawn(process.execPath, [...execArgv, path, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const acknowledged: string[] = [];
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        acknowledged.push(...lines);
        if (acknowledged.length >= 25 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited ${code}: ${stderr}`));
      });
    });
    await new Promise((r) => child.once('exit', r));

    const store = InstanceStore.open(dir);
    try {
      for (const uid of acknowledged)
        assert.ok(store.findInstance(uid), `${uid} acknowledged but not indexed`);
      const rows = store.studyInstances(store.studies()[0]?.studyInstanceUid ?? '');
      assert.ok(rows.length >= acknowledged.length);
      // Every indexed row points at an intact object; at most one object (the one being
      // written when killed) is not indexed, and no temporary file is mistaken for one.
      for (const row of rows) {
        assert.equal(sha256Hex(await readFile(join(dir, row.path))), row.sha256);
      }
      const objects = (await filesUnder(join(dir, 'objects'))).filter((f) => f.endsWith('.dcm'));
      assert.ok(
        objects.length - rows.length <= 1,
        `${objects.length} objects, ${rows.length} rows`,
      );
    } finally {
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
