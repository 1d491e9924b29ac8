import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './log.js';
import { NodeHttpServer, type HealthReport } from './http.js';

async function withServer(
  health: () => HealthReport,
  run: (base: string, stowCalls: (string | undefined)[]) => Promise<void>,
): Promise<void> {
  const stowCalls: (string | undefined)[] = [];
  const server = await NodeHttpServer.start({
    host: '127.0.0.1',
    port: 0,
    health,
    logger: createLogger(() => undefined),
    stow: async (_req, res, study) => {
      stowCalls.push(study);
      res.writeHead(200).end();
    },
  });
  try {
    await run(`http://127.0.0.1:${server.port}`, stowCalls);
  } finally {
    await server.stop(1000);
  }
}

test('GET /health is 200 when healthy and 503 when the database is unusable', async () => {
  let report: HealthReport = { status: 'ok', queue: { queued: 0 } };
  await withServer(
    () => report,
    async (base) => {
      const ok = await fetch(`${base}/health`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: 'ok', queue: { queued: 0 } });
      report = { status: 'unavailable', error: 'database is locked' };
      assert.equal((await fetch(`${base}/health`)).status, 503);
      assert.equal((await fetch(`${base}/health`, { method: 'POST' })).status, 405);
    },
  );
});

test('POST /dicomweb/studies[/uid] goes to STOW-RS; nothing else is served', async () => {
  await withServer(
    () => ({ status: 'ok' }),
    async (base, calls) => {
      assert.equal((await fetch(`${base}/dicomweb/studies`, { method: 'POST' })).status, 200);
      assert.equal((await fetch(`${base}/dicomweb/studies/1.2.3`, { method: 'POST' })).status, 200);
      assert.deepEqual(calls, [undefined, '1.2.3']);
      assert.equal((await fetch(`${base}/dicomweb/studies`)).status, 405);
      assert.equal(
        (await fetch(`${base}/dicomweb/studies/1.2.3/series`, { method: 'POST' })).status,
        404,
      );
      assert.equal((await fetch(`${base}/studies`, { method: 'POST' })).status, 404);
      assert.equal(calls.length, 2);
    },
  );
});

test('the reading room routes answer this machine only until the node has login', async () => {
  const server = await NodeHttpServer.start({
    host: '127.0.0.1',
    port: 0,
    health: () => ({ status: 'ok' }),
    logger: createLogger(() => undefined),
    // As a request from another machine would be judged.
    allowReadingRoom: () => false,
    dicomWebRead: {
      handle: async (_req, res) => {
        res.writeHead(200).end();
        return true;
      },
    },
    api: {
      handle: async (_req, res) => {
        res.writeHead(200).end();
        return true;
      },
    },
    stow: async (_req, res) => {
      res.writeHead(200).end();
    },
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ['/dicomweb/studies', '/api/feedback']) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 403, path);
      assert.match(((await response.json()) as { error: string }).error, /login/);
    }
    assert.equal((await fetch(`${base}/dicomweb/studies`, { method: 'POST' })).status, 200);
    assert.equal((await fetch(`${base}/health`)).status, 200);
  } finally {
    await server.stop(1000);
  }
});
