import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openNodeDatabase } from '../store/index.js';
import {
  ANONYMOUS_LOCAL_USER,
  FeedbackStore,
  createFeedbackRoutes,
  feedbackValidateCsv,
  sqliteFeedbackPort,
  type FeedbackRecord,
} from './index.js';

async function withApi(
  run: (base: string, store: FeedbackStore, recorded: FeedbackRecord[]) => Promise<void>,
  identify?: () => string,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-feedback-'));
  const db = openNodeDatabase(dir);
  const store = new FeedbackStore(db);
  const recorded: FeedbackRecord[] = [];
  // The routes alone, on a plain listener: who may reach them is the node listener's
  // business and is tested there (service/http.test.ts, service/access.test.ts).
  const routes = createFeedbackRoutes(sqliteFeedbackPort(store), {
    onRecorded: (r) => {
      recorded.push(r);
    },
    ...(identify === undefined ? {} : { identify }),
  });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://node').pathname.replace(/^\/api/, '');
    void routes.handle(req, res, path).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    await run(`http://127.0.0.1:${port}/api/feedback`, store, recorded);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    db.close();
  }
  return dir;
}

const post = (url: string, body: unknown, type = 'application/json'): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /api/feedback', () => {
  it('stores an answer durably with the user and time, and lists it', async () => {
    const before = Date.now();
    const dir = await withApi(async (url, _store, recorded) => {
      const response = await post(
        url,
        feedbackAnswer({ comment: 'consolidation right lower lobe' }),
      );
      assert.equal(response.status, 201);
      const stored = (await response.json()) as FeedbackRecord;
      assert.equal(stored.userId, ANONYMOUS_LOCAL_USER);
      assert.ok(stored.answeredAt >= before);
      assert.equal(stored.comment, 'consolidation right lower lobe');
      assert.equal(recorded.length, 1);
      const disagree = await post(
        url,
        feedbackAnswer({ answer: 'disagree', correctLabel: 'none', studyKey: 'study-key-0002' }),
      );
      assert.equal(disagree.status, 201);
      const listed = (await (await fetch(`${url}?studyKey=study-key-0002`)).json()) as {
        answers: FeedbackRecord[];
      };
      assert.equal(listed.answers.length, 1);
      assert.equal(listed.answers[0]!.correctLabel, 'none');
    });
    // Durable: a new connection to the same file sees both answers.
    const db = openNodeDatabase(dir);
    try {
      const answers = new FeedbackStore(db).list();
      assert.deepEqual(
        answers.map((a) => [a.answer, a.timeToAnswerMs, a.finding.labelId]),
        [
          ['agree', 4200, 'pneumonia'],
          ['disagree', 4200, 'pneumonia'],
        ],
      );
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an invalid answer with 400 naming the field, and stores nothing', async () => {
    const dir = await withApi(async (url, store) => {
      const cases: [unknown, string][] = [
        [feedbackAnswer({ answer: 'disagree' }), 'correctLabel'],
        [feedbackAnswer({ correctLabel: 'none' }), 'correctLabel'],
        [feedbackAnswer({ studyKey: 'Smith^John' }), 'studyKey'],
        [feedbackAnswer({ probability: 1.5 }), 'probability'],
        [feedbackAnswer({ timeToAnswerMs: -1 }), 'timeToAnswerMs'],
        [{ ...feedbackAnswer(), patientName: 'Smith^John' }, ''],
        [{ ...feedbackAnswer(), answer: 'maybe' }, 'answer'],
      ];
      for (const [body, path] of cases) {
        const response = await post(url, body);
        assert.equal(response.status, 400, JSON.stringify(body));
        const problem = (await response.json()) as { issues: { path: string }[] };
        assert.ok(
          problem.issues.some((i) => i.path === path),
          `${path}: ${JSON.stringify(problem)}`,
        );
      }
      assert.equal((await post(url, '{not json')).status, 400);
      assert.equal((await post(url, feedbackAnswer(), 'text/plain')).status, 415);
      assert.equal((await post(url, 'x'.repeat(70_000))).status, 413);
      assert.equal((await fetch(url, { method: 'DELETE' })).status, 405);
      assert.equal(store.list().length, 0);
    });
    await rm(dir, { recursive: true, force: true });
  });

  it('records the identity the listener gives', async () => {
    const dir = await withApi(
      async (url) => {
        const stored = (await (await post(url, feedbackAnswer())).json()) as FeedbackRecord;
        assert.equal(stored.userId, 'token:reader-1');
      },
      () => 'token:reader-1',
    );
    await rm(dir, { recursive: true, force: true });
  });
});

describe('feedbackValidateCsv', () => {
  const record = (id: number, userId: string, overrides: Parameters<typeof feedbackAnswer>[0]) => ({
    ...feedbackAnswer(overrides),
    id,
    userId,
    answeredAt: 1000 + id,
  });

  it("takes each reader's latest answer, turns disagreements over and leaves ties out", () => {
    const answers = [
      record(1, 'a', { sourceSopInstanceUid: '1.1', answer: 'disagree', correctLabel: 'none' }),
      record(2, 'a', { sourceSopInstanceUid: '1.1' }), // changed mind: agree → 1
      record(3, 'a', { sourceSopInstanceUid: '1.2', aiCall: 'negative' }), // agree → 0
      record(4, 'a', { sourceSopInstanceUid: '1.3', answer: 'uncertain' }),
      record(5, 'a', { sourceSopInstanceUid: '1.4' }),
      record(6, 'b', { sourceSopInstanceUid: '1.4', answer: 'disagree', correctLabel: 'none' }),
      record(7, 'a', {
        sourceSopInstanceUid: '1.5',
        aiCall: 'negative',
        answer: 'disagree',
        correctLabel: 'pneumonia',
      }),
    ];
    const result = feedbackValidateCsv(answers, (sop) =>
      sop === '1.5' ? undefined : `objects/${sop}.dcm`,
    );
    assert.equal(result.csv, 'image,pneumonia\r\nobjects/1.1.dcm,1\r\nobjects/1.2.dcm,0\r\n');
    assert.deepEqual(result.skipped, [
      { reason: 'uncertain answers give no truth', count: 1 },
      { reason: 'images without an agreed answer for every label', count: 1 },
      { reason: 'images the node no longer holds', count: 1 },
    ]);
  });
});
