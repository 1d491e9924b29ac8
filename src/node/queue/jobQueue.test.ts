import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstanceStore, StudyStabilityTimer, type StableStudy } from '../store/index.js';
import { syntheticInstance, syntheticUids } from '../../../test/support/store.js';
import { JobQueue, jobKey, type ClaimedJob } from './index.js';
import { childScript } from '../../../test/support/index.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-queue-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const STUDY = '1.2.3.4';
const KEY = jobKey(STUDY, 'cxr-pneumonia', '1.0.0');

test('enqueue is idempotent by key', async () => {
  await withDir(async (dir) => {
    const queue = JobQueue.open(dir);
    const first = queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'cxr@1.0.0' });
    const second = queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'cxr@1.0.0' });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.job.id, first.job.id);
    assert.deepEqual(queue.counts(), { queued: 1, running: 0, done: 0, failed: 0 });
    queue.close();
  });
});

test('claim, heartbeat, complete; a second claim finds nothing', async () => {
  await withDir(async (dir) => {
    let now = 1000;
    const queue = JobQueue.open(dir, { leaseMs: 100, now: () => now });
    queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1', payload: { series: 2 } });
    const claimed = queue.claim('w1');
    assert.ok(claimed);
    assert.equal(claimed.job.state, 'running');
    assert.equal(claimed.job.attempts, 1);
    assert.deepEqual(claimed.job.payload, { series: 2 });
    assert.equal(queue.claim('w2'), undefined);
    now = 1090;
    assert.equal(queue.heartbeat(claimed), true);
    now = 1150; // past the first lease, within the renewed one
    assert.equal(queue.claim('w2'), undefined);
    assert.equal(queue.complete(claimed, { srSeries: '1.2.9' }), true);
    assert.equal(queue.complete(claimed), false, 'completing twice is refused');
    const done = queue.get(KEY);
    assert.equal(done?.state, 'done');
    assert.deepEqual(done?.result, { srSeries: '1.2.9' });
    now = 10_000;
    assert.equal(queue.claim('w2'), undefined);
    queue.close();
  });
});

test('fail retries with exponential backoff and gives up after maxAttempts', async () => {
  await withDir(async (dir) => {
    let now = 0;
    const queue = JobQueue.open(dir, { backoffBaseMs: 100, now: () => now });
    queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1', maxAttempts: 3 });
    const availableAfterFailures: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = queue.claim('w');
      assert.ok(claimed, `attempt ${attempt} claimable at ${now}`);
      const state = queue.fail(claimed, `boom ${attempt}`);
      const job = queue.get(KEY);
      assert.ok(job);
      if (attempt < 3) {
        assert.equal(state, 'queued');
        availableAfterFailures.push(job.availableAt - now);
        assert.equal(queue.claim('w'), undefined, 'not claimable during the backoff');
        now = job.availableAt;
      } else {
        assert.equal(state, 'failed');
        assert.equal(job.lastError, 'boom 3');
      }
    }
    assert.deepEqual(availableAfterFailures, [100, 200]);
    assert.equal(queue.claim('w'), undefined);
    queue.close();
  });
});

test('an expired lease is taken over; the old holder can no longer complete or fail', async () => {
  await withDir(async (dir) => {
    let now = 0;
    const queue = JobQueue.open(dir, { leaseMs: 50, now: () => now });
    queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });
    const slow = queue.claim('slow');
    assert.ok(slow);
    now = 51;
    const fast = queue.claim('fast');
    assert.ok(fast);
    assert.equal(fast.job.attempts, 2);
    assert.equal(queue.heartbeat(slow), false);
    assert.equal(queue.complete(slow), false);
    assert.equal(queue.fail(slow, 'late'), undefined);
    assert.equal(queue.complete(fast), true);
    assert.equal(queue.get(KEY)?.workerId, 'fast');
    queue.close();
  });
});

test('the queue shares the node database with the instance store', async () => {
  await withDir(async (dir) => {
    const store = InstanceStore.open(dir);
    const queue = new JobQueue(store.db);
    queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });
    store.close();
    const reopened = JobQueue.open(dir);
    assert.equal(reopened.get(KEY)?.state, 'queued');
    reopened.close();
  });
});

test('a worker killed with SIGKILL while holding a job: another completes it exactly once', async () => {
  await withDir(async (dir) => {
    const leaseMs = 400;
    const queue = JobQueue.open(dir, { leaseMs });
    queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });

    const { path, execArgv } = childScript('leaseHolder');
    const child = spawn(process.execPath, [...execArgv, path, dir, 'doomed', String(leaseMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
    const zombie = JSON.parse(line) as ClaimedJob;
    assert.equal(zombie.job.workerId, 'doomed');

    // While the child heartbeats, its job is not claimable, even after one lease period.
    await new Promise((r) => setTimeout(r, leaseMs + 100));
    assert.equal(queue.claim('survivor'), undefined);

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const started = Date.now();
    let claimed: ClaimedJob | undefined;
    while (claimed === undefined && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 50));
      claimed = queue.claim('survivor');
    }
    assert.ok(claimed, 'the dead worker’s job came back within the lease');
    assert.equal(claimed.job.attempts, 2);
    assert.equal(queue.complete(zombie), false, 'the dead worker’s lease is void');
    assert.equal(queue.complete(claimed, { by: 'survivor' }), true);
    assert.equal(queue.complete(claimed), false);
    const job = queue.get(KEY);
    assert.equal(job?.state, 'done');
    assert.deepEqual(job?.result, { by: 'survivor' });
    assert.deepEqual(queue.counts(), { queued: 0, running: 0, done: 1, failed: 0 });
    queue.close();
  });
});

test('a stable study enqueues its job once, in the database the store uses', async () => {
  await withDir(async (dir) => {
    let now = 0;
    const store = InstanceStore.open(dir);
    const queue = new JobQueue(store.db, { now: () => now });
    const timer = new StudyStabilityTimer(store, { quietPeriodMs: 1000, now: () => now });
    for (const instance of ['1', '2']) {
      await store.storeInstance(syntheticInstance({ study: 'cxr', instance }), {
        source: instance,
        receivedAt: 0,
      });
    }
    const enqueueFor = (study: StableStudy): void => {
      queue.enqueue({
        key: jobKey(study.studyInstanceUid, 'cxr-pneumonia', '1.0.0'),
        studyInstanceUid: study.studyInstanceUid,
        model: 'cxr-pneumonia@1.0.0',
      });
    };
    now = 999;
    await timer.check(enqueueFor);
    assert.equal(queue.counts().queued, 0);
    now = 1000;
    await timer.check(enqueueFor);
    // The declaration is forgotten (as after a crash before markDeclared): enqueue again.
    store.db.prepare('DELETE FROM study_stability').run();
    await timer.check(enqueueFor);
    assert.equal(queue.counts().queued, 1);
    const job = queue.get(
      jobKey(syntheticUids('cxr', '1').studyInstanceUid, 'cxr-pneumonia', '1.0.0'),
    );
    assert.equal(job?.model, 'cxr-pneumonia@1.0.0');
    store.close();
  });
});

test('release gives a claimed job back at once without counting the attempt', async () => {
  await withDir(async (dir) => {
    let now = 1000;
    const queue = JobQueue.open(dir, { leaseMs: 10_000, now: () => now });
    queue.enqueue({ key: KEY, studyInstanceUid: STUDY, model: 'm@1' });
    const first = queue.claim('w1');
    assert.ok(first);
    now = 1001;
    assert.equal(queue.release(first), true);
    assert.equal(queue.release(first), false, 'a released lease is no longer held');
    assert.equal(queue.heartbeat(first), false);
    const second = queue.claim('w2');
    assert.ok(second, 'ready again without waiting for the lease to expire');
    assert.equal(second.job.attempts, 1);
    assert.equal(queue.complete(first), false);
    assert.equal(queue.complete(second), true);
    queue.close();
  });
});
