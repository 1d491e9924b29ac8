import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openNodeDatabase, type NodeDatabase } from '../store/index.js';
import {
  LoginThrottle,
  SessionStore,
  UserStore,
  csrfTokenMatches,
  decideAccess,
  hashPassword,
  securityHeaders,
  verifyPassword,
  type Principal,
  type RouteAccess,
} from './index.js';

async function withDb(run: (db: NodeDatabase) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-access-'));
  const db = openNodeDatabase(dir);
  try {
    await run(db);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('password hashing (scrypt)', () => {
  it('stores parameters, a per-user salt and the key; verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    assert.match(a, /^\$scrypt\$ln=15,r=8,p=3\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    assert.notEqual(a, b, 'a fresh salt per hash');
    assert.equal(await verifyPassword('correct horse battery', a), true);
    assert.equal(await verifyPassword('correct horse batterY', a), false);
    assert.equal(await verifyPassword('', a), false);
    // An edited key, a weakened cost or something that is not our hash never matches.
    const key = a.slice(a.lastIndexOf('$') + 1);
    const edited = a.replace(key, `${key[0] === 'A' ? 'B' : 'A'}${key.slice(1)}`);
    assert.equal(await verifyPassword('correct horse battery', edited), false);
    assert.equal(await verifyPassword('correct horse battery', a.replace('ln=15', 'ln=4')), false);
    assert.equal(await verifyPassword('correct horse battery', 'plain text'), false);
  });

  it('an unknown user costs a full scrypt too, and never matches', async () => {
    const stored = await hashPassword('correct horse battery');
    await verifyPassword('warm-up', undefined);
    const time = async (stored_: string | undefined): Promise<number> => {
      const start = process.hrtime.bigint();
      assert.equal(await verifyPassword('correct horse battery', stored_), stored_ !== undefined);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const known = await time(stored);
    const unknown = await time(undefined);
    // Same parameters, same work: within a factor of 3 even on a busy machine.
    assert.ok(unknown > known / 3, `unknown ${unknown} ms vs known ${known} ms`);
  });

  it('refuses passwords shorter than 12 characters', async () => {
    await assert.rejects(hashPassword('short'), /at least 12 characters/);
  });
});

describe('users', () => {
  it('adds, authenticates, lists and disables; a disabled user cannot log in', async () => {
    await withDb(async (db) => {
      const users = new UserStore(db);
      await users.add('ada', 'radiologist', 'a long enough passphrase');
      await assert.rejects(
        users.add('ada', 'auditor', 'a long enough passphrase'),
        /exists already/,
      );
      await assert.rejects(
        users.add('Bad Name', 'auditor', 'a long enough passphrase'),
        /user name/,
      );
      await assert.rejects(users.add('bob', 'root', 'a long enough passphrase'), /role "root"/);
      assert.equal(
        (await users.authenticate('ada', 'a long enough passphrase'))?.role,
        'radiologist',
      );
      assert.equal(await users.authenticate('ada', 'a wrong passphrase!'), undefined);
      assert.equal(await users.authenticate('nobody', 'a long enough passphrase'), undefined);
      assert.equal(users.disable('ada'), true);
      assert.equal(users.disable('ada'), false);
      assert.equal(await users.authenticate('ada', 'a long enough passphrase'), undefined);
      assert.deepEqual(
        users.list().map((u) => [u.name, u.role, u.disabledAt !== null]),
        [['ada', 'radiologist', true]],
      );
      // Nothing but the hash is kept.
      const row = db.prepare('SELECT password_hash FROM users').get() as { password_hash: string };
      assert.ok(!row.password_hash.includes('passphrase'));
    });
  });
});

describe('sessions', () => {
  it('expire when idle, after the absolute limit, at logout and when the user is disabled', async () => {
    await withDb(async (db) => {
      const users = new UserStore(db);
      const ada = await users.add('ada', 'radiologist', 'a long enough passphrase');
      const sessions = new SessionStore(db, { idleMs: 30 * 60_000, absoluteMs: 2 * 60 * 60_000 });
      const t0 = Date.UTC(2026, 0, 1);
      const s = sessions.create(ada.id, t0);
      assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(s.id, s.csrfToken);
      // Only the id's sha256 is stored.
      const stored = db.prepare('SELECT id_sha256 FROM sessions').get() as { id_sha256: string };
      assert.notEqual(stored.id_sha256, s.id);
      assert.equal(sessions.touch(s.id, t0 + 10 * 60_000)?.userName, 'ada');
      // Used every 20 minutes it lives on (sliding), but never past the absolute limit.
      for (let t = t0 + 30 * 60_000; t < t0 + 2 * 60 * 60_000; t += 20 * 60_000) {
        assert.ok(sessions.touch(s.id, t), `alive at ${(t - t0) / 60_000} min`);
      }
      assert.equal(sessions.touch(s.id, t0 + 2 * 60 * 60_000), undefined, 'absolute limit');
      const idle = sessions.create(ada.id, t0);
      assert.equal(sessions.touch(idle.id, t0 + 31 * 60_000), undefined, 'idle limit');
      const out = sessions.create(ada.id, t0);
      sessions.end(out.id);
      assert.equal(sessions.touch(out.id, t0 + 1), undefined, 'logout');
      const live = sessions.create(ada.id, t0);
      users.disable('ada');
      assert.equal(sessions.touch(live.id, t0 + 1), undefined, 'disabled user');
      assert.equal(sessions.touch('not-a-session-id', t0), undefined);
    });
  });

  it('isLive answers without sliding the expiry (a stream does not keep its session alive)', async () => {
    await withDb(async (db) => {
      const users = new UserStore(db);
      const ada = await users.add('ada', 'radiologist', 'a long enough passphrase');
      const sessions = new SessionStore(db, { idleMs: 30 * 60_000, absoluteMs: 2 * 60 * 60_000 });
      const t0 = Date.UTC(2026, 0, 1);
      const s = sessions.create(ada.id, t0);
      for (let t = t0; t < t0 + 30 * 60_000; t += 5 * 60_000) assert.ok(sessions.isLive(s.id, t));
      assert.equal(sessions.isLive(s.id, t0 + 30 * 60_000), false, 'idle: asking did not slide it');
      const out = sessions.create(ada.id, t0);
      assert.ok(sessions.isLive(out.id, t0 + 1));
      sessions.end(out.id);
      assert.equal(sessions.isLive(out.id, t0 + 1), false, 'logout');
      const live = sessions.create(ada.id, t0);
      users.disable('ada');
      assert.equal(sessions.isLive(live.id, t0 + 1), false, 'disabled user');
      assert.equal(sessions.isLive('not-a-session-id', t0), false);
    });
  });
});

describe('access decisions and CSRF', () => {
  const session = {
    userId: 1,
    userName: 'ada',
    role: 'radiologist' as const,
    csrfToken: 'c'.repeat(43),
    expiresAt: 0,
  };
  const user: Principal = { kind: 'user', session, sessionId: 's' };
  const readers: RouteAccess = { roles: ['radiologist'], machines: 'token' };
  const stow: RouteAccess = { roles: ['administrator'], machines: 'token-or-address' };
  const get = { method: 'GET', headers: {} };
  const post = (csrf?: string) => ({
    method: 'POST',
    headers: csrf === undefined ? {} : { 'x-csrf-token': csrf },
  });

  it('401 for nobody, 403 for the wrong role, the address only where the route takes it', () => {
    assert.equal(decideAccess(readers, undefined, get).allowed, false);
    assert.deepEqual(
      [decideAccess(readers, undefined, get)].map((d) => (d.allowed ? 0 : d.status)),
      [401],
    );
    const auditor: Principal = { ...user, session: { ...session, role: 'auditor' } };
    const refused = decideAccess(readers, auditor, get);
    assert.ok(!refused.allowed && refused.status === 403 && refused.code === 'forbidden');
    assert.equal(decideAccess(readers, user, get).allowed, true);
    const address: Principal = { kind: 'machine', by: 'address' };
    const token: Principal = { kind: 'machine', by: 'token' };
    const unauth = decideAccess(readers, address, get);
    assert.ok(!unauth.allowed && unauth.status === 401);
    assert.equal(decideAccess(stow, address, post()).allowed, true);
    assert.equal(decideAccess(readers, token, get).allowed, true);
    const people: RouteAccess = { roles: ['radiologist'], machines: 'none' };
    const tokenRefused = decideAccess(people, token, get);
    assert.ok(!tokenRefused.allowed && tokenRefused.status === 403);
  });

  it('a cookie session changes state only with its CSRF token; the bearer token needs none', () => {
    const writers: RouteAccess = { roles: ['radiologist'], machines: 'token' };
    const missing = decideAccess(writers, user, post());
    assert.ok(!missing.allowed && missing.status === 403 && missing.code === 'csrf');
    const wrong = decideAccess(writers, user, post('d'.repeat(43)));
    assert.ok(!wrong.allowed && wrong.code === 'csrf');
    assert.equal(decideAccess(writers, user, post(session.csrfToken)).allowed, true);
    assert.equal(decideAccess(writers, { kind: 'machine', by: 'token' }, post()).allowed, true);
    assert.equal(csrfTokenMatches(session, session.csrfToken.slice(1)), false);
    assert.equal(csrfTokenMatches(session, [session.csrfToken]), false);
  });

  it('security headers forbid framing, sniffing, caching and scripts; HSTS only over TLS', () => {
    const plain = securityHeaders(false);
    assert.match(plain['content-security-policy']!, /default-src 'none'/);
    assert.equal(plain['x-content-type-options'], 'nosniff');
    assert.equal(plain['x-frame-options'], 'DENY');
    assert.equal(plain['cache-control'], 'no-store');
    assert.equal(plain['strict-transport-security'], undefined);
    assert.match(securityHeaders(true)['strict-transport-security']!, /max-age=\d+/);
  });
});

describe('login rate limiting', () => {
  it('refuses a user after 5 failures and an address after 20, until the window passes', () => {
    const throttle = new LoginThrottle({ windowMs: 15 * 60_000, perAddress: 20, perUser: 5 });
    const t0 = 1_000_000;
    for (let i = 0; i < 5; i++) {
      assert.equal(throttle.check('10.0.0.1', 'ada', t0 + i).allowed, true);
      throttle.failed('10.0.0.1', 'ada', t0 + i);
    }
    const user = throttle.check('10.0.0.9', 'ada', t0 + 10);
    assert.ok(!user.allowed && user.by === 'user' && user.retryAfterSeconds === 900);
    // Another user from the same address is still let in, up to the address's limit.
    for (let i = 0; i < 15; i++) throttle.failed('10.0.0.1', `user${i}`, t0 + 20);
    const address = throttle.check('10.0.0.1', 'bob', t0 + 30);
    assert.ok(!address.allowed && address.by === 'address');
    assert.equal(throttle.check('10.0.0.2', 'bob', t0 + 30).allowed, true);
    // The window slides past the failures.
    assert.equal(throttle.check('10.0.0.1', 'ada', t0 + 15 * 60_000 + 25).allowed, true);
  });

  it('a good login clears the user, not the address', () => {
    const throttle = new LoginThrottle({ windowMs: 60_000, perAddress: 3, perUser: 2 });
    throttle.failed('10.0.0.1', 'ada', 0);
    throttle.failed('10.0.0.1', 'ada', 1);
    assert.equal(throttle.check('10.0.0.1', 'ada', 2).allowed, false);
    throttle.succeeded('ada');
    assert.equal(throttle.check('10.0.0.2', 'ada', 3).allowed, true);
    throttle.failed('10.0.0.1', 'bob', 4);
    assert.equal(throttle.check('10.0.0.1', 'carol', 5).allowed, false);
  });
});
