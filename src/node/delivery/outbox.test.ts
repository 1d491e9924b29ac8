import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticRecord } from '../../../test/support/results.js';
import { writeMeasurementReport } from '../../inference/results/index.js';
import { openNodeDatabase } from '../store/index.js';
import { freeLoopbackPort } from '../../../test/support/orthanc.js';
import {
  Outbox,
  OutboxDeliverer,
  backoffDelay,
  parseDestination,
  type DeliveryEvent,
  type OutboxItem,
} from './index.js';

const STUDY = '1.2.826.0.1.3680043.8.498.10001';

async function withOutbox(
  run: (ctx: { dir: string; outbox: Outbox; clock: { now: number } }) => Promise<void>,
  options: { maxAttempts?: number; claimMs?: number } = {},
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-outbox-'));
  const db = openNodeDatabase(dir);
  const clock = { now: 1_000_000 };
  const outbox = new Outbox(db, {
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    now: () => clock.now,
    ...options,
  });
  try {
    await run({ dir, outbox, clock });
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function dicomItem(file: string, destination: string, n = 1): OutboxItem {
  return {
    key: `${STUDY}.${n}|${destination}`,
    destination: parseDestination(destination),
    payload: {
      kind: 'dicom',
      file,
      studyInstanceUid: STUDY,
      sopInstanceUid: `${STUDY}.${n}`,
    },
  };
}

test('backoff doubles from the base and stops at the cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 1000].map((a) => backoffDelay(a, 1000, 8000)),
    [0, 1000, 2000, 4000, 8000, 8000, 8000, 8000],
  );
});

test('enqueue is idempotent by key and atomic', async () => {
  await withOutbox(async ({ outbox }) => {
    const items = [dicomItem('/a.dcm', 'file:///out', 1), dicomItem('/b.dcm', 'file:///out', 2)];
    assert.equal(outbox.enqueue(items), 2);
    assert.equal(outbox.enqueue(items), 0);
    assert.equal(outbox.enqueue([...items, dicomItem('/c.dcm', 'file:///out', 3)]), 1);
    assert.equal(outbox.entries().length, 3);
    assert.deepEqual(outbox.counts(), { pending: 3, delivered: 0, failing: 0, failed: 0 });
    // A bad item in the batch (a key that is not text) rolls the whole batch back.
    assert.throws(() =>
      outbox.enqueue([
        dicomItem('/d.dcm', 'file:///out', 4),
        { ...dicomItem('/e.dcm', 'file:///out', 5), key: null as unknown as string },
      ]),
    );
    assert.equal(outbox.entries().length, 3);
    // A DICOM object for a FHIR server is a caller bug: refused, nothing added.
    assert.throws(
      () => outbox.enqueue([dicomItem('/f.dcm', 'fhir+http://ehr.example/fhir', 6)]),
      /E_BAD_INPUT: a dicom payload cannot go to fhir\+http:\/\/ehr\.example\/fhir/,
    );
    assert.equal(outbox.entries().length, 3);
  });
});

test('a destination that is down: pending with attempts and error, backoff on a fake clock, then delivered', async () => {
  await withOutbox(async ({ dir, outbox, clock }) => {
    // Real connection refused: a loopback port with nothing listening.
    const port = await freeLoopbackPort();
    const file = join(dir, 'SR.dcm');
    await writeFile(file, writeMeasurementReport(syntheticRecord()).bytes);
    const events: DeliveryEvent[] = [];
    const deliverer = new OutboxDeliverer(outbox, {
      callingAeTitle: 'RADIOLENS',
      onEvent: (e) => events.push(e),
    });
    outbox.enqueue([dicomItem(file, `dicom://NOBODY@127.0.0.1:${port}`)]);

    const t0 = clock.now;
    const expectedDelays = [1000, 2000, 4000, 8000, 8000];
    let due = t0;
    for (const [i, delay] of expectedDelays.entries()) {
      clock.now = due - 1;
      assert.equal(await deliverer.runOnce(), 0);
      assert.equal(outbox.entries()[0]!.attempts, i, 'not tried before it is due');
      clock.now = due;
      assert.equal(await deliverer.runOnce(), 0);
      const entry = outbox.entries()[0]!;
      assert.equal(entry.state, 'pending');
      assert.equal(entry.attempts, i + 1);
      assert.match(entry.lastError ?? '', /ECONNREFUSED/);
      assert.equal(entry.availableAt, due + delay);
      due += delay;
    }
    assert.deepEqual(outbox.counts(), { pending: 1, delivered: 0, failing: 1, failed: 0 });
    const retries = events.filter((e) => e.type === 'retry');
    assert.equal(retries.length, 5);
    // Events name the destination and a hash, never the UIDs in the key or the path.
    for (const event of events) assert.doesNotMatch(JSON.stringify(event), /1\.2\.826\.0\.1/);
  });
});

test('maxAttempts gives up; a refused payload fails at once and can be re-queued', async () => {
  await withOutbox(
    async ({ dir, outbox, clock }) => {
      const port = await freeLoopbackPort();
      const file = join(dir, 'SR.dcm');
      await writeFile(file, writeMeasurementReport(syntheticRecord()).bytes);
      const junk = join(dir, 'junk.dcm');
      await writeFile(junk, 'not DICOM at all');
      outbox.enqueue([
        dicomItem(file, `dicom://NOBODY@127.0.0.1:${port}`, 1),
        // Content the destination kind cannot take: refused for what it is.
        dicomItem(junk, `dicom://NOBODY@127.0.0.1:${port}`, 2),
      ]);
      const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
      for (let i = 0; i < 3; i++) {
        await deliverer.runOnce();
        clock.now += 10_000;
      }
      const [down, missing] = outbox.entries();
      assert.equal(down!.state, 'failed');
      assert.equal(down!.attempts, 2);
      assert.equal(missing!.state, 'failed');
      assert.equal(missing!.attempts, 1);
      assert.match(missing!.lastError ?? '', /cannot read the result file as DICOM/);
      assert.deepEqual(outbox.counts(), { pending: 0, delivered: 0, failing: 0, failed: 2 });
      assert.equal(outbox.requeueFailed(), 2);
      assert.equal(outbox.counts().pending, 2);
    },
    { maxAttempts: 2 },
  );
});

test('a claim that expires (sender died) is sent again; the late sender cannot settle it', async () => {
  await withOutbox(
    async ({ dir, outbox, clock }) => {
      const source = join(dir, 'SC.dcm');
      await writeFile(source, 'result bytes');
      const out = join(dir, 'out');
      outbox.enqueue([dicomItem(source, `file://${out}`)]);
      const [stale] = outbox.claimDue(10);
      assert.ok(stale);
      assert.deepEqual(outbox.claimDue(10), [], 'a live claim is not handed out twice');
      clock.now += 60_000;
      const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
      assert.equal(await deliverer.runOnce(), 1);
      const entry = outbox.entries()[0]!;
      assert.equal(entry.state, 'delivered');
      assert.equal(entry.attempts, 1, 'the lost attempt is counted');
      assert.match(entry.lastError ?? '', /claim expired/);
      assert.equal(await readFile(join(out, STUDY, 'SC.dcm'), 'utf8'), 'result bytes');
      // The presumed-dead sender wakes up: its outcome is ignored.
      assert.equal(outbox.settle(stale, { status: 'retry', reason: 'late' }), undefined);
      assert.equal(outbox.entries()[0]!.state, 'delivered');
    },
    { claimMs: 30_000 },
  );
});

test('a destination found down postpones its other entries without counting attempts', async () => {
  await withOutbox(async ({ dir, outbox, clock }) => {
    const port = await freeLoopbackPort();
    const file = join(dir, 'SR.dcm');
    await writeFile(file, writeMeasurementReport(syntheticRecord()).bytes);
    const destination = `dicom://NOBODY@127.0.0.1:${port}`;
    outbox.enqueue(Array.from({ length: 5 }, (_, i) => dicomItem(file, destination, i)));
    const events: DeliveryEvent[] = [];
    const deliverer = new OutboxDeliverer(outbox, {
      callingAeTitle: 'RADIOLENS',
      batchSize: 2,
      concurrency: 1,
      onEvent: (e) => events.push(e),
    });
    await deliverer.runOnce();
    const attempts = outbox.entries().map((e) => e.attempts);
    assert.deepEqual(attempts, [1, 1, 0, 0, 0]);
    for (const entry of outbox.entries()) assert.equal(entry.availableAt, clock.now + 1000);
    assert.equal(events.filter((e) => e.type === 'destination-down').length, 1);
    assert.deepEqual(outbox.counts(), { pending: 5, delivered: 0, failing: 2, failed: 0 });
  });
});

test('start/kick/stop: an enqueued entry is delivered without waiting for the poll', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-outbox-'));
  const db = openNodeDatabase(dir);
  try {
    const outbox = new Outbox(db);
    const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS', pollMs: 60_000 });
    deliverer.start();
    await new Promise((r) => setTimeout(r, 50));
    const source = join(dir, 'SR.dcm');
    await writeFile(source, 'x');
    outbox.enqueue([dicomItem(source, `file://${join(dir, 'out')}`)]);
    const started = Date.now();
    deliverer.kick();
    while (outbox.counts().delivered === 0 && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(outbox.counts().delivered, 1);
    assert.ok(Date.now() - started < 5000);
    await deliverer.stop();
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a result file this process cannot read is retried, never refused: it is sent once readable', async () => {
  // On a shared outbox the file may be on another host or on storage that is away (ADR 0187).
  await withOutbox(async ({ dir, outbox, clock }) => {
    const file = join(dir, 'later', 'SR.dcm');
    const target = join(dir, 'delivered');
    outbox.enqueue([dicomItem(file, `file://${target}`, 1)]);
    const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
    for (let i = 0; i < 3; i++) {
      await deliverer.runOnce();
      clock.now += 60_000;
    }
    const [waiting] = outbox.entries();
    assert.notEqual(waiting!.state, 'failed', 'not refused for being unreadable here');
    assert.match(waiting!.lastError ?? '', /cannot read the result file on this host/);
    await mkdir(join(dir, 'later'), { recursive: true });
    await writeFile(file, writeMeasurementReport(syntheticRecord()).bytes);
    clock.now += 3_600_000;
    await deliverer.runOnce();
    assert.equal(outbox.entries()[0]!.state, 'delivered');
  });
});
