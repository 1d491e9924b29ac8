/**
 * Every route of a real started node, taken from its own /api/openapi.json: anonymous → 401,
 * a user without the route's role → 403, a user with it (or the machine token where the
 * route takes it) → neither. A route added to the table is in the document and so in this
 * test; a route that is not in the table is not served at all (404). Also: login, logout,
 * cookie attributes, CSRF, security headers, rate limiting and the audit records, end to end.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAuditLog, type AuditEntry } from '../../foundation/audit/index.js';
import { conformanceDir, repoRoot } from '../../../test/support/index.js';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { cookieOf, httpCall, type HttpAnswer } from '../../../test/support/httpClient.js';
import { ROLES, StudyKeys, UserStore, auditLogPath, type Role } from '../access/index.js';
import { InstanceStore, openNodeDatabase } from '../store/index.js';
import { sha256OfToken } from './httpAccess.js';
import { startLoopbackNode } from '../../../test/support/loopbackNode.js';
import { loadNodeConfig } from './config.js';
import { createLogger } from './log.js';
import { RadiolensNode } from './service.js';

const TOKEN = 'machine-client-token-for-the-route-test';
const PASSWORD = 'a passphrase long enough';
const STUDY_FILE = 'pydicom-data/JPEG-LL.dcm';

interface Operation {
  readonly operationId: string;
  readonly security: unknown[];
  readonly 'x-radiolens-roles': Role[];
  readonly 'x-radiolens-machines': 'none' | 'token' | 'token-or-address';
  readonly 'x-radiolens-public': boolean;
  readonly requestBody?: { content: Record<string, unknown> };
  readonly responses: Record<string, { content?: Record<string, unknown> }>;
}

interface Login {
  readonly cookie: string;
  readonly csrf: string;
}

/** A concrete URL for a path template: made-up UIDs (a 404 is fine: it is not a refusal). */
function concrete(path: string): string {
  return path
    .replace('{study}', '1.2.826.0.1.3680043.10.9999.1')
    .replace('{series}', '1.2.826.0.1.3680043.10.9999.2')
    .replace('{instance}', '1.2.826.0.1.3680043.10.9999.3')
    .replace('{frames}', '1')
    .replace('{bulkPath}', '7FE00010')
    .replace('{studyKey}', 'AAAAAAAAAAAAAAAAAAAAAA')
    .replace('{id}', 'cxr-pneumonia')
    .replace('{version}', '1.2.0')
    .replace('{path}', 'viewer')
    .replace('{asset}', 'app.css');
}

describe('every route of a started node, from its OpenAPI document', () => {
  let dir: string;
  let node: RadiolensNode;
  let base: string;
  let studyUid: string;
  const sessions = new Map<Role, Login>();

  const login = async (user: string, password = PASSWORD): Promise<HttpAnswer> =>
    httpCall(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password }),
    });
  const session = async (role: Role): Promise<Login> => {
    const answer = await login(role === 'data-scientist' ? 'dana' : role.slice(0, 5));
    assert.equal(answer.status, 200, answer.body);
    return {
      cookie: cookieOf(answer),
      csrf: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken,
    };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'radiolens-routes-'));
    const data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    const db = openNodeDatabase(data);
    const users = new UserStore(db);
    for (const role of ROLES) {
      await users.add(role === 'data-scientist' ? 'dana' : role.slice(0, 5), role, PASSWORD);
    }
    db.close();
    const store = InstanceStore.open(data);
    const stored = await store.storeInstance(await readFile(join(conformanceDir, STUDY_FILE)), {
      source: 'test',
    });
    studyUid = stored.instance.studyInstanceUid;
    store.close();
    // No address is allowed: loopback is anonymous unless it logs in or shows the token.
    ({ node, base } = await startLoopbackNode(
      dir,
      data,
      { http: { allowAddresses: [], tokenSha256: sha256OfToken(TOKEN) } },
      0,
    ));
    for (const role of ROLES) sessions.set(role, await session(role));
  });

  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses anonymous callers (401), callers without the role (403), admits the rest', async () => {
    const doc = JSON.parse(
      (
        await httpCall(`${base}/api/openapi.json`, {
          headers: { cookie: sessions.get('auditor')!.cookie },
        })
      ).body,
    ) as { paths: Record<string, Record<string, Operation>> };
    const checked: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const url = `${base}${concrete(path)}`;
        const json = op.requestBody?.content['application/json'] !== undefined;
        const body = json ? '{}' : undefined;
        // A Server-Sent Events stream does not end: its status and headers are the answer.
        const stream = Object.values(op.responses).some(
          (r) => r.content?.['text/event-stream'] !== undefined,
        );
        const call = (headers: Record<string, string>): Promise<HttpAnswer> =>
          httpCall(url, {
            method: method.toUpperCase(),
            headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...headers },
            ...(body === undefined ? {} : { body }),
            headersOnly: stream,
          });
        const what = `${method.toUpperCase()} ${path}`;
        checked.push(what);
        const anonymous = await call({});
        if (op['x-radiolens-public']) {
          assert.ok(![401, 403].includes(anonymous.status) || op.operationId === 'login', what);
          assert.deepEqual(op.security, [], `${what} is public`);
          continue;
        }
        assert.equal(anonymous.status, 401, `${what} anonymous`);
        assert.match(String(anonymous.headers['www-authenticate']), /Bearer/);
        if (Object.values(op.responses).some((r) => r.content?.['text/html'] !== undefined)) {
          // A page: the browser is sent to the login page, coming back here afterwards.
          assert.match(String(anonymous.headers['content-type']), /^text\/html/, what);
          assert.ok(
            anonymous.body.includes(
              `url=/login?next=${encodeURIComponent(concrete(path))}`.replaceAll('&', '&amp;'),
            ),
            `${what}: ${anonymous.body}`,
          );
        }
        const roles = op['x-radiolens-roles'];
        for (const role of ROLES) {
          // A fresh session where the route would end the one we keep.
          const who = op.operationId === 'logout' ? await session(role) : sessions.get(role)!;
          const answer = await call({ cookie: who.cookie, 'x-csrf-token': who.csrf });
          if (roles.includes(role)) {
            assert.ok(![401, 403].includes(answer.status), `${what} as ${role}: ${answer.status}`);
            if (method !== 'get') {
              const noCsrf = await call({ cookie: sessions.get(role)!.cookie });
              assert.equal(noCsrf.status, 403, `${what} as ${role} without the CSRF token`);
              assert.match(noCsrf.body, /X-CSRF-Token/);
            }
          } else {
            assert.equal(answer.status, 403, `${what} as ${role}`);
          }
        }
        const machine = await call({ authorization: `Bearer ${TOKEN}` });
        if (op['x-radiolens-machines'] === 'none') {
          assert.equal(machine.status, 403, `${what} with the token`);
        } else {
          assert.ok(![401, 403].includes(machine.status), `${what} with the token`);
        }
        const wrongToken = await call({ authorization: 'Bearer not-the-token' });
        assert.equal(wrongToken.status, 401, `${what} with a wrong token`);
      }
    }
    // The document covers the node's routes: health, session, feedback, audit, DICOMweb.
    assert.ok(checked.length >= 24, `${checked.length} routes`);
    for (const known of [
      'GET /health',
      'POST /api/login',
      'GET /dicomweb/studies/{study}/metadata',
      'GET /api/worklist',
      'GET /api/worklist/events',
      'GET /login',
      'GET /worklist',
      'GET /studies/{studyKey}',
      'GET /audit',
      'GET /assets/{asset}',
      'GET /api/studies/{studyKey}/context',
      'GET /api/models',
      'GET /api/models/{id}/{version}',
      'GET /ohif',
      'GET /ohif/{path}',
    ]) {
      assert.ok(checked.includes(known), known);
    }
    // Anything not in the table is not served, whoever asks.
    const radiologist = sessions.get('radiologist')!;
    for (const path of ['/api/users', '/dicomweb/studies/1.2.3/rendered', '/admin']) {
      assert.equal(
        (await httpCall(`${base}${path}`, { headers: { cookie: radiologist.cookie } })).status,
        404,
      );
    }
  });

  it('login sets an HttpOnly, SameSite=Strict session cookie; every answer carries the security headers', async () => {
    const answer = await login('radio');
    const cookie = String(answer.headers['set-cookie']);
    assert.match(
      cookie,
      /^radiolens_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP: no Secure attribute');
    for (const response of [
      answer,
      await httpCall(`${base}/dicomweb/studies`),
      await httpCall(`${base}/nothing`),
    ]) {
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['x-frame-options'], 'DENY');
      assert.equal(response.headers['cache-control'], 'no-store');
    }
    const session_ = await httpCall(`${base}/api/session`, {
      headers: { cookie: cookieOf(answer) },
    });
    assert.equal((JSON.parse(session_.body) as { user: string }).user, 'radio');
  });

  it('after logout the session is refused', async () => {
    const who = await session('radiologist');
    const out = await httpCall(`${base}/api/logout`, {
      method: 'POST',
      headers: { cookie: who.cookie, 'x-csrf-token': who.csrf },
    });
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    const afterwards = await httpCall(`${base}/dicomweb/studies`, {
      headers: { cookie: who.cookie },
    });
    assert.equal(afterwards.status, 401);
  });

  it('rate-limits failed logins per user: the sixth try in the window is 429 even with the right password', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await login('audit', 'wrong password!!')).status, 401);
    for (let i = 0; i < 3; i++) {
      const limited = await login('audit');
      assert.equal(limited.status, 429);
      assert.match(String(limited.headers['retry-after']), /^\d+$/);
    }
  });

  it('audits logins good and bad, logouts, reads of a study by its key, and no UID or password', async () => {
    const radiologist = sessions.get('radiologist')!;
    const read = await httpCall(`${base}/dicomweb/studies/${studyUid}/metadata`, {
      headers: { cookie: radiologist.cookie, accept: 'application/dicom+json' },
    });
    assert.equal(read.status, 200);
    const search = await httpCall(`${base}/dicomweb/studies?PatientName=DOE*`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(search.status, 200);
    const answered = await httpCall(`${base}/api/feedback`, {
      method: 'POST',
      headers: {
        cookie: radiologist.cookie,
        'x-csrf-token': radiologist.csrf,
        'content-type': 'application/json',
      },
      body: JSON.stringify(feedbackAnswer()),
    });
    assert.equal(answered.status, 201, answered.body);
    assert.equal((JSON.parse(answered.body) as { userId: string }).userId, 'radio');
    const path = auditLogPath(join(dir, 'data'));
    const text = await readFile(path, 'utf8');
    const entries = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    const actions = new Set(entries.map((e) => e.action));
    for (const action of [
      'auth.login',
      'auth.login-failed',
      'auth.login-throttled',
      'auth.logout',
    ]) {
      assert.ok(actions.has(action), action);
    }
    const start = entries.find((e) => e.action === 'node.start');
    assert.match(String(start?.details['configSha256']), /^[0-9a-f]{64}$/);
    assert.equal(start?.details['activeUsers'], ROLES.length);
    // Three throttled attempts within a minute: one record (a flood is not a flood of fsyncs).
    assert.equal(entries.filter((e) => e.action === 'auth.login-throttled').length, 1);
    assert.equal(entries.filter((e) => e.action === 'auth.login-failed').length, 5);
    // The operator finds the study's key from its UID on the node (radiolens audit study-key).
    const db = openNodeDatabase(join(dir, 'data'));
    let key: string;
    try {
      key = new StudyKeys(db).of(studyUid);
    } finally {
      db.close();
    }
    assert.match(key, /^[A-Za-z0-9_-]{22}$/);
    const view = entries.find(
      (e) =>
        e.action === 'http.retrieveStudyMetadata' &&
        e.actor === 'radio' &&
        e.subject === `study:${key}`,
    );
    assert.ok(view, 'the read of the stored study is recorded under its key');
    assert.equal(view?.details['address'], '127.0.0.1');
    const query = [...entries].reverse().find((e) => e.action === 'http.searchForStudies');
    assert.equal(query?.actor, 'machine:token');
    assert.deepEqual(query?.details['queryKeys'], ['PatientName']);
    assert.ok(!text.includes(studyUid), 'no Study Instance UID in the audit log');
    assert.ok(!text.includes('DOE'), 'no query value in the audit log');
    assert.ok(!text.includes(PASSWORD) && !text.includes('wrong password'), 'no password');
    const answer = entries.find((e) => e.action === 'feedback.answer');
    assert.equal(answer?.actor, 'radio');
    assert.equal(answer?.subject, `study:${feedbackAnswer().studyKey}`);
    assert.equal(answer?.details['answer'], 'agree');
    assert.deepEqual(await verifyAuditLog(path), { ok: true, entries: entries.length });
    // The auditor reads the same records over HTTP, with the chain's verdict.
    const auditor = sessions.get('auditor')!;
    const read_ = await httpCall(`${base}/api/audit?limit=5`, {
      headers: { cookie: auditor.cookie },
    });
    const served = JSON.parse(read_.body) as {
      verification: { ok: boolean };
      entries: AuditEntry[];
    };
    assert.equal(served.verification.ok, true);
    assert.equal(served.entries.length, 5);
    assert.equal(served.entries.at(-1)?.action, 'http.readAudit');
  });
});

describe('the HTTP port over TLS (--tls-cert, --tls-key)', () => {
  it('serves HTTPS with a Secure __Host- cookie and HSTS; a missing key file is named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-tls-'));
    const tlsDir = join(repoRoot, 'test', 'fixtures', 'tls');
    const data = join(dir, 'data');
    try {
      await mkdir(data, { mode: 0o700 });
      const db = openNodeDatabase(data);
      await new UserStore(db).add('radio', 'radiologist', PASSWORD);
      db.close();
      const flags = {
        data,
        dicomPort: 0,
        httpPort: 0,
        host: '127.0.0.1',
        watch: false as const,
        workers: 0,
      };
      assert.throws(
        () =>
          loadNodeConfig(
            { ...flags, tlsCert: join(tlsDir, 'localhost.crt') },
            join(repoRoot, 'models'),
          ),
        /--tls-cert and --tls-key go together/,
      );
      const missing = loadNodeConfig(
        { ...flags, tlsCert: join(tlsDir, 'localhost.crt'), tlsKey: join(dir, 'none.key') },
        join(repoRoot, 'models'),
      );
      await assert.rejects(
        RadiolensNode.start(missing, { logger: createLogger(() => undefined) }),
        /cannot read the TLS key .*none\.key/,
      );
      const config = loadNodeConfig(
        { ...flags, tlsCert: join(tlsDir, 'localhost.crt'), tlsKey: join(tlsDir, 'localhost.key') },
        join(repoRoot, 'models'),
      );
      const node = await RadiolensNode.start(config, { logger: createLogger(() => undefined) });
      try {
        const ca = await readFile(join(tlsDir, 'localhost.crt'));
        const base = `https://127.0.0.1:${node.listeners.http.port}`;
        const answer = await httpCall(`${base}/api/login`, {
          method: 'POST',
          ca,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: 'radio', password: PASSWORD }),
        });
        assert.equal(answer.status, 200, answer.body);
        assert.match(
          String(answer.headers['set-cookie']),
          /^__Host-radiolens_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
        );
        assert.match(String(answer.headers['strict-transport-security']), /max-age=31536000/);
        const studies = await httpCall(`${base}/dicomweb/studies`, {
          ca,
          headers: { cookie: cookieOf(answer) },
        });
        assert.equal(studies.status, 200);
        // Plain HTTP to the TLS port gets no answer from the node's routes.
        await assert.rejects(httpCall(`http://127.0.0.1:${node.listeners.http.port}/health`));
      } finally {
        await node.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
