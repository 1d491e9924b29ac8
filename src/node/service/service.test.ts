import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { openNodeDatabase } from '../store/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { loadNodeConfig } from './config.js';
import { createLogger } from './log.js';
import { RadiolensNode } from './service.js';

test('a port in use stops the start with what to do, and leaves nothing open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-service-'));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const address = blocker.address();
  const busy = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    const config = loadNodeConfig(
      { data: join(dir, 'data'), dicomPort: 0, httpPort: busy, host: '127.0.0.1', watch: false },
      join(repoRoot, 'models'),
    );
    await assert.rejects(
      RadiolensNode.start(config, { logger: createLogger(() => undefined) }),
      (error) => {
        assert.ok(isRadiolensError(error));
        assert.equal(error.code, 'E_IO');
        assert.match(error.message, /choose another --http-port/);
        return true;
      },
    );
    // The database was closed again: it can be opened and used.
    const db = openNodeDatabase(join(dir, 'data'));
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n, 0);
    db.close();
  } finally {
    await new Promise((r) => blocker.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});

test('health reports listeners, queue, outbox and not-routed counts; stop is idempotent', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-service-'));
  try {
    const config = loadNodeConfig(
      { data: join(dir, 'data'), dicomPort: 0, httpPort: 0, host: '127.0.0.1' },
      join(repoRoot, 'models'),
    );
    const node = await RadiolensNode.start(config, {
      logger: createLogger(() => undefined),
      version: '9.9.9',
    });
    const health = node.health();
    assert.equal(health.status, 'ok');
    assert.equal(health['version'], '9.9.9');
    assert.deepEqual(health['queue'], { queued: 0, running: 0, done: 0, failed: 0 });
    assert.equal(health['notRouted'], 0);
    assert.ok(node.listeners.dicom.port > 0);
    assert.equal(node.listeners.watchFolder, join(dir, 'data', 'import'));
    await Promise.all([node.stop(), node.stop()]);
    assert.equal(node.health().status, 'unavailable', 'a closed database is reported, not thrown');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the scheduled drift check: an alert when drift persists, in /health', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-service-'));
  try {
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ monitoring: { intervalMinutes: 30, persistence: 2 } }));
    const config = loadNodeConfig(
      {
        config: file,
        data: join(dir, 'data'),
        dicomPort: 0,
        httpPort: 0,
        host: '127.0.0.1',
        watch: false,
      },
      join(repoRoot, 'models'),
    );
    const lines: string[] = [];
    const node = await RadiolensNode.start(config, {
      logger: createLogger((line) => lines.push(line)),
      driftCheck: () =>
        Promise.resolve([
          {
            model: 'cxr-pneumonia@1.2.0',
            drift: true,
            features: ['pixel mean'],
            windowImages: 200,
            report: null,
          },
        ]),
    });
    try {
      await node.checkDriftNow();
      await node.checkDriftNow();
      const response = await fetch(`http://127.0.0.1:${node.listeners.http.port}/health`);
      const health = (await response.json()) as {
        monitoring: {
          alerts: number;
          intervalMinutes: number;
          models: Record<string, { consecutive: number }>;
        };
      };
      assert.equal(health.monitoring.alerts, 1);
      assert.equal(health.monitoring.intervalMinutes, 30);
      assert.equal(health.monitoring.models['cxr-pneumonia@1.2.0']?.consecutive, 2);
      assert.ok(lines.some((line) => JSON.parse(line).event === 'drift-alert'));
    } finally {
      await node.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('/health tells the truth: 503 naming disk-low when free space is under the bound; the start-up line says who may write', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-service-'));
  try {
    const file = join(dir, 'node.json');
    // More free space than any disk has: the data folder counts as full.
    await writeFile(file, JSON.stringify({ health: { minFreeBytes: Number.MAX_SAFE_INTEGER } }));
    const config = loadNodeConfig(
      { config: file, data: join(dir, 'data'), dicomPort: 0, httpPort: 0, host: '127.0.0.1' },
      join(repoRoot, 'models'),
    );
    const lines: string[] = [];
    const node = await RadiolensNode.start(config, {
      logger: createLogger((line) => lines.push(line)),
    });
    try {
      const response = await fetch(`http://127.0.0.1:${node.listeners.http.port}/health`);
      assert.equal(response.status, 503);
      const body = (await response.json()) as {
        status: string;
        conditions: { condition: string; blocksIngest: boolean; detail: string }[];
      };
      assert.equal(body.status, 'unavailable');
      assert.deepEqual(
        body.conditions.map((c) => [c.condition, c.blocksIngest]),
        [['disk-low', true]],
      );
      assert.match(body.conditions[0]!.detail, /bytes free in the data folder/);
      const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const line = access.find((r) => r['event'] === 'node-access');
      assert.ok(line, 'one start-up line names listeners and access');
      assert.match(String(line['httpMachines']), /clients 127\.0\.0\.1, ::1/);
      assert.equal(line['httpUsers'], 0);
      assert.match(String(line['dicomCallers']), /\*@127\.0\.0\.1\|::1/);
    } finally {
      await node.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('private by default: a new data folder is 0700 and what the node writes 0600; a readable one is refused with the fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-service-'));
  const umask = process.umask();
  try {
    const data = join(dir, 'data');
    const config = loadNodeConfig(
      { data, dicomPort: 0, httpPort: 0, host: '127.0.0.1', watch: false },
      join(repoRoot, 'models'),
    );
    const node = await RadiolensNode.start(config, { logger: createLogger(() => undefined) });
    await node.stop();
    assert.equal(statSync(data).mode & 0o777, 0o700);
    for (const name of readdirSync(data)) {
      const mode = statSync(join(data, name)).mode & 0o777;
      assert.equal(mode & 0o077, 0, `${name} is ${mode.toString(8)}`);
    }
    assert.equal(statSync(join(data, 'radiolens.sqlite')).mode & 0o777, 0o600);

    chmodSync(data, 0o755);
    await assert.rejects(
      RadiolensNode.start(config, { logger: createLogger(() => undefined) }),
      /E_BAD_INPUT: the data folder .* is mode 0755: other local users can reach patient data — run: chmod -R go-rwx/,
    );
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ storage: { loosePermissions: 'warn' } }));
    const lines: string[] = [];
    const warned = await RadiolensNode.start(
      loadNodeConfig(
        { config: file, data, dicomPort: 0, httpPort: 0, host: '127.0.0.1', watch: false },
        join(repoRoot, 'models'),
      ),
      { logger: createLogger((line) => lines.push(line)) },
    );
    await warned.stop();
    assert.ok(lines.some((l) => l.includes('"event":"data-folder-not-private"')));
  } finally {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  }
});
