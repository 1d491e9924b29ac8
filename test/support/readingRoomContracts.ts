/**
 * The contract suites of the reading room's ports (ADR 0188) — users, sessions, answers and
 * the audit chain — run against every backend: the embedded SQLite stores (wrapped) in
 * src/node/service/readingRoomState.test.ts and the PostgreSQL ones in
 * src/node/postgres/readingRoom.int.test.ts. A backend that behaves differently from ADRs
 * 0171, 0174–0176 fails here, whichever it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditChain } from '../../src/foundation/audit/index.js';
import type { SessionPort, UserPort } from '../../src/node/access/index.js';
import type { FeedbackPort } from '../../src/node/feedback/index.js';
import { feedbackAnswer } from './feedback.js';

/** The cheapest scrypt the verifier accepts: the contract is about storage, not hashing. */
export const CHEAP_SCRYPT = { ln: 14, r: 8, p: 1 } as const;
const PASSWORD = 'a long enough passphrase';

export interface ReadingRoomPorts {
  readonly users: UserPort;
  readonly sessions: SessionPort;
  readonly feedback: FeedbackPort;
  readonly audit: AuditChain;
}

/**
 * Opens fresh, empty stores (users hashed with CHEAP_SCRYPT, sessions with `limits`), runs
 * `body`, cleans up.
 */
export type WithReadingRoom = (
  limits: { idleMs: number; absoluteMs: number },
  body: (ports: ReadingRoomPorts) => Promise<void>,
) => Promise<void>;

const LIMITS = { idleMs: 30 * 60_000, absoluteMs: 2 * 60 * 60_000 };

export function readingRoomContract(backend: string, withRoom: WithReadingRoom): void {
  void test(`${backend} users: add, find, list, authenticate; names are unique and never reused`, async () => {
    await withRoom(LIMITS, async ({ users }) => {
      const ada = await users.add('ada', 'radiologist', PASSWORD, new Date(1000));
      assert.equal(ada.name, 'ada');
      assert.equal(ada.role, 'radiologist');
      assert.equal(ada.createdAt, new Date(1000).toISOString());
      assert.equal(ada.disabledAt, null);
      await users.add('bob', 'auditor', PASSWORD);
      await assert.rejects(users.add('ada', 'auditor', PASSWORD), /exists already/);
      await assert.rejects(users.add('Eve!', 'auditor', PASSWORD), /E_BAD_INPUT|user name/);
      await assert.rejects(users.add('eve', 'janitor', PASSWORD), /role "janitor"/);
      assert.deepEqual(
        (await users.list()).map((u) => u.name),
        ['ada', 'bob'],
      );
      assert.deepEqual(await users.find('ada'), ada);
      assert.equal(await users.find('nobody'), undefined);
      assert.equal((await users.authenticate('ada', PASSWORD))?.id, ada.id);
      assert.equal(await users.authenticate('ada', 'a wrong passphrase!'), undefined);
      assert.equal(await users.authenticate('nobody', PASSWORD), undefined);
    });
  });

  void test(`${backend} users: disabling ends the user's sessions and logins; twice is false`, async () => {
    await withRoom(LIMITS, async ({ users, sessions }) => {
      const ada = await users.add('ada', 'radiologist', PASSWORD);
      const session = await sessions.create(ada.id, 1000);
      assert.ok(await sessions.touch(session.id, 2000));
      assert.equal(await users.disable('ada', new Date(3000)), true);
      assert.equal(await users.disable('ada'), false);
      await assert.rejects(users.disable('nobody'), /no user "nobody"/);
      assert.equal((await users.find('ada'))?.disabledAt, new Date(3000).toISOString());
      assert.equal(await sessions.touch(session.id, 4000), undefined);
      assert.equal(await sessions.isLive(session.id, 4000), false);
      assert.equal(await users.authenticate('ada', PASSWORD), undefined);
    });
  });

  void test(`${backend} sessions: create, touch slides the idle expiry (written once a minute), end`, async () => {
    await withRoom(LIMITS, async ({ users, sessions }) => {
      const ada = await users.add('ada', 'radiologist', PASSWORD);
      const t0 = 1_000_000;
      const made = await sessions.create(ada.id, t0);
      assert.match(made.id, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(made.userName, 'ada');
      assert.equal(made.role, 'radiologist');
      assert.equal(made.expiresAt, t0 + LIMITS.idleMs);
      const seen = await sessions.touch(made.id, t0 + 30_000);
      assert.equal(seen?.csrfToken, made.csrfToken);
      assert.equal(seen?.expiresAt, t0 + LIMITS.idleMs, 'not slid within the first minute');
      const slid = await sessions.touch(made.id, t0 + 20 * 60_000);
      assert.equal(slid?.expiresAt, t0 + 20 * 60_000 + LIMITS.idleMs);
      // Idle for longer than idleMs since the last write: over.
      assert.equal(await sessions.isLive(made.id, t0 + 20 * 60_000 + LIMITS.idleMs + 1), false);
      assert.equal(await sessions.isLive(made.id, t0 + 21 * 60_000), true);
      await sessions.end(made.id);
      assert.equal(await sessions.touch(made.id, t0 + 21 * 60_000), undefined);
      assert.equal(await sessions.touch('not a session id', t0), undefined);
      assert.equal(await sessions.isLive('x'.repeat(43), t0), false);
    });
  });

  void test(`${backend} sessions: the absolute limit ends a session however often it is used`, async () => {
    await withRoom(LIMITS, async ({ users, sessions }) => {
      const ada = await users.add('ada', 'radiologist', PASSWORD);
      const made = await sessions.create(ada.id, 0);
      let at = 0;
      for (; at < LIMITS.absoluteMs; at += 20 * 60_000) {
        assert.ok(await sessions.touch(made.id, at), `live at ${at / 60_000} min`);
      }
      assert.equal(await sessions.touch(made.id, LIMITS.absoluteMs), undefined);
    });
  });

  void test(`${backend} answers: stored with who and when, listed in order, filtered, answered pairs`, async () => {
    await withRoom(LIMITS, async ({ feedback }) => {
      const first = await feedback.record(feedbackAnswer(), 'ada', 5000);
      assert.equal(first.userId, 'ada');
      assert.equal(first.answeredAt, 5000);
      assert.equal(first.probability, 0.83);
      await feedback.record(
        feedbackAnswer({
          studyKey: 'study-key-0002',
          answer: 'disagree',
          correctLabel: 'normal',
          comment: 'a "quoted", comma',
        }),
        'bob',
        6000,
      );
      const { probability: _dropped, ...withoutProbability } = feedbackAnswer({
        model: { id: 'cxr-other', version: '2.0.0' },
      });
      await feedback.record(withoutProbability, 'ada', 7000);
      const all = await feedback.list();
      assert.deepEqual(
        all.map((a) => [a.userId, a.studyKey, a.answer, a.model.id]),
        [
          ['ada', 'study-key-0001', 'agree', 'cxr-pneumonia'],
          ['bob', 'study-key-0002', 'disagree', 'cxr-pneumonia'],
          ['ada', 'study-key-0001', 'agree', 'cxr-other'],
        ],
      );
      assert.deepEqual(all[0], first);
      assert.equal(all[1]?.comment, 'a "quoted", comma');
      assert.equal(all[1]?.correctLabel, 'normal');
      assert.equal('probability' in all[2]!, false, 'a missing probability stays missing');
      assert.equal((await feedback.list({ studyKey: 'study-key-0002' })).length, 1);
      assert.equal(
        (await feedback.list({ modelId: 'cxr-other', modelVersion: '2.0.0' })).length,
        1,
      );
      assert.equal(
        (await feedback.list({ modelId: 'cxr-other', modelVersion: '1.0.0' })).length,
        0,
      );
      assert.equal((await feedback.list({ labelId: 'pneumonia' })).length, 3);
      assert.deepEqual([...(await feedback.answered())].sort(), [
        'study-key-0001|cxr-other',
        'study-key-0001|cxr-pneumonia',
        'study-key-0002|cxr-pneumonia',
      ]);
    });
  });

  void test(`${backend} audit chain: appends chain by hash, verify passes, latest is oldest first`, async () => {
    await withRoom(LIMITS, async ({ audit }) => {
      assert.deepEqual(await audit.verify(), { ok: true, entries: 0 });
      const appended = [];
      for (let i = 1; i <= 3; i++) {
        appended.push(
          await audit.append({
            actor: 'ada',
            action: 'http.wado',
            subject: `study:key${i}`,
            details: {
              address: '127.0.0.1',
              queryKeys: ['b', 'a'],
              nested: { z: 1, a: [1.5, null] },
            },
          }),
        );
      }
      assert.deepEqual(
        appended.map((e) => e.seq),
        [1, 2, 3],
      );
      assert.equal(appended[0]?.prev, '0'.repeat(64));
      assert.equal(appended[1]?.prev, appended[0]?.hash);
      assert.equal(appended[2]?.prev, appended[1]?.hash);
      assert.deepEqual(await audit.verify(), { ok: true, entries: 3 });
      assert.deepEqual(await audit.latest(2), appended.slice(1));
      assert.deepEqual(await audit.latest(100), appended);
      assert.ok(audit.location.length > 0);
    });
  });
}
