import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { DATABASE_URL_ENV, loadNodeConfig } from './config.js';
import { loadWorkerConfig } from './workerConfig.js';

const SECRET = 'pw-not-for-errors';

function withEnv(value: string | undefined, run: () => void): void {
  const before = process.env[DATABASE_URL_ENV];
  if (value === undefined) delete process.env[DATABASE_URL_ENV];
  else process.env[DATABASE_URL_ENV] = value;
  try {
    run();
  } finally {
    if (before === undefined) delete process.env[DATABASE_URL_ENV];
    else process.env[DATABASE_URL_ENV] = before;
  }
}

test('serve: no database anywhere is the embedded node; --database makes a cluster member named serve@<host>', () => {
  withEnv(undefined, () => {
    assert.equal(loadNodeConfig({}, '/m').cluster, null);
    const config = loadNodeConfig({ database: 'postgresql://rl@db:5432/rl' }, '/m');
    assert.deepEqual(config.cluster, {
      databaseUrl: 'postgresql://rl@db:5432/rl',
      nodeId: `serve@${hostname()}`,
      nodeLeaseSeconds: 30,
    });
  });
});

test('serve: the file sets database, nodeId and nodeLeaseSeconds; the flag wins; the environment comes last', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-cluster-config-'));
  try {
    const file = join(dir, 'serve.json');
    await writeFile(
      file,
      JSON.stringify({
        database: 'postgresql://file@db/rl',
        nodeId: 'ingest-a',
        nodeLeaseSeconds: 9,
      }),
    );
    withEnv('postgresql://env@db/rl', () => {
      const fromFile = loadNodeConfig({ config: file }, '/m').cluster;
      assert.equal(fromFile?.databaseUrl, 'postgresql://file@db/rl');
      assert.equal(fromFile?.nodeId, 'ingest-a');
      assert.equal(fromFile?.nodeLeaseSeconds, 9);
      const flag = loadNodeConfig({ config: file, database: 'postgresql://flag@db/rl' }, '/m');
      assert.equal(flag.cluster?.databaseUrl, 'postgresql://flag@db/rl');
      assert.equal(loadNodeConfig({}, '/m').cluster?.databaseUrl, 'postgresql://env@db/rl');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve: a database that is not a PostgreSQL URL, or a bad node id, is refused naming the flag and never echoing the password', () => {
  withEnv(undefined, () => {
    assert.throws(
      () => loadNodeConfig({ database: `mysql://u:${SECRET}@db/x`, nodeId: 'bad id' }, '/m'),
      (error: Error) => {
        assert.ok(isRadiolensError(error) && error.code === 'E_BAD_INPUT');
        assert.match(error.message, /--database: database is a PostgreSQL URL/);
        assert.match(error.message, /--node-id: nodeId is 1–128 letters/);
        assert.ok(!error.message.includes(SECRET));
        return true;
      },
    );
  });
  withEnv(`mysql://u:${SECRET}@db/x`, () => {
    assert.throws(
      () => loadNodeConfig({}, '/m'),
      (error: Error) => {
        assert.match(error.message, /RADIOLENS_DATABASE_URL\) is not a PostgreSQL URL/);
        assert.ok(!error.message.includes(SECRET));
        return true;
      },
    );
  });
});

test('worker: --data and a database are required, every problem listed at once', () => {
  withEnv(undefined, () => {
    assert.throws(
      () => loadWorkerConfig({ workers: 0, threads: 1.5, httpHost: 'localhost' }, '/m'),
      (error: Error) => {
        assert.ok(isRadiolensError(error) && error.code === 'E_BAD_INPUT');
        for (const flag of ['--workers', '--threads', '--http-host', '--data']) {
          assert.ok(error.message.includes(`  ${flag}:`), `${flag} in ${error.message}`);
        }
        return true;
      },
    );
    assert.throws(() => loadWorkerConfig({ data: '/srv/shared' }, '/m'), /--database: the shared/);
  });
});

test('worker: defaults, and the database from the environment', () => {
  withEnv(`postgresql://rl:${SECRET}@db/rl`, () => {
    const config = loadWorkerConfig({ data: '/srv/shared', sendTo: ['file:///out'] }, '/m');
    assert.equal(config.cluster.databaseUrl, `postgresql://rl:${SECRET}@db/rl`);
    assert.equal(config.cluster.nodeId, `worker@${hostname()}`);
    assert.equal(config.cluster.nodeLeaseSeconds, 30);
    assert.equal(config.dataDir, '/srv/shared');
    assert.equal(config.workers, 1);
    assert.equal(config.threads, null);
    assert.equal(config.deliver, true);
    assert.equal(config.httpHost, '127.0.0.1');
    assert.equal(config.httpPort, 8081);
    assert.equal(config.leaseSeconds, 30);
    assert.equal(config.shutdownGraceSeconds, 30);
    assert.equal(config.destinations.length, 1);
  });
});
