/**
 * The shared DICOM store against a real Orthanc with its DICOMweb plugin and basic auth
 * (ADR 0187): STOW-RS of a study, WADO-RS back into a private folder with only the job's
 * instances, the coded errors (wrong credentials, the store stopped, the study missing), and
 * the job worker's use of them: analysed from the store, retried without using up an attempt
 * while the store is away, failed at once when the study is gone, its folder removed each time.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { readInstanceIdentity } from '../../foundation/dicom/index.js';
import { ModelSessions } from '../../inference/analysis/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { Outbox } from '../delivery/index.js';
import { JobQueue } from '../queue/index.js';
import { openNodeDatabase } from '../store/index.js';
import { createLogger } from '../service/log.js';
import { JobWorker } from '../service/worker.js';
import { OrthancServer } from '../../../test/support/orthanc.js';
import { makeChestStudy, run, type ChestStudy } from '../../../test/support/node.js';
import { repoRoot } from '../../../test/support/index.js';
import {
  mountSmallDisk,
  resizeSmallDisk,
  unmountSmallDisk,
} from '../../../test/support/smallDisk.js';
import { fetchStudy, parseSharedStore, storeStudy, type SharedStore } from './index.js';

const PASSWORD = 'store-secret-never-logged';
let orthanc: OrthancServer;
let work: string;
let study: ChestStudy;
/** A second instance of the same study, standing for a result sent back into it. */
let other: { file: string; sopInstanceUid: string };

function storeAt(password: string): SharedStore {
  const url = new URL(`${orthanc.url}/dicom-web`);
  url.username = 'radiolens';
  url.password = password;
  return parseSharedStore(`dicomweb+${url.toString()}`);
}

function coded(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isRadiolensError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes(PASSWORD), 'the password is in no message');
    return true;
  };
}

/** The job folders fetchStudy left under `dir` (none, once each job is over). */
async function jobFolders(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('radiolens-job-'));
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-shared-store-'));
  orthanc = await OrthancServer.start({
    dicom: false,
    dicomWeb: true,
    users: { radiolens: PASSWORD },
  });
  study = await makeChestStudy(work, { name: 'Shared^Store', id: 'SS1' }, 'shared-store');
  const file = join(work, 'other.dcm');
  await copyFile(study.file, file);
  const sopInstanceUid = `${study.sopInstanceUid}.9`;
  await run('dcmodify', ['-nb', '-m', `(0008,0018)=${sopInstanceUid}`, file]);
  other = { file, sopInstanceUid };
});

after(async () => {
  await orthanc.stop();
  await rm(work, { recursive: true, force: true });
});

test('a study stored by STOW-RS comes back by WADO-RS into a private folder, only the instances named; coded errors for wrong credentials and a missing study', async () => {
  const store = storeAt(PASSWORD);
  const instances = [study, other].map((s) => ({
    file: s.file,
    studyInstanceUid: study.studyInstanceUid,
    sopInstanceUid: s.sopInstanceUid,
  }));
  const stored = await storeStudy(store, instances);
  assert.deepEqual(stored, { stored: [study.sopInstanceUid, other.sopInstanceUid], refused: [] });
  // Sent again (a retried declaration): the duplicate counts as stored.
  assert.deepEqual((await storeStudy(store, instances)).stored.length, 2);

  const parent = join(work, 'fetch');
  await mkdir(parent);
  const fetched = await fetchStudy(store, study.studyInstanceUid, [study.sopInstanceUid], {
    parentDir: parent,
  });
  assert.equal(fetched.files.length, 1, 'the other instance of the study is not the job’s');
  const bytes = await readFile(fetched.files[0]!);
  assert.equal(readInstanceIdentity(bytes, 'fetched').sopInstanceUid, study.sopInstanceUid);
  assert.deepEqual(bytes, await readFile(study.file), 'the bytes as stored');
  const [folder] = await jobFolders(parent);
  assert.equal((await stat(join(parent, folder!))).mode & 0o777, 0o700, 'private to this user');
  await fetched.remove();
  assert.deepEqual(await jobFolders(parent), []);

  const all = await fetchStudy(store, study.studyInstanceUid, [], { parentDir: parent });
  assert.equal(all.files.length, 2, 'no list: every instance of the study');
  await all.remove();

  await assert.rejects(
    fetchStudy(storeAt('wrong'), study.studyInstanceUid, [], { parentDir: parent }),
    coded('E_STORE_UNREACHABLE'),
  );
  await assert.rejects(storeStudy(storeAt('wrong'), instances), coded('E_STORE_UNREACHABLE'));
  await assert.rejects(
    fetchStudy(store, '1.2.826.0.1.3680043.8.498.1', [], { parentDir: parent }),
    coded('E_STUDY_NOT_FOUND'),
  );
  assert.deepEqual(await jobFolders(parent), [], 'a failed fetch leaves no folder');
});

test('a job naming its study in the shared store: analysed from it; the store away → queued again with no attempt used; the study gone → failed at once; no folder left', async () => {
  const store = storeAt(PASSWORD);
  await storeStudy(store, [
    {
      file: study.file,
      studyInstanceUid: study.studyInstanceUid,
      sopInstanceUid: study.sopInstanceUid,
    },
  ]);
  const temp = join(work, 'tmp');
  await mkdir(temp);
  const savedTmp = process.env['TMPDIR'];
  // fetchStudy makes its folder in os.tmpdir(), which reads TMPDIR on every call.
  process.env['TMPDIR'] = temp;
  const db = openNodeDatabase(join(work, 'node'));
  const sessions = new ModelSessions();
  const lines: string[] = [];
  try {
    const queue = new JobQueue(db, { leaseMs: 10_000 });
    const worker = new JobWorker('w', {
      queue,
      outbox: new Outbox(db),
      registry: new ModelRegistry(join(repoRoot, 'models')),
      analysis: { sessions },
      destinations: [],
      dataDir: join(work, 'node'),
      logger: createLogger((line) => lines.push(line)),
      leaseMs: 10_000,
      sharedStore: store,
    });
    const source = (uid: string): Record<string, unknown> => ({
      lastReceivedAt: 1,
      // The root the ingest node wrote to, without credentials; the worker's own store wins.
      source: { kind: 'dicomweb', url: store.baseUrl, sopInstanceUids: [uid] },
    });

    queue.enqueue({
      key: 'ok',
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia',
      payload: source(study.sopInstanceUid),
    });
    assert.equal(await worker.runOnce(), true);
    const done = queue.get('ok');
    assert.equal(done?.state, 'done', done?.lastError ?? '');
    assert.match(String(done.result?.['model']), /^cxr-pneumonia@/);
    assert.ok(Number(done.result?.['outputs']) > 0);
    assert.deepEqual(await jobFolders(temp), []);

    queue.enqueue({
      key: 'gone',
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.2',
      model: 'cxr-pneumonia',
      payload: source('1.2.826.0.1.3680043.8.498.3'),
    });
    await worker.runOnce();
    const gone = queue.get('gone');
    assert.equal(gone?.state, 'failed', 'retrying cannot bring a study back');
    assert.equal(gone.attempts, 1);
    assert.match(gone.lastError ?? '', /E_STUDY_NOT_FOUND/);

    await orthanc.pause();
    try {
      queue.enqueue({
        key: 'away',
        studyInstanceUid: study.studyInstanceUid,
        model: 'cxr-pneumonia@1.2.1',
        payload: source(study.sopInstanceUid),
      });
      await worker.runOnce();
      const away = queue.get('away');
      assert.equal(away?.state, 'queued', 'runs again later');
      assert.equal(away.attempts, 0, 'the store being away uses up no attempt');
      assert.match(away.lastError ?? '', /E_STORE_UNREACHABLE/);
      assert.ok(away.availableAt > Date.now(), 'after a backoff');
      assert.deepEqual(await jobFolders(temp), []);
      assert.match(worker.sharedStoreTrouble()?.error ?? '', /E_STORE_UNREACHABLE/, '/health');
    } finally {
      await orthanc.resume();
    }
    queue.enqueue({
      key: 'back',
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia@1.2.1',
      payload: { ...source(study.sopInstanceUid), lastReceivedAt: 2 },
    });
    await worker.runOnce();
    assert.equal(queue.get('back')?.state, 'done');
    assert.equal(worker.sharedStoreTrouble(), undefined, 'the store answers again');
    assert.ok(!lines.some((line) => line.includes(PASSWORD)), 'the password is in no log line');
  } finally {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
    await sessions.dispose();
    db.close();
  }
  assert.ok(existsSync(temp));
});

test('a worker whose temporary disk is full: the job runs again later without using up an attempt (E_DISK_FULL, not the store), /health says so, and it runs once there is room', async (t: TestContext) => {
  const store = storeAt(PASSWORD);
  await storeStudy(store, [
    {
      file: study.file,
      studyInstanceUid: study.studyInstanceUid,
      sopInstanceUid: study.sopInstanceUid,
    },
  ]);
  const size = (await stat(study.file)).size;
  const full = join(work, 'full');
  await mkdir(full);
  // Room for one instance's WADO-RS answer as it is spooled, not for the instance written out
  // of it too: the write that failed and used up an attempt before. Where the store holds more
  // of this study (results earlier tests sent back), the spool itself overflows instead — a
  // full disk as well, which once read as the store unreachable (ADR 0132, follow-up).
  const why = mountSmallDisk(full, size * 1.5);
  if (why !== null) {
    t.skip(why);
    return;
  }
  const db = openNodeDatabase(join(work, 'disk-full-node'));
  const sessions = new ModelSessions();
  try {
    let clock = Date.now();
    const queue = new JobQueue(db, { leaseMs: 10_000, now: () => clock });
    const worker = (fetchDir: string) =>
      new JobWorker('w', {
        queue,
        outbox: new Outbox(db),
        registry: new ModelRegistry(join(repoRoot, 'models')),
        analysis: { sessions },
        destinations: [],
        dataDir: join(work, 'disk-full-node'),
        logger: createLogger(() => undefined),
        leaseMs: 10_000,
        sharedStore: store,
        fetchDir,
      });
    const payload = {
      lastReceivedAt: 1,
      source: { kind: 'dicomweb', url: store.baseUrl, sopInstanceUids: [study.sopInstanceUid] },
    };
    for (const [key, room] of [
      ['tight', size * 1.5],
      ['tighter', 16 * 1024],
    ] as const) {
      resizeSmallDisk(full, room);
      queue.enqueue({
        key,
        studyInstanceUid: study.studyInstanceUid,
        model: 'cxr-pneumonia@1.2.1',
        payload: { ...payload, lastReceivedAt: key.length },
      });
      const onFullDisk = worker(full);
      await onFullDisk.runOnce();
      const job = queue.get(key);
      assert.equal(job?.state, 'queued', `${key}: runs again later`);
      assert.equal(job.attempts, 0, `${key}: a full disk uses up no attempt`);
      assert.match(job.lastError ?? '', /E_DISK_FULL: no room on this host's disk/);
      assert.match(onFullDisk.localDiskTrouble()?.error ?? '', /E_DISK_FULL/, '/health');
      assert.equal(onFullDisk.sharedStoreTrouble(), undefined, 'the store is not to blame');
      assert.deepEqual(await jobFolders(full), [], 'nothing left on the full disk');
    }
    // Room again (another folder): the job is analysed.
    const roomy = join(work, 'roomy');
    await mkdir(roomy);
    const fine = worker(roomy);
    clock += 60_000; // past the retry delay
    await fine.runOnce();
    await fine.runOnce();
    assert.deepEqual(
      ['tight', 'tighter'].map((key) => queue.get(key)?.state),
      ['done', 'done'],
    );
    assert.equal(fine.localDiskTrouble(), undefined);
  } finally {
    unmountSmallDisk(full);
    await sessions.dispose();
    db.close();
  }
});
