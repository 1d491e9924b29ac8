/**
 * One contract suite for the job queue port and one for the outbox port (ADR 0180), run
 * against every backend: the embedded SQLite queue and outbox (thin async wrappers) in
 * src/node/queue/jobQueuePort.test.ts and src/node/delivery/outboxPort.test.ts, and the
 * PostgreSQL ones in src/node/postgres/*.int.test.ts. A backend that behaves differently from
 * ADR 0093 / 0101 fails here, whichever it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobQueueOptions, JobQueuePort } from '../../src/node/queue/index.js';
import { jobKey } from '../../src/node/queue/index.js';
import { destinationLabel } from '../../src/node/delivery/index.js';
import type {
  Destination,
  OutboxItem,
  OutboxOptions,
  OutboxPort,
} from '../../src/node/delivery/index.js';

/** Opens a fresh, empty queue with `options`, runs `body`, cleans up. */
export type WithJobQueue = (
  options: JobQueueOptions,
  body: (queue: JobQueuePort) => Promise<void>,
) => Promise<void>;

/** Opens a fresh, empty outbox with `options`, runs `body`, cleans up. */
export type WithOutbox = (
  options: OutboxOptions,
  body: (outbox: OutboxPort) => Promise<void>,
) => Promise<void>;

const STUDY = '1.2.3.4';
const KEY = jobKey(STUDY, 'cxr-pneumonia', '1.0.0');

export function jobQueueContract(backend: string, withQueue: WithJobQueue): void {
  void test(`${backend} job queue: enqueue is idempotent by key`, async () => {
    await withQueue({}, async (queue) => {
      const first = await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });
      const second = await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'other@2' });
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.job.id, first.job.id);
      assert.equal(second.job.model, 'm@1', 'the first enqueue wins');
      assert.deepEqual(await queue.counts(), { queued: 1, running: 0, done: 0, failed: 0 });
    });
  });

  void test(`${backend} job queue: claim, heartbeat, complete once; nothing left to claim`, async () => {
    let now = 1000;
    await withQueue({ leaseMs: 100, now: () => now }, async (queue) => {
      await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1', payload: { s: 2 } });
      const claimed = await queue.claim('w1');
      assert.ok(claimed);
      assert.equal(claimed.job.state, 'running');
      assert.equal(claimed.job.attempts, 1);
      assert.equal(claimed.job.workerId, 'w1');
      assert.equal(claimed.job.leaseExpiresAt, 1100);
      assert.deepEqual(claimed.job.payload, { s: 2 });
      assert.equal(await queue.claim('w2'), undefined);
      now = 1090;
      assert.equal(await queue.heartbeat(claimed), true);
      now = 1150; // past the first lease, within the renewed one
      assert.equal(await queue.claim('w2'), undefined);
      assert.equal(await queue.complete(claimed, { srSeries: '1.2.9' }), true);
      assert.equal(await queue.complete(claimed), false, 'completing twice is refused');
      assert.equal(await queue.heartbeat(claimed), false);
      const done = await queue.get(KEY);
      assert.equal(done?.state, 'done');
      assert.equal(done?.completedAt, 1150);
      assert.deepEqual(done?.result, { srSeries: '1.2.9' });
      now = 10_000;
      assert.equal(await queue.claim('w2'), undefined);
      assert.deepEqual(await queue.counts(), { queued: 0, running: 0, done: 1, failed: 0 });
    });
  });

  void test(`${backend} job queue: the oldest ready job is claimed first`, async () => {
    let now = 0;
    await withQueue({ now: () => now }, async (queue) => {
      for (const n of [1, 2, 3]) {
        now = n;
        await queue.enqueue({ key: `k${n}`, studyInstanceUid: STUDY, model: 'm@1' });
      }
      const order: string[] = [];
      for (;;) {
        const claimed = await queue.claim('w');
        if (claimed === undefined) break;
        order.push(claimed.job.key);
      }
      assert.deepEqual(order, ['k1', 'k2', 'k3']);
    });
  });

  void test(`${backend} job queue: fail backs off exponentially and gives up after maxAttempts`, async () => {
    let now = 0;
    await withQueue({ backoffBaseMs: 100, now: () => now }, async (queue) => {
      await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1', maxAttempts: 3 });
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const claimed = await queue.claim('w');
        assert.ok(claimed, `attempt ${attempt} claimable at ${now}`);
        const state = await queue.fail(claimed, `boom ${attempt}`);
        const job = await queue.get(KEY);
        assert.ok(job);
        if (attempt < 3) {
          assert.equal(state, 'queued');
          delays.push(job.availableAt - now);
          assert.equal(await queue.claim('w'), undefined, 'not claimable during the backoff');
          now = job.availableAt;
        } else {
          assert.equal(state, 'failed');
          assert.equal(job.lastError, 'boom 3');
          assert.equal(job.attempts, 3);
        }
      }
      assert.deepEqual(delays, [100, 200]);
      assert.equal(await queue.claim('w'), undefined);
    });
  });

  void test(`${backend} job queue: an uncounted failure keeps the attempts and waits the longest backoff; a final one fails at once`, async () => {
    let now = 0;
    await withQueue({ backoffBaseMs: 100, now: () => now }, async (queue) => {
      await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1', maxAttempts: 3 });
      // The shared store is away five times in a row: no attempt is used up (ADR 0187).
      for (let away = 1; away <= 5; away++) {
        const claimed = await queue.claim('w');
        assert.ok(claimed, `claimable after outage ${away}`);
        assert.equal(await queue.fail(claimed, 'store unreachable', 'uncounted'), 'queued');
        const job = await queue.get(KEY);
        assert.equal(job?.attempts, 0);
        assert.equal(job.availableAt - now, 400, 'base × 2^(maxAttempts − 1)');
        now = job.availableAt;
      }
      const claimed = await queue.claim('w');
      assert.ok(claimed);
      assert.equal(claimed.job.attempts, 1);
      assert.equal(await queue.fail(claimed, 'study not in the store', 'final'), 'failed');
      const job = await queue.get(KEY);
      assert.equal(job?.state, 'failed');
      assert.equal(job.lastError, 'study not in the store');
      now += 1_000_000;
      assert.equal(await queue.claim('w'), undefined);
    });
  });

  void test(`${backend} job queue: an expired lease is taken over; the old holder is fenced off`, async () => {
    let now = 0;
    await withQueue({ leaseMs: 50, now: () => now }, async (queue) => {
      await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });
      const slow = await queue.claim('slow');
      assert.ok(slow);
      now = 49;
      assert.equal(await queue.claim('fast'), undefined, 'a live lease is not taken');
      now = 50;
      const fast = await queue.claim('fast');
      assert.ok(fast);
      assert.equal(fast.job.attempts, 2);
      assert.notEqual(fast.lease, slow.lease);
      assert.equal(await queue.heartbeat(slow), false);
      assert.equal(await queue.complete(slow), false);
      assert.equal(await queue.fail(slow, 'late'), undefined);
      assert.equal(await queue.release(slow), false);
      assert.equal(await queue.complete(fast), true);
      assert.equal((await queue.get(KEY))?.workerId, 'fast');
    });
  });

  void test(`${backend} job queue: a lease that expires on the last attempt fails the job`, async () => {
    let now = 0;
    await withQueue({ leaseMs: 10, now: () => now }, async (queue) => {
      await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1', maxAttempts: 2 });
      assert.ok(await queue.claim('a'));
      now = 10;
      assert.ok(await queue.claim('b'));
      now = 20;
      assert.equal(await queue.claim('c'), undefined);
      const job = await queue.get(KEY);
      assert.equal(job?.state, 'failed');
      assert.match(job?.lastError ?? '', /lease of worker b expired on the last attempt/);
    });
  });

  void test(`${backend} job queue: release gives a job back at once without counting the attempt`, async () => {
    let now = 0;
    await withQueue({ now: () => now }, async (queue) => {
      await queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });
      const first = await queue.claim('w1');
      assert.ok(first);
      now = 5;
      assert.equal(await queue.release(first), true);
      const job = await queue.get(KEY);
      assert.equal(job?.state, 'queued');
      assert.equal(job?.attempts, 0);
      assert.equal(job?.workerId, null);
      const again = await queue.claim('w2');
      assert.equal(again?.job.attempts, 1);
    });
  });
}

const FOLDER: Destination = { kind: 'folder', path: '/tmp/radiolens-contract-out' };
const FOLDER_B: Destination = { kind: 'folder', path: '/tmp/radiolens-contract-other' };
const FHIR: Destination = { kind: 'fhir', baseUrl: 'http://127.0.0.1:1/fhir' };

function item(key: string, destination: Destination = FOLDER): OutboxItem {
  return {
    key,
    destination,
    payload: { kind: 'dicom', file: `/x/${key}.dcm`, studyInstanceUid: STUDY, sopInstanceUid: key },
  };
}

export function outboxContract(backend: string, withOutbox: WithOutbox): void {
  void test(`${backend} outbox: enqueue is idempotent by key and all-or-nothing`, async () => {
    await withOutbox({}, async (outbox) => {
      assert.equal(await outbox.enqueue([item('1.1'), item('1.2')]), 2);
      assert.equal(await outbox.enqueue([item('1.2'), item('1.3')]), 1);
      const refused = item('1.4', FHIR); // a DICOM payload cannot go to a FHIR server
      await assert.rejects(outbox.enqueue([item('1.5'), refused]), /E_BAD_INPUT/);
      assert.equal(await outbox.get('1.5'), undefined, 'nothing of a refused batch is added');
      assert.deepEqual(await outbox.counts(), { pending: 3, delivered: 0, failing: 0, failed: 0 });
      const keys = (await outbox.entries()).map((e) => e.key);
      assert.deepEqual(keys, ['1.1', '1.2', '1.3']);
      assert.deepEqual((await outbox.get('1.1'))?.destination, FOLDER);
    });
  });

  void test(`${backend} outbox: retry backs off on the outbox clock, then delivered`, async () => {
    let now = 1000;
    await withOutbox({ backoffBaseMs: 100, now: () => now }, async (outbox) => {
      await outbox.enqueue([item('2.1')]);
      assert.equal(await outbox.nextDueAt(), 1000);
      const [first] = await outbox.claimDue(10);
      assert.ok(first);
      assert.deepEqual(await outbox.claimDue(10), [], 'a claimed entry is not claimed again');
      assert.equal(await outbox.settle(first, { status: 'retry', reason: 'down' }), 'pending');
      const after = await outbox.get('2.1');
      assert.equal(after?.attempts, 1);
      assert.equal(after?.lastError, 'down');
      assert.equal(after?.availableAt, 1100);
      assert.deepEqual(await outbox.counts(), { pending: 1, delivered: 0, failing: 1, failed: 0 });
      assert.equal(await outbox.settle(first, { status: 'delivered' }), undefined, 'token spent');
      now = 1099;
      assert.deepEqual(await outbox.claimDue(10), []);
      now = 1100;
      const [second] = await outbox.claimDue(10);
      assert.ok(second);
      assert.equal(
        await outbox.settle(second, { status: 'retry', reason: 'still down' }),
        'pending',
      );
      assert.equal((await outbox.get('2.1'))?.availableAt, 1300);
      now = 1300;
      const [third] = await outbox.claimDue(10);
      assert.ok(third);
      assert.equal(await outbox.settle(third, { status: 'delivered' }), 'delivered');
      const done = await outbox.get('2.1');
      assert.equal(done?.state, 'delivered');
      assert.equal(done?.deliveredAt, 1300);
      assert.equal(await outbox.nextDueAt(), undefined);
    });
  });

  void test(`${backend} outbox: maxAttempts gives up; rejected fails at once; requeueFailed`, async () => {
    let now = 0;
    await withOutbox({ backoffBaseMs: 1, maxAttempts: 2, now: () => now }, async (outbox) => {
      await outbox.enqueue([item('3.1'), item('3.2')]);
      const claimed = await outbox.claimDue(10);
      assert.equal(claimed.length, 2);
      const [a, b] = claimed;
      assert.equal(
        await outbox.settle(a!, { status: 'rejected', reason: 'bad SOP class' }),
        'failed',
      );
      assert.equal(await outbox.settle(b!, { status: 'retry', reason: 'timeout' }), 'pending');
      now = 10;
      const [b2] = await outbox.claimDue(10);
      assert.equal(b2?.entry.key, '3.2');
      assert.equal(await outbox.settle(b2!, { status: 'retry', reason: 'timeout' }), 'failed');
      assert.deepEqual(await outbox.counts(), { pending: 0, delivered: 0, failing: 0, failed: 2 });
      assert.equal(await outbox.requeueFailed(), 2);
      assert.equal((await outbox.claimDue(10)).length, 2);
    });
  });

  void test(`${backend} outbox: an expired claim is claimed again and counted; the late sender is fenced off`, async () => {
    let now = 0;
    await withOutbox({ claimMs: 100, now: () => now }, async (outbox) => {
      await outbox.enqueue([item('4.1')]);
      const [dead] = await outbox.claimDue(1);
      assert.ok(dead);
      assert.equal(dead.entry.claimedUntil, 100);
      now = 99;
      assert.deepEqual(await outbox.claimDue(1), []);
      assert.equal(await outbox.nextDueAt(), 100);
      now = 100;
      const [again] = await outbox.claimDue(1);
      assert.ok(again);
      assert.equal(again.entry.attempts, 1);
      assert.match(again.entry.lastError ?? '', /claim expired/);
      assert.equal(await outbox.settle(dead, { status: 'delivered' }), undefined);
      assert.equal(await outbox.release(dead), false);
      assert.equal(await outbox.settle(again, { status: 'delivered' }), 'delivered');
    });
  });

  void test(`${backend} outbox: exclusions, release and postponing a destination`, async () => {
    let now = 0;
    await withOutbox({ now: () => now }, async (outbox) => {
      await outbox.enqueue([item('5.1'), item('5.2'), item('5.3', FOLDER_B)]);
      const first = await outbox.get('5.1');
      const claimed = await outbox.claimDue(10, {
        ids: [first!.id],
        labels: [destinationLabel(FOLDER_B)],
      });
      assert.deepEqual(
        claimed.map((c) => c.entry.key),
        ['5.2'],
      );
      assert.equal(await outbox.release(claimed[0]!, 500), true);
      assert.equal((await outbox.get('5.2'))?.availableAt, 500);
      assert.equal((await outbox.get('5.2'))?.attempts, 0, 'a release counts no attempt');
      const label = first!.label;
      assert.equal(await outbox.postponeDestination(label, 1000), 2);
      assert.equal((await outbox.get('5.1'))?.availableAt, 1000);
      assert.equal((await outbox.get('5.2'))?.availableAt, 1000);
      assert.equal(
        (await outbox.get('5.3'))?.availableAt,
        0,
        'another destination is not postponed',
      );
      assert.equal(await outbox.now(), 0);
      now = 999;
      assert.deepEqual(
        (await outbox.claimDue(10)).map((c) => c.entry.key),
        ['5.3'],
      );
    });
  });
}
