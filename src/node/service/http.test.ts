import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './log.js';
import { request } from 'node:http';
import { NodeHttpServer, type HealthReport } from './http.js';
import { sha256OfToken, type HttpAccessPolicy } from './httpAccess.js';

/** A real request from a chosen loopback address (Linux routes all of 127/8 to lo). */
function post(
  base: string,
  path: string,
  from: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: url.port, path, method: 'POST', localAddress: from, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end('--x--\r\n');
  });
}

async function withServer(
  health: () => HealthReport,
  run: (base: string, stowCalls: (string | undefined)[]) => Promise<void>,
  access: HttpAccessPolicy = { allowAddresses: ['127.0.0.1'], tokenSha256: null },
  logLines: string[] = [],
): Promise<void> {
  const stowCalls: (string | undefined)[] = [];
  const server = await NodeHttpServer.start({
    host: '0.0.0.0',
    port: 0,
    access,
    health,
    logger: createLogger((line) => logLines.push(line)),
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

test('POST /dicomweb/studies[/uid] goes to STOW-RS; routes not in the table are 404, other methods 405', async () => {
  await withServer(
    () => ({ status: 'ok' }),
    async (base, calls) => {
      assert.equal((await fetch(`${base}/dicomweb/studies`, { method: 'POST' })).status, 200);
      assert.equal((await fetch(`${base}/dicomweb/studies/1.2.3`, { method: 'POST' })).status, 200);
      assert.deepEqual(calls, [undefined, '1.2.3']);
      // The allow-list admits STOW-RS only: a read from the same address must authenticate.
      assert.equal((await fetch(`${base}/dicomweb/studies`)).status, 401);
      const wrongMethod = await fetch(`${base}/dicomweb/studies/1.2.3/series`, { method: 'POST' });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.get('allow'), 'GET');
      assert.equal(
        (await fetch(`${base}/dicomweb/studies/1.2.3/nothing`, { method: 'POST' })).status,
        404,
      );
      assert.equal((await fetch(`${base}/studies`, { method: 'POST' })).status, 404);
      assert.equal(calls.length, 2);
    },
  );
});

test('DICOMweb refuses clients off the allow-list, and admits them with the bearer token', async () => {
  const token = 'c0rrect-h0rse.battery~staple';
  const lines: string[] = [];
  await withServer(
    () => ({ status: 'ok' }),
    async (base, calls) => {
      // On the list: admitted without a token.
      assert.equal((await post(base, '/dicomweb/studies', '127.0.0.1')).status, 200);
      // Another host (127.0.0.2 stands for one): 401 and a challenge, nothing reaches STOW.
      const anonymous = await post(base, '/dicomweb/studies', '127.0.0.2');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="radiolens"');
      assert.match(anonymous.body, /bearer token or from an allowed address/);
      const wrong = await post(base, '/dicomweb/studies', '127.0.0.2', {
        authorization: 'Bearer guess',
      });
      assert.equal(wrong.status, 401);
      const right = await post(base, '/dicomweb/studies/1.2.3', '127.0.0.2', {
        authorization: `Bearer ${token}`,
      });
      assert.equal(right.status, 200);
      assert.deepEqual(calls, [undefined, '1.2.3']);
      // A browser (it sends Origin) is never admitted by address, even from the list.
      const fromBrowser = await post(base, '/dicomweb/studies', '127.0.0.1', {
        origin: 'http://attacker.example',
      });
      assert.equal(fromBrowser.status, 401);
      assert.equal(calls.length, 2);
      // /health carries no patient data and stays open to every address.
      const health = await new Promise<number>((resolve, reject) =>
        request(
          {
            host: '127.0.0.1',
            port: new URL(base).port,
            path: '/health',
            localAddress: '127.0.0.2',
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
          .on('error', reject)
          .end(),
      );
      assert.equal(health, 200);
    },
    { allowAddresses: ['127.0.0.1'], tokenSha256: sha256OfToken(token) },
    lines,
  );
  const refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  // Two refusals from one address within a minute: one record (and one for the browser).
  const records = refused.filter((r) => r['event'] === 'http-refused');
  assert.deepEqual(
    records.map((r) => r['address']),
    ['127.0.0.2', '127.0.0.1'],
  );
  assert.ok(!lines.join('').includes(token));
});

test('without a token, a client off the allow-list gets 401 naming who the route admits', async () => {
  await withServer(
    () => ({ status: 'ok' }),
    async (base, calls) => {
      const refused = await post(base, '/dicomweb/studies', '127.0.0.2');
      assert.equal(refused.status, 401);
      assert.match(refused.body, /users with role administrator.*allowed address/s);
      assert.deepEqual(calls, []);
    },
  );
});

test('the reading room routes: the allow-list admits no reads; the token admits DICOMweb reads, not /api', async () => {
  const token = 'r3ading-r00m.token~for+tests';
  const server = await NodeHttpServer.start({
    host: '0.0.0.0',
    port: 0,
    access: { allowAddresses: ['127.0.0.1'], tokenSha256: sha256OfToken(token) },
    health: () => ({ status: 'ok' }),
    logger: createLogger(() => undefined),
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
  });
  const get = (path: string, from: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) =>
      request(
        { host: '127.0.0.1', port: server.port, path, localAddress: from, headers },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end(),
    );
  try {
    for (const path of ['/dicomweb/studies', '/api/feedback']) {
      assert.equal(await get(path, '127.0.0.1'), 401, `${path} from the allow-list`);
      assert.equal(await get(path, '127.0.0.2'), 401, `${path} from another host`);
    }
    const withToken = { authorization: `Bearer ${token}` };
    assert.equal(await get('/dicomweb/studies', '127.0.0.2', withToken), 200);
    // The token is for machines; the answers API is for people who log in.
    assert.equal(await get('/api/feedback', '127.0.0.2', withToken), 403);
  } finally {
    await server.stop(1000);
  }
});
