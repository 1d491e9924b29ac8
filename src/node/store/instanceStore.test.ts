import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { InstanceStore, StudyStabilityTimer, sha256Hex, type StableStudy } from './index.js';
import { objectFilesIn, syntheticInstance, syntheticUids } from '../../../test/support/store.js';

async function withStore(run: (store: InstanceStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-store-'));
  const store = InstanceStore.open(dir);
  try {
    await run(store, dir);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const CT = join(conformanceDir, 'cornerstone3D', 'CTImage.dcm');
const CT_J2K = join(
  conformanceDir,
  'cornerstone3D',
  'CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm',
);

test('stores the original bytes untouched under their sha256 and indexes the instance', async () => {
  await withStore(async (store, dir) => {
    const bytes = await readFile(CT);
    const result = await store.storeInstance(bytes, {
      source: 'CTImage.dcm',
      callingAeTitle: 'MODALITY1',
      receivedAt: 1000,
    });
    assert.equal(result.outcome, 'stored');
    const record = result.instance;
    assert.equal(record.sha256, sha256Hex(bytes));
    assert.equal(record.size, bytes.byteLength);
    assert.equal(record.sopInstanceUid, '1.2.840.113619.2.30.1.1762295590.1623.978668950.109');
    assert.equal(record.studyInstanceUid, '1.2.840.113619.2.30.1.1762295590.1623.978668949.886');
    assert.equal(record.modality, 'CT');
    assert.equal(record.patientId, '2178309');
    assert.equal(record.callingAeTitle, 'MODALITY1');
    assert.equal(record.transferSyntaxUid, '1.2.840.10008.1.2');
    assert.ok(record.path.endsWith(`${record.sha256}.dcm`));
    assert.deepEqual(await readFile(join(dir, record.path)), bytes);
    assert.ok(Buffer.from(await store.readInstanceBytes(record)).equals(bytes));
  });
});

test('the same instance twice is a duplicate; a different payload becomes version 2', async () => {
  await withStore(async (store, dir) => {
    const first = await store.storeInstance(await readFile(CT), { source: 'a', receivedAt: 1 });
    const again = await store.storeInstance(await readFile(CT), { source: 'b', receivedAt: 5 });
    assert.equal(again.outcome, 'duplicate');
    assert.equal(again.instance.id, first.instance.id);
    assert.equal(again.instance.lastReceivedAt, 5);
    const j2k = await store.storeInstance(await readFile(CT_J2K), { source: 'c', receivedAt: 9 });
    assert.equal(j2k.outcome, 'new-version');
    assert.equal(j2k.instance.version, 2);
    assert.equal(j2k.instance.sopInstanceUid, first.instance.sopInstanceUid);
    assert.equal(store.findInstance(first.instance.sopInstanceUid)?.version, 2);
    assert.deepEqual(
      store.instanceVersions(first.instance.sopInstanceUid).map((r) => r.transferSyntaxUid),
      ['1.2.840.10008.1.2', '1.2.840.10008.1.2.4.90'],
    );
    assert.equal(store.studyInstances(first.instance.studyInstanceUid).length, 1);
    // Both payloads are kept: two objects on disk.
    assert.equal(objectFilesIn(dir).length, 2);
    assert.notEqual(first.instance.path, j2k.instance.path);
  });
});

test('an instance whose object was deleted or cut short is written again when resent', async () => {
  await withStore(async (store, dir) => {
    const bytes = await readFile(CT);
    const first = await store.storeInstance(bytes, { source: 'a', receivedAt: 1 });
    const objectPath = join(dir, first.instance.path);
    await rm(objectPath);
    const resent = await store.storeInstance(bytes, { source: 'b', receivedAt: 2 });
    assert.equal(resent.outcome, 'restored');
    assert.equal(resent.instance.id, first.instance.id);
    assert.deepEqual(await readFile(objectPath), bytes);
    await writeFile(objectPath, bytes.subarray(0, 1000));
    assert.equal((await store.storeInstance(bytes, { source: 'c' })).outcome, 'restored');
    assert.ok(Buffer.from(await store.readInstanceBytes(first.instance)).equals(bytes));
    assert.equal((await store.storeInstance(bytes, { source: 'd' })).outcome, 'duplicate');
    assert.equal(objectFilesIn(dir).length, 1);
  });
});

test('the index survives closing and reopening the store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-store-'));
  try {
    const bytes = syntheticInstance({ study: 's1', instance: 'i1', viewPosition: 'AP' });
    const store = InstanceStore.open(dir);
    await store.storeInstance(bytes, { source: 'x', callingAeTitle: 'CR1' });
    store.close();
    const reopened = InstanceStore.open(dir);
    const found = reopened.findInstance(syntheticUids('s1', 'i1').sopInstanceUid);
    reopened.close();
    assert.equal(found?.viewPosition, 'AP');
    assert.equal(found?.bodyPartExamined, 'CHEST');
    assert.equal(found?.callingAeTitle, 'CR1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bytes that are not DICOM are refused and leave no row and no object', async () => {
  await withStore(async (store, dir) => {
    await assert.rejects(
      store.storeInstance(new TextEncoder().encode('not dicom at all'), { source: 'junk.bin' }),
      (error: Error) => /E_NOT_DICOM|E_TRUNCATED|E_MALFORMED_DICOM/.test(error.message),
    );
    assert.deepEqual(store.studies(), []);
    assert.deepEqual(objectFilesIn(dir), []);
  });
});

test('a dataset whose UIDs differ from the announced ones is refused', async () => {
  await withStore(async (store) => {
    const bytes = syntheticInstance({ study: 's3', instance: 'i1' });
    await assert.rejects(
      store.storeInstance(bytes, { source: 'x', expectedSopInstanceUid: '1.2.3' }),
      /E_BAD_INPUT: x announced SOP Instance UID 1\.2\.3/,
    );
    await assert.rejects(
      store.storeInstance(bytes, { source: 'x', expectedSopClassUid: '1.2.840.10008.5.1.4.1.1.2' }),
      /E_BAD_INPUT/,
    );
    assert.deepEqual(store.studies(), []);
    const ok = await store.storeInstance(bytes, {
      source: 'x',
      expectedSopInstanceUid: syntheticUids('s3', 'i1').sopInstanceUid,
    });
    assert.equal(ok.outcome, 'stored');
  });
});

test('concurrent stores of the same instance index it once', async () => {
  await withStore(async (store) => {
    const bytes = syntheticInstance({ study: 's2', instance: 'i1' });
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => store.storeInstance(bytes, { source: `copy ${n}` })),
    );
    assert.equal(results.filter((r) => r.outcome === 'stored').length, 1);
    assert.equal(store.instanceVersions(syntheticUids('s2', 'i1').sopInstanceUid).length, 1);
  });
});

test('StudyStabilityTimer declares a study after its quiet period, once, across restarts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-store-'));
  let now = 10_000;
  const clock = (): number => now;
  try {
    const store = InstanceStore.open(dir);
    await store.storeInstance(syntheticInstance({ study: 'a', instance: '1' }), {
      source: 'a1',
      receivedAt: 10_000,
    });
    await store.storeInstance(syntheticInstance({ study: 'b', instance: '1' }), {
      source: 'b1',
      receivedAt: 10_500,
    });
    const timer = new StudyStabilityTimer(store, { quietPeriodMs: 1000, now: clock });
    const seen: StableStudy[] = [];
    now = 10_999;
    assert.deepEqual(await timer.check((s) => void seen.push(s)), []);
    now = 11_000;
    await timer.check((s) => void seen.push(s));
    assert.deepEqual(
      seen.map((s) => s.studyInstanceUid),
      [syntheticUids('a', '1').studyInstanceUid],
    );
    // A handler that fails leaves the study pending for the next check.
    now = 11_600;
    await assert.rejects(
      timer.check(() => {
        throw new Error('queue down');
      }),
    );
    store.close();

    // Restart: the declaration of 'a' is remembered, 'b' is still due.
    const reopened = InstanceStore.open(dir);
    const restarted = new StudyStabilityTimer(reopened, { quietPeriodMs: 1000, now: clock });
    await restarted.check((s) => void seen.push(s));
    assert.deepEqual(
      seen.map((s) => s.studyInstanceUid),
      [syntheticUids('a', '1').studyInstanceUid, syntheticUids('b', '1').studyInstanceUid],
    );
    // A late instance makes 'a' pending again, declared after a new quiet period.
    await reopened.storeInstance(syntheticInstance({ study: 'a', instance: '2' }), {
      source: 'a2',
      receivedAt: 12_000,
    });
    now = 12_500;
    assert.deepEqual(await restarted.check((s) => void seen.push(s)), []);
    now = 13_000;
    const late = await restarted.check((s) => void seen.push(s));
    assert.equal(late.length, 1);
    assert.equal(late[0]?.instanceCount, 2);
    reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('StudyStabilityTimer.start fires on real time and stop waits for it', async () => {
  await withStore(async (store) => {
    await store.storeInstance(syntheticInstance({ study: 'rt', instance: '1' }), { source: 'x' });
    const timer = new StudyStabilityTimer(store, { quietPeriodMs: 150 });
    const started = Date.now();
    const fired = new Promise<number>((resolve) =>
      timer.start(
        () => resolve(Date.now() - started),
        (error) => assert.fail(String(error)),
      ),
    );
    const elapsed = await fired;
    await timer.stop();
    assert.ok(elapsed >= 100 && elapsed < 1500, `declared after ${elapsed} ms`);
  });
});

test('after a crash that lost an object rename, reopening the store renames it again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-store-'));
  try {
    let store = InstanceStore.open(dir);
    const bytes = syntheticInstance({ study: 'recover', instance: '1' });
    const { instance } = await store.storeInstance(bytes, { source: 'recover.dcm' });
    store.close();
    // The index row reached the disk but the rename did not: the bytes are back under a
    // temporary name. Beside them, two strays nobody indexed, one fresh and one old.
    const incoming = join(dir, 'objects', '.incoming');
    await rename(join(dir, instance.path), join(incoming, 'lost-rename.tmp'));
    await writeFile(join(incoming, 'fresh.tmp'), 'half-written');
    await writeFile(join(incoming, 'old.tmp'), 'half-written long ago');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(incoming, 'old.tmp'), twoHoursAgo, twoHoursAgo);

    store = InstanceStore.open(dir);
    try {
      const stored = await store.readInstanceBytes(instance);
      assert.equal(sha256Hex(stored), instance.sha256);
      assert.deepEqual((await readdir(incoming)).sort(), ['fresh.tmp']);
    } finally {
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('arrivals are announced after their index commit, and pendingStudies counts what is not declared yet, quiet or not', async () => {
  await withStore(async (store) => {
    const arrived: string[] = [];
    const unsubscribe = store.onArrival((uid) => {
      // Called after the commit: the instance is already in the index.
      assert.ok(store.studyInstances(uid).length > 0);
      arrived.push(uid);
    });
    const s1 = syntheticUids('p1', 'i1').studyInstanceUid;
    const s2 = syntheticUids('p2', 'i1').studyInstanceUid;
    await store.storeInstance(syntheticInstance({ study: 'p1', instance: 'i1' }), {
      source: 'a',
      receivedAt: 1000,
    });
    await store.storeInstance(syntheticInstance({ study: 'p1', instance: 'i2' }), {
      source: 'b',
      receivedAt: 1500,
    });
    // A resend only touches the receipt time; it is an arrival too (the study is pending again).
    await store.storeInstance(syntheticInstance({ study: 'p1', instance: 'i1' }), {
      source: 'a again',
      receivedAt: 1600,
    });
    await store.storeInstance(syntheticInstance({ study: 'p2', instance: 'i1' }), {
      source: 'c',
      receivedAt: 1700,
    });
    await assert.rejects(
      store.storeInstance(new TextEncoder().encode('not dicom'), { source: 'junk' }),
    );
    assert.deepEqual(arrived, [s1, s1, s1, s2], 'a refused instance is no arrival');
    const timer = new StudyStabilityTimer(store, { quietPeriodMs: 1000, now: () => 2000 });
    assert.deepEqual(timer.pendingStudies(), [
      { studyInstanceUid: s1, lastReceivedAt: 1600, instanceCount: 2 },
      { studyInstanceUid: s2, lastReceivedAt: 1700, instanceCount: 1 },
    ]);
    assert.deepEqual(timer.pendingStudies([s2, 'not.a.study']), [
      { studyInstanceUid: s2, lastReceivedAt: 1700, instanceCount: 1 },
    ]);
    timer.markDeclared({ studyInstanceUid: s1, lastReceivedAt: 1600, instanceCount: 2 });
    assert.deepEqual(
      timer.pendingStudies().map((s) => s.studyInstanceUid),
      [s2],
      'a declared study is no longer pending',
    );
    unsubscribe();
    await store.storeInstance(syntheticInstance({ study: 'p2', instance: 'i2' }), {
      source: 'd',
      receivedAt: 1800,
    });
    assert.equal(arrived.length, 4, 'not announced after unsubscribing');
  });
});
