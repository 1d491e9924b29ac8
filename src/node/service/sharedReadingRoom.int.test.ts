/**
 * Issue #17 item 1 (ADR 0188): two ingest nodes on one PostgreSQL database behind a load
 * balancer are one reading room. A user added with `radiolens users add --database` logs in
 * on either node; a session made on node A is honoured by node B and ended there for both; an
 * answer given on A is listed on B and exported by `feedback export --database`; both nodes'
 * audit records (and the command line's) form one chain that `audit verify --database` finds
 * intact, and name a study by the same key. Nothing of it is left in either data directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { OwnPostgres } from '../../../test/support/ownPostgres.js';
import { freeLoopbackPort } from '../../../test/support/orthanc.js';
import { waitFor } from '../../../test/support/node.js';
import { startLoopbackNode, type LoopbackNode } from '../../../test/support/loopbackNode.js';
import { cookieOf, httpCall } from '../../../test/support/httpClient.js';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { runCli } from '../../../test/support/index.js';
import { addUser, disableUser } from '../../cli/commands/users.js';
import { verifyAudit } from '../../cli/commands/audit.js';
import { runFeedbackExport } from '../../cli/commands/feedback.js';
import { PgAuditChain } from '../postgres/index.js';
import { auditLogPath } from '../access/index.js';

const PASSWORD = 'a passphrase long enough';
const STUDY_UID = '1.2.826.0.1.3680043.10.99.1';

async function login(
  base: string,
  user: string,
  password = PASSWORD,
): Promise<{ status: number; cookie: string; csrf: string; retryAfter?: string }> {
  const answer = await httpCall(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  if (answer.status !== 200) {
    const retryAfter = answer.headers['retry-after'];
    return {
      status: answer.status,
      cookie: '',
      csrf: '',
      ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
    };
  }
  return {
    status: 200,
    cookie: cookieOf(answer),
    csrf: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken,
  };
}

test('two ingest nodes on one database: one login, one session, one set of answers, one audit chain', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-shared-room-'));
    const nodes: LoopbackNode[] = [];
    try {
      await addUser({ database: url, role: 'radiologist' }, 'rita', PASSWORD);
      await addUser({ database: url, role: 'data-scientist' }, 'dana', PASSWORD);
      await addUser({ database: url, role: 'auditor' }, 'otto', PASSWORD);
      const start = async (name: string): Promise<LoopbackNode> => {
        const data = join(dir, name);
        await mkdir(join(dir, `${name}-config`), { recursive: true });
        const node = await startLoopbackNode(
          join(dir, `${name}-config`),
          data,
          {
            http: { allowAddresses: [] },
            database: url,
            nodeId: name,
            aeTitle: name.toUpperCase(),
          },
          0,
        );
        nodes.push(node);
        return node;
      };
      const a = await start('ingest-a');
      const b = await start('ingest-b');

      // A user the command line added logs in on either node.
      const onA = await login(a.base, 'rita');
      assert.equal(onA.status, 200);
      assert.equal((await login(b.base, 'rita')).status, 200);
      assert.equal((await login(b.base, 'mallory')).status, 401);

      // The session made on A is honoured by B (the load balancer sent the next request there).
      const session = await httpCall(`${b.base}/api/session`, { headers: { cookie: onA.cookie } });
      assert.equal(session.status, 200, session.body);
      assert.equal((JSON.parse(session.body) as { user: string }).user, 'rita');

      // An answer given on A is listed on B.
      const answer = feedbackAnswer({ studyKey: 'shared-study-key-1' });
      const posted = await httpCall(`${a.base}/api/feedback`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          cookie: onA.cookie,
          'x-csrf-token': onA.csrf,
        },
        body: JSON.stringify(answer),
      });
      assert.equal(posted.status, 201, posted.body);
      const dana = await login(b.base, 'dana');
      const listed = await httpCall(`${b.base}/api/feedback?studyKey=shared-study-key-1`, {
        headers: { cookie: dana.cookie },
      });
      assert.equal(listed.status, 200, listed.body);
      const answers = (JSON.parse(listed.body) as { answers: { userId: string; answer: string }[] })
        .answers;
      assert.deepEqual(
        answers.map((x) => [x.userId, x.answer]),
        [['rita', 'agree']],
      );
      // …and exported from the shared database, wherever the command runs.
      const truth = join(dir, 'truth.csv');
      await writeFile(truth, `case,truth\n${answer.sourceSopInstanceUid},1\n`);
      const exported = await runFeedbackExport({
        database: url,
        data: join(dir, 'ingest-b'),
        format: 'mrmc',
        truth,
        out: join(dir, 'mrmc.csv'),
      });
      assert.ok(exported.rows > 0, JSON.stringify(exported));
      assert.match(exported.csv, /rita/);

      // A study read on A and on B is named by the same key in the one chain.
      for (const base of [a.base, b.base]) {
        await httpCall(`${base}/dicomweb/studies/${STUDY_UID}/metadata`, {
          headers: { cookie: onA.cookie },
        });
      }

      // Logging out on B ends the session on A too; disabling a user ends their logins on both.
      const out = await httpCall(`${b.base}/api/logout`, {
        method: 'POST',
        headers: { cookie: onA.cookie, 'x-csrf-token': onA.csrf },
      });
      assert.equal(out.status, 200, out.body);
      assert.equal(
        (await httpCall(`${a.base}/api/session`, { headers: { cookie: onA.cookie } })).status,
        401,
      );
      const again = await login(a.base, 'rita');
      assert.equal(await disableUser({ database: url }, 'rita'), true);
      assert.equal(
        (await httpCall(`${b.base}/api/session`, { headers: { cookie: again.cookie } })).status,
        401,
      );
      assert.equal((await login(b.base, 'rita')).status, 401);

      // One chain: both nodes' starts, logins, reads and the answer, and the command line's.
      const otto = await login(a.base, 'otto');
      const read = await httpCall(`${a.base}/api/audit?limit=5`, {
        headers: { cookie: otto.cookie },
      });
      assert.equal(read.status, 200, read.body);
      const shown = JSON.parse(read.body) as {
        verification: { ok: boolean };
        entries: { action: string }[];
      };
      assert.equal(shown.verification.ok, true);
      assert.equal(shown.entries.length, 5);
      assert.equal(shown.entries.at(-1)?.action, 'http.readAudit');
      const verified = await verifyAudit({ database: url });
      assert.equal(verified.ok, true, verified.text);
      const entries = await new PgAuditChain(pool, url).latest(1000);
      const subjects = (action: string): string[] =>
        entries.filter((e) => e.action === action).map((e) => e.subject);
      assert.deepEqual(subjects('node.start').sort(), ['node:INGEST-A', 'node:INGEST-B']);
      assert.deepEqual(subjects('user.add'), ['user:rita', 'user:dana', 'user:otto']);
      assert.deepEqual(subjects('user.disable'), ['user:rita']);
      assert.deepEqual(subjects('feedback.answer'), ['study:shared-study-key-1']);
      assert.deepEqual(subjects('feedback.export'), ['feedback:mrmc']);
      assert.equal(subjects('auth.login').length, 5);
      assert.deepEqual(subjects('auth.logout'), ['user:rita']);
      const reads = subjects('http.retrieveStudyMetadata');
      assert.equal(reads.length, 2, JSON.stringify(entries.map((e) => e.action)));
      assert.equal(reads[0], reads[1], 'both nodes name the study by the same key');
      assert.doesNotMatch(JSON.stringify(entries), new RegExp(STUDY_UID.replace(/\./g, '\\.')));
      // The command line gives the same key and the same verdict, and sees an edited row.
      const key = runCli(['audit', 'study-key', STUDY_UID, '--database', url]);
      assert.equal(key.status, 0, key.stderr);
      assert.equal(key.stdout.trim(), reads[0]);
      const intact = runCli(['audit', 'verify', '--database', url]);
      assert.equal(intact.status, 0, intact.stderr);
      assert.match(intact.stdout, /^intact: \d+ entries in postgresql:\/\/.*\(table audit_log\)/);
      await pool.query(`UPDATE audit_log SET actor = 'eve' WHERE seq = 2`);
      const broken = runCli(['audit', 'verify', '--database', url]);
      assert.equal(broken.status, 1, broken.stderr);
      assert.match(broken.stdout, /NOT INTACT: .* entry 2: entry 2 was edited/);
      // Nothing of the reading room's audit is kept per node.
      for (const name of ['ingest-a', 'ingest-b']) {
        assert.equal(existsSync(auditLogPath(join(dir, name))), false, name);
      }
    } finally {
      for (const node of nodes) await node.node.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('two ingest nodes on one database: failed logins on A count on B, a lock-out on A is honoured by B, guesses at once on both get 5 password checks in all (ADR 0194)', async () => {
  await withTestDatabase(async ({ url, pool }) => {
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-shared-throttle-'));
    const nodes: LoopbackNode[] = [];
    try {
      for (const name of ['rita', 'dana', 'otto']) {
        await addUser({ database: url, role: 'radiologist' }, name, PASSWORD);
      }
      const start = async (name: string): Promise<LoopbackNode> => {
        await mkdir(join(dir, `${name}-config`), { recursive: true });
        const node = await startLoopbackNode(
          join(dir, `${name}-config`),
          join(dir, name),
          { http: { allowAddresses: [] }, database: url, nodeId: name },
          0,
        );
        nodes.push(node);
        return node;
      };
      const a = await start('ingest-a');
      const b = await start('ingest-b');
      const WRONG = 'not the passphrase at all';

      // Three failures on A and two on B are rita's five: B then refuses even the right
      // passphrase, and so does A, with the same Retry-After rule.
      for (const base of [a.base, a.base, a.base, b.base, b.base]) {
        assert.equal((await login(base, 'rita', WRONG)).status, 401);
      }
      for (const base of [b.base, a.base]) {
        const refused = await login(base, 'rita');
        assert.equal(refused.status, 429, base);
        const seconds = Number(refused.retryAfter);
        assert.ok(seconds > 800 && seconds <= 900, `Retry-After ${refused.retryAfter}`);
      }

      // A lock-out earned on A alone is honoured by B.
      for (let i = 0; i < 5; i++) assert.equal((await login(a.base, 'dana', WRONG)).status, 401);
      assert.equal((await login(a.base, 'dana')).status, 429);
      assert.equal((await login(b.base, 'dana')).status, 429);

      // Twelve guesses at once, six on each node: five passwords checked in all, seven refused.
      const statuses = await Promise.all(
        [...Array<string>(6).fill(a.base), ...Array<string>(6).fill(b.base)].map(
          async (base) => (await login(base, 'otto', WRONG)).status,
        ),
      );
      assert.deepEqual(
        statuses.sort((x, y) => x - y),
        [...Array<number>(5).fill(401), ...Array<number>(7).fill(429)],
      );

      // Audited as on one node: each failure once, refusals once a minute per node and reason.
      const entries = await new PgAuditChain(pool, url).latest(1000);
      const count = (action: string, subject: string): number =>
        entries.filter((e) => e.action === action && e.subject === subject).length;
      for (const user of ['rita', 'dana', 'otto']) {
        assert.equal(count('auth.login-failed', `user:${user}`), 5, user);
      }
      assert.equal(count('auth.login-throttled', 'user:rita'), 2);
      const throttled = entries.find((e) => e.action === 'auth.login-throttled');
      assert.equal(throttled?.details['by'], 'user');
      assert.equal(count('auth.login', 'user:rita'), 0);
    } finally {
      for (const node of nodes) await node.node.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('the shared database away: login and session checks answer 503, not 500; back, the same session works', async () => {
  const server = await OwnPostgres.start(await freeLoopbackPort());
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-shared-room-down-'));
  let node: LoopbackNode | undefined;
  try {
    await server.createDatabase('radiolens');
    const url = server.url('radiolens');
    await addUser({ database: url, role: 'radiologist' }, 'rita', PASSWORD);
    node = await startLoopbackNode(
      dir,
      join(dir, 'data'),
      { http: { allowAddresses: [] }, database: url, nodeId: 'ingest-a' },
      0,
    );
    const base = node.base;
    const rita = await login(base, 'rita');
    assert.equal(rita.status, 200);
    await server.stop();
    assert.equal((await login(base, 'rita')).status, 503);
    const checked = await httpCall(`${base}/api/session`, { headers: { cookie: rita.cookie } });
    assert.equal(checked.status, 503, checked.body);
    await server.startAgain();
    const back = await waitFor(
      'the session honoured again',
      async () => {
        const answer = await httpCall(`${base}/api/session`, { headers: { cookie: rita.cookie } });
        return answer.status === 200 ? answer : undefined;
      },
      30_000,
      250,
    );
    assert.equal((JSON.parse(back.body) as { user: string }).user, 'rita');
  } finally {
    await node?.node.stop();
    await server.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});
