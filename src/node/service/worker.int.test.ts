import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelSessions } from '../../inference/analysis/index.js';
import { Outbox, parseDestination } from '../delivery/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { JobQueue } from '../queue/index.js';
import { InstanceStore, StudyStabilityTimer, openNodeDatabase } from '../store/index.js';
import { syntheticInstance } from '../../../test/support/store.js';
import { repoRoot } from '../../../test/support/index.js';
import { StudyJobScheduler, studyJobKey } from './jobs.js';
import { AnalysisLog, readAnalysisLog } from './analysisLog.js';
import { createLogger } from './log.js';
import { makeChestStudy } from '../../../test/support/node.js';
import { JobWorker } from './worker.js';

const MODELS = join(repoRoot, 'models');

async function withNodeParts(
  run: (parts: {
    dir: string;
    store: InstanceStore;
    queue: JobQueue;
    outbox: Outbox;
    registry: ModelRegistry;
    sessions: ModelSessions;
    lines: string[];
  }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-worker-'));
  const db = openNodeDatabase(join(dir, 'data'));
  const sessions = new ModelSessions();
  try {
    await run({
      dir,
      store: InstanceStore.onDatabase(join(dir, 'data'), db),
      queue: new JobQueue(db, { leaseMs: 10_000 }),
      outbox: new Outbox(db),
      registry: new ModelRegistry(MODELS),
      sessions,
      lines: [],
    });
  } finally {
    await sessions.dispose();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a stable study becomes one job per routed model; a re-declaration adds none, new content does', async () => {
  await withNodeParts(async ({ store, queue, registry, lines }) => {
    const logger = createLogger((line) => lines.push(line));
    const scheduler = new StudyJobScheduler(store, queue, registry, {
      routes: [
        { match: { modality: 'CT' }, models: [], shadow: ['cxr-pneumonia@1.0.0'] },
        { match: { modality: ['CR', 'DX'], viewPosition: 'PA' }, models: ['cxr-pneumonia'] },
      ],
      defaultModels: [],
      logger,
    });
    await scheduler.prepare();
    await store.storeInstance(syntheticInstance({ study: 's', instance: '1' }), {
      source: 't',
      receivedAt: 1000,
    });
    const timer = new StudyStabilityTimer(store, { quietPeriodMs: 10, now: () => 2000 });
    const [declared] = await timer.check(scheduler.onStable);
    assert.ok(declared);
    const key = studyJobKey(declared.studyInstanceUid, 'cxr-pneumonia', 1000);
    assert.equal(
      queue.get(key)?.model,
      'cxr-pneumonia',
      'a bare id stays bare: the worker runs the version active when the job runs',
    );
    scheduler.onStable(declared);
    assert.equal(queue.counts().queued, 1, 'the same declaration again adds no job');
    await store.storeInstance(syntheticInstance({ study: 's', instance: '2' }), {
      source: 't',
      receivedAt: 1500,
    });
    await timer.check(scheduler.onStable);
    assert.equal(queue.counts().queued, 2, 'the grown study is analysed again');

    await store.storeInstance(syntheticInstance({ study: 'ct', instance: '1', modality: 'MR' }), {
      source: 't',
      receivedAt: 1000,
    });
    await timer.check(scheduler.onStable);
    assert.equal(scheduler.notRoutedCount(), 1);
    assert.equal(queue.counts().queued, 2);
    assert.ok(lines.some((line) => JSON.parse(line).event === 'study-not-routed'));
  });
});

test('an unknown model, or a live route pinned to a version that is not active, stops the start with the model named', async () => {
  await withNodeParts(async ({ store, queue, registry }) => {
    const scheduler = new StudyJobScheduler(store, queue, registry, {
      routes: [
        {
          match: {},
          models: ['no-such-model@9.9.9', 'cxr-pneumonia@1.1.0'],
          shadow: ['cxr-pneumonia@8.0.0'],
        },
      ],
      defaultModels: ['cxr-pneumonia@7.0.0'],
      logger: createLogger(() => undefined),
    });
    await assert.rejects(scheduler.prepare(), (error: Error) => {
      assert.match(error.message, /model no-such-model@9\.9\.9: E_MODEL_NOT_FOUND/);
      assert.match(error.message, /model cxr-pneumonia@7\.0\.0: E_MODEL_NOT_FOUND/);
      assert.match(
        error.message,
        /model cxr-pneumonia@1\.1\.0: E_MODEL_NOT_ACTIVE: .*active version is 1\.2\.1/,
      );
      assert.match(error.message, /shadow model cxr-pneumonia@8\.0\.0: E_MODEL_NOT_FOUND/);
      return true;
    });
  });
});

test('the worker analyses the stored study, queues each output once per destination, and a re-run queues nothing new', async () => {
  await withNodeParts(async ({ dir, store, queue, outbox, registry, sessions, lines }) => {
    const study = await makeChestStudy(dir, { name: 'DOE^JANE', id: 'PID-1' });
    await store.storeInstance(await readFile(study.file), { source: 'test', receivedAt: 1 });
    const destinations = [
      parseDestination('dicom://PACS@127.0.0.1:1'),
      parseDestination(`file://${join(dir, 'out')}`),
    ];
    queue.enqueue({
      key: studyJobKey(study.studyInstanceUid, 'cxr-pneumonia@1.2.1', 1),
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia@1.2.1',
    });
    const options = {
      store,
      queue,
      outbox,
      registry,
      analysis: { sessions },
      destinations,
      dataDir: store.dataDir,
      logger: createLogger((line) => lines.push(line)),
      leaseMs: 10_000,
    };
    const first = new JobWorker('w1', options);
    assert.equal(await first.runOnce(), true);
    const job = queue.counts();
    assert.deepEqual(job, { queued: 0, running: 0, done: 1, failed: 0 });
    const entries = outbox.entries();
    // SR + SC + Parametric Map to the PACS; the same + FHIR bundle to the folder.
    assert.equal(entries.length, 7);
    assert.deepEqual(entries.map((e) => `${e.destination.kind}:${e.payload.kind}`).sort(), [
      'dicom:dicom',
      'dicom:dicom',
      'dicom:dicom',
      'folder:dicom',
      'folder:dicom',
      'folder:dicom',
      'folder:fhir-bundle',
    ]);
    for (const entry of entries) assert.ok(existsSync(entry.payload.file), entry.payload.file);
    const resultsDir = join(store.dataDir, 'results', '1', study.studyInstanceUid);
    assert.ok(entries.every((e) => e.payload.file.startsWith(resultsDir)));

    // The same job again (as after a crash before completion): same UIDs, same keys, nothing new.
    const rerun = new JobWorker('w2', options);
    queue.enqueue({
      key: studyJobKey(study.studyInstanceUid, 'cxr-pneumonia@1.2.1', 2),
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia@1.2.1',
    });
    assert.equal(await rerun.runOnce(), true);
    assert.equal(outbox.entries().length, 7, 'no output queued twice');
    const done = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'job-done');
    assert.equal(done.length, 2);
    assert.equal(done[1].outboxNew, 0);
  });
});

test('a study outside the intended use completes with the reason and no outputs', async () => {
  await withNodeParts(async ({ store, queue, outbox, registry, sessions, lines }) => {
    const bytes = syntheticInstance({ study: 'small', instance: '1', size: 64 });
    const { instance } = await store.storeInstance(bytes, { source: 't' });
    queue.enqueue({
      key: 'k',
      studyInstanceUid: instance.studyInstanceUid,
      model: 'cxr-pneumonia@1.2.1',
    });
    const worker = new JobWorker('w', {
      store,
      queue,
      outbox,
      registry,
      analysis: { sessions },
      destinations: [parseDestination('dicom://PACS@127.0.0.1:1')],
      dataDir: store.dataDir,
      logger: createLogger((line) => lines.push(line)),
      leaseMs: 1000,
    });
    await worker.runOnce();
    const job = queue.get('k');
    assert.equal(job?.state, 'done');
    assert.match(String(job?.result?.['reason']), /intended use/);
    assert.equal(outbox.entries().length, 0);
    assert.ok(lines.some((l) => JSON.parse(l).event === 'job-not-analysed'));
  });
});

test('a shadow job keeps its results in the node and delivers nothing; a live job pinned to an inactive version does not run', async () => {
  await withNodeParts(async ({ dir, store, queue, outbox, registry, sessions, lines }) => {
    const study = await makeChestStudy(dir, { name: 'SHADOW^PAT', id: 'PID-S' });
    await store.storeInstance(await readFile(study.file), { source: 'test', receivedAt: 1 });
    const analysisLog = new AnalysisLog(store.db);
    const worker = new JobWorker('w', {
      store,
      queue,
      outbox,
      registry,
      analysis: { sessions },
      destinations: [parseDestination('dicom://PACS@127.0.0.1:1')],
      dataDir: store.dataDir,
      logger: createLogger((line) => lines.push(line)),
      leaseMs: 10_000,
      analysisLog,
    });
    queue.enqueue({
      key: studyJobKey(study.studyInstanceUid, 'cxr-pneumonia@1.0.0', 1, true),
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia@1.0.0',
      payload: { lastReceivedAt: 1, shadow: true },
    });
    assert.equal(await worker.runOnce(), true);
    assert.equal(outbox.entries().length, 0, 'a shadow result goes to no PACS, EHR or worklist');
    const [entry] = analysisLog.list({ mode: 'shadow' });
    assert.equal(entry?.model, 'cxr-pneumonia@1.0.0');
    assert.equal(entry?.studyInstanceUid, study.studyInstanceUid);
    const summary = JSON.parse(await readFile(join(store.dataDir, entry!.summaryPath), 'utf8'));
    assert.equal(summary.findings.length, 1);
    assert.equal(typeof summary.inputs[summary.findings[0].sopInstanceUid].pixels.mean, 'number');
    assert.deepEqual(
      readAnalysisLog(store.dataDir).map((e) => e.mode),
      ['shadow'],
      'readable from the outside too',
    );

    queue.enqueue({
      key: studyJobKey(study.studyInstanceUid, 'cxr-pneumonia@1.1.0', 1),
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia@1.1.0',
    });
    assert.equal(await worker.runOnce(), true);
    const pinned = queue.get(studyJobKey(study.studyInstanceUid, 'cxr-pneumonia@1.1.0', 1));
    assert.equal(pinned?.state, 'done');
    assert.match(
      String(pinned?.result?.['reason']),
      /E_MODEL_NOT_ACTIVE: cxr-pneumonia@1\.1\.0 is installed but not active/,
    );
    assert.equal(outbox.entries().length, 0);
    assert.ok(lines.some((l) => JSON.parse(l).event === 'job-model-not-active'));

    queue.enqueue({
      key: studyJobKey(study.studyInstanceUid, 'cxr-pneumonia', 1),
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia',
    });
    assert.equal(await worker.runOnce(), true);
    assert.equal(
      outbox.entries().length,
      3,
      'the bare id runs the active version live (SR, SC, Parametric Map)',
    );
    assert.deepEqual(
      analysisLog.list({ mode: 'clinical' }).map((e) => e.model),
      ['cxr-pneumonia@1.2.1'],
    );
    // The clinical results are in the node's own store for its DICOMweb (ADR 0195), the
    // shadow model's are not; neither is an arrival nor an input of a later analysis.
    const clinical = analysisLog.list({ mode: 'clinical' })[0]!;
    const results = (
      JSON.parse(await readFile(join(store.dataDir, clinical.summaryPath), 'utf8')) as {
        artifacts: { kind: string; dicom?: { sopInstanceUid: string; modality: string } }[];
      }
    ).artifacts.filter((a) => a.dicom !== undefined);
    assert.deepEqual(results.map((a) => a.kind).sort(), ['parametric-map', 'sc', 'sr']);
    for (const artifact of results) {
      const stored = store.findInstance(artifact.dicom!.sopInstanceUid);
      assert.equal(stored?.studyInstanceUid, study.studyInstanceUid, `${artifact.kind} stored`);
    }
    const shadowSummary = JSON.parse(
      await readFile(join(store.dataDir, entry!.summaryPath), 'utf8'),
    ) as { artifacts: { dicom?: { sopInstanceUid: string } }[] };
    for (const artifact of shadowSummary.artifacts.filter((a) => a.dicom !== undefined)) {
      assert.equal(store.findInstance(artifact.dicom!.sopInstanceUid), undefined, 'shadow');
    }
    assert.deepEqual(
      store.studyInstances(study.studyInstanceUid).map((r) => r.sopInstanceUid),
      [study.sopInstanceUid],
      'an analysis reads the originals only',
    );
    const timer = new StudyStabilityTimer(store, { quietPeriodMs: 0 });
    timer.markDeclared({
      studyInstanceUid: study.studyInstanceUid,
      lastReceivedAt: 1,
      instanceCount: 1,
    });
    assert.deepEqual(timer.dueStudies(), [], 'its own results do not make the study due again');
  });
});

test("on a shared queue, another ingest node's study is analysed and delivered but neither logged nor stored here (ADR 0186)", async () => {
  await withNodeParts(async ({ dir, store, queue, outbox, registry, sessions, lines }) => {
    // The study lives only in the other node's folder; the job names its files (ADR 0183).
    const study = await makeChestStudy(dir, { name: 'OTHER^NODE', id: 'PID-O' });
    queue.enqueue({
      key: 'other-node-study',
      studyInstanceUid: study.studyInstanceUid,
      model: 'cxr-pneumonia@1.2.1',
      payload: { files: [study.file] },
    });
    const analysisLog = new AnalysisLog(store.db);
    const worker = new JobWorker('w', {
      store,
      queue,
      outbox,
      registry,
      analysis: { sessions },
      destinations: [parseDestination(`file://${join(dir, 'out')}`)],
      dataDir: store.dataDir,
      logger: createLogger((line) => lines.push(line)),
      leaseMs: 10_000,
      analysisLog,
    });
    assert.equal(await worker.runOnce(), true);
    const job = queue.get('other-node-study');
    assert.equal(job?.state, 'done');
    assert.ok(Number(job?.result?.['outputs']) > 0, 'analysed');
    assert.ok(outbox.entries().length > 0, 'delivered from here');
    assert.deepEqual(analysisLog.list(), [], "not on this node's worklist");
    assert.deepEqual(store.studyInstances(study.studyInstanceUid), [], 'nothing stored here');
    const count = store.db.prepare('SELECT COUNT(*) AS n FROM result_instances').get() as {
      n: number;
    };
    assert.equal(count.n, 0, 'no result objects stored here');
  });
});
