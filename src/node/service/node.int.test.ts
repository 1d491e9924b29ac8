/**
 * `radiolens serve` end to end (issue #3, item 5): a real Orthanc (with its DICOMweb plugin)
 * as the PACS, real `radiolens serve` child processes, real dcmtk tools, the shipped model.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDicomFile } from '../../foundation/dicom/index.js';
import { PduTap } from '../../../test/support/pduTap.js';
import { InstanceStore } from '../store/index.js';
import { objectFilesIn } from '../../../test/support/store.js';
import { conformanceDir } from '../../../test/support/index.js';
import { OrthancServer, freeLoopbackPort } from '../../../test/support/orthanc.js';
import { TEST_DELAY_ENV } from './worker.js';
import {
  ServeProcess,
  makeChestStudy,
  run,
  waitFor,
  type ChestStudy,
} from '../../../test/support/node.js';

let orthanc: OrthancServer;
let work: string;
const running = new Set<ServeProcess>();

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-node-int-'));
  orthanc = await OrthancServer.start({ dicom: true, dicomWeb: true });
});

after(async () => {
  for (const serve of running) await serve.kill();
  await orthanc?.stop();
  await rm(work, { recursive: true, force: true });
});

/** The parts of the /health body the tests read. */
interface HealthBody {
  readonly status?: string;
  readonly queue?: Record<string, number>;
  readonly outbox?: Record<string, number>;
  readonly notRouted?: number;
  readonly listeners?: { dicom: { port: number } };
}

interface NodeUnderTest {
  readonly serve: ServeProcess;
  readonly dataDir: string;
  readonly dicomPort: number;
  readonly httpPort: number;
  health(): Promise<{ status: number; body: HealthBody }>;
}

/** Starts `radiolens serve` on free loopback ports with a 1 s quiet period. */
/** The bearer token of the machine client that reads DICOMweb in these tests (ADR 0174). */
const VIEWER_TOKEN = 'viewer-token-for-the-node-integration-test';

async function startNode(
  name: string,
  args: readonly string[],
  options: {
    config?: Record<string, unknown>;
    env?: Record<string, string>;
    ports?: { dicom: number; http: number };
  } = {},
): Promise<NodeUnderTest> {
  const dataDir = join(work, name);
  const dicomPort = options.ports?.dicom ?? (await freeLoopbackPort());
  const httpPort = options.ports?.http ?? (await freeLoopbackPort());
  const configArgs: string[] = [];
  if (options.config !== undefined) {
    const file = join(work, `${name}.json`);
    await writeFile(file, JSON.stringify(options.config));
    configArgs.push('--config', file);
  }
  const serve = await ServeProcess.start(
    [
      ...configArgs,
      '--data',
      dataDir,
      '--dicom-port',
      String(dicomPort),
      '--http-port',
      String(httpPort),
      '--host',
      '127.0.0.1',
      '--quiet-period',
      '1',
      ...args,
    ],
    options.env,
  );
  running.add(serve);
  void serve.exited.then(() => running.delete(serve));
  return {
    serve,
    dataDir,
    dicomPort,
    httpPort,
    health: async () => {
      const response = await fetch(`http://127.0.0.1:${httpPort}/health`);
      return { status: response.status, body: (await response.json()) as HealthBody };
    },
  };
}

interface OrthancSeries {
  ID: string;
  Instances: string[];
  MainDicomTags: { Modality?: string; SeriesInstanceUID?: string };
}

async function orthancStudyId(studyInstanceUid: string): Promise<string | undefined> {
  const response = await fetch(`${orthanc.url}/tools/lookup`, {
    method: 'POST',
    body: studyInstanceUid,
  });
  const found = (await response.json()) as { Type: string; ID: string }[];
  return found.find((f) => f.Type === 'Study')?.ID;
}

async function orthancSeries(studyInstanceUid: string): Promise<OrthancSeries[]> {
  const id = await orthancStudyId(studyInstanceUid);
  return id === undefined ? [] : orthanc.getJson<OrthancSeries[]>(`/studies/${id}/series`);
}

const byModality = (series: OrthancSeries[], modality: string): OrthancSeries[] =>
  series.filter((s) => s.MainDicomTags.Modality === modality);

/** Waits until the study in Orthanc holds the SR series and both OT series (SC and Parametric Map). */
function resultsInOrthanc(study: ChestStudy, timeoutMs = 90_000): Promise<OrthancSeries[]> {
  return waitFor(
    'the SR, SC and Parametric Map series in Orthanc',
    async () => {
      const series = await orthancSeries(study.studyInstanceUid);
      return byModality(series, 'SR').length > 0 && byModality(series, 'OT').length > 1
        ? series
        : undefined;
    },
    timeoutMs,
    300,
  );
}

/** The result files the node wrote for a study: results/<jobId>/<study>/{SR,SC}_*.dcm. */
async function resultFiles(dataDir: string, study: ChestStudy): Promise<string[]> {
  const files: string[] = [];
  for (const job of await readdir(join(dataDir, 'results'))) {
    const dir = join(dataDir, 'results', job, study.studyInstanceUid);
    if (!existsSync(dir)) continue;
    for (const name of await readdir(dir)) if (name.endsWith('.dcm')) files.push(join(dir, name));
  }
  return files;
}

/** Puts a study into Orthanc (REST upload); returns Orthanc's study id. */
async function uploadToOrthanc(study: ChestStudy): Promise<string> {
  await orthanc.upload(await readFile(study.file));
  const id = await orthancStudyId(study.studyInstanceUid);
  assert.ok(id, 'Orthanc has the study');
  return id;
}

async function orthancPost(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${orthanc.url}${path}`, {
    method: path.startsWith('/modalities/') || path.includes('/stow') ? 'POST' : 'PUT',
    body: JSON.stringify(body),
  });
  assert.ok(response.ok, `Orthanc ${path}: HTTP ${response.status} ${await response.text()}`);
}

test('C-STORE from Orthanc: SR and SC come back into the same study; logs carry no PHI or UID; SIGTERM exits 0', async (t) => {
  const patient = { name: 'SECRETSURNAME^GIVEN', id: 'PID-774411' };
  const study = await makeChestStudy(work, patient, 'cstore');
  const outFolder = join(work, 'cstore-out');
  const node = await startNode(
    'cstore',
    [
      '--allow',
      `${orthanc.aeTitle}@127.0.0.1`,
      '--model',
      'cxr-pneumonia',
      '--send-to',
      `dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`,
      '--send-to',
      `file://${outFolder}`,
    ],
    { env: { RADIOLENS_HTTP_TOKEN: VIEWER_TOKEN } },
  );
  const orthancStudy = await uploadToOrthanc(study);
  await orthanc.registerModality('radiolens', {
    aeTitle: 'RADIOLENS',
    host: '127.0.0.1',
    port: node.dicomPort,
  });
  const sending = Date.now();
  await orthanc.storeToModality('radiolens', [orthancStudy]);

  const series = await resultsInOrthanc(study);
  const roundTrip = Date.now() - sending;
  // Our series, by their UIDs, in the study Orthanc sent.
  const ours = await Promise.all((await resultFiles(node.dataDir, study)).map(readDicomFile));
  const sr = ours.filter((i) => i.sopClassUid === '1.2.840.10008.5.1.4.1.1.88.33');
  // Secondary Capture by SOP class: the Parametric Map (ADR 0142) is Modality OT too.
  const sc = ours.filter((i) => i.sopClassUid === '1.2.840.10008.5.1.4.1.1.7');
  const pm = ours.filter((i) => i.sopClassUid === '1.2.840.10008.5.1.4.1.1.30');
  assert.equal(sr.length, 1);
  assert.equal(sc.length, 1);
  assert.equal(pm.length, 1, 'the heatmap as a Parametric Map is delivered too');
  for (const instance of [...sr, ...sc, ...pm])
    assert.equal(instance.studyInstanceUid, study.studyInstanceUid);
  assert.deepEqual(
    byModality(series, 'SR').map((s) => s.MainDicomTags.SeriesInstanceUID),
    [sr[0]!.seriesInstanceUid],
  );
  assert.deepEqual(
    byModality(series, 'OT')
      .map((s) => s.MainDicomTags.SeriesInstanceUID)
      .sort(),
    [sc[0]!.seriesInstanceUid, pm[0]!.seriesInstanceUid].sort(),
  );
  // The FHIR bundle (and the DICOM outputs) went to the folder destination too.
  const health = await waitFor('everything delivered', async () => {
    const h = await node.health();
    // SR, SC and Parametric Map to Orthanc; the same and the FHIR bundle to the folder.
    return h.body['outbox']?.pending === 0 && h.body['outbox']?.delivered === 7 ? h : undefined;
  });
  assert.equal(health.status, 200);
  assert.equal(health.body['status'], 'ok');
  assert.deepEqual(health.body['queue'], { queued: 0, running: 0, done: 1, failed: 0 });
  assert.equal(health.body['notRouted'], 0);
  assert.equal(health.body.listeners?.dicom.port, node.dicomPort);
  const delivered = await readdir(outFolder, { recursive: true });
  assert.ok(
    delivered.some((f) => String(f).endsWith('.json')),
    `FHIR bundle in ${delivered.join(', ')}`,
  );

  // The same node answers a viewer's QIDO-RS for the study (ADR 0170); its log line names
  // the kind of read only (checked with the other lines below). The results are delivered
  // and also kept in the node (ADR 0195), so the study there has the original series, the
  // SR, the SC and the Parametric Map — and was analysed once (queue: done 1, above).
  const qido = await fetch(
    `http://127.0.0.1:${node.httpPort}/dicomweb/studies?PatientID=${patient.id}&includefield=00081030`,
    // A viewer reads as a machine client with the token (or as a logged-in radiologist).
    { headers: { accept: 'application/dicom+json', authorization: `Bearer ${VIEWER_TOKEN}` } },
  );
  assert.equal(qido.status, 200);
  const found = (await qido.json()) as Record<string, { Value?: unknown[] }>[];
  assert.deepEqual(
    found.map((s) => [s['0020000D']?.Value?.[0], s['00201206']?.Value?.[0]]),
    [[study.studyInstanceUid, 4]],
  );

  const job = node.serve.logs().find((l) => l.event === 'job-done');
  // Measured, not asserted: sent → results in the PACS includes the 1 s quiet period.
  t.diagnostic(
    `PACS → node → PACS round trip ${roundTrip} ms; the job itself ${String(job?.['ms'])} ms`,
  );
  const exit = await node.serve.stop();
  assert.deepEqual(exit, { code: 0, signal: null });

  const lines = node.serve.stderrLines.filter((l) => l.trim() !== '');
  const events = node.serve.logs().map((l) => l.event);
  for (const expected of [
    'node-started',
    'dimse-stored',
    'job-enqueued',
    'job-done',
    'delivery-delivered',
    'dicomweb-read',
    'node-stopped',
  ]) {
    assert.ok(events.includes(expected), `log has ${expected}: ${events.join(', ')}`);
  }
  assert.equal(node.serve.logs().length, lines.length, 'every stderr line is a JSON log line');
  const secrets = [
    'SECRETSURNAME',
    patient.id,
    study.studyInstanceUid,
    study.sopInstanceUid,
    ...ours.flatMap((i) => [i.sopInstanceUid, i.seriesInstanceUid]),
    ...series.map((s) => s.MainDicomTags.SeriesInstanceUID ?? 'none'),
  ];
  for (const line of lines) {
    for (const secret of secrets)
      assert.ok(!line.includes(secret), `log line leaks ${secret}: ${line}`);
  }
});

test('DICOMweb: Orthanc sends by STOW-RS, the results come back by STOW-RS into the same study', async () => {
  const study = await makeChestStudy(work, { name: 'WEB^PATIENT', id: 'PID-WEB' }, 'dicomweb');
  const node = await startNode('dicomweb', ['--send-to', `dicomweb+${orthanc.url}/dicom-web`], {
    config: {
      routes: [
        { match: { modality: 'CT' }, models: [], shadow: ['cxr-pneumonia@1.0.0'] },
        {
          match: { modality: ['CR', 'DX'], bodyPartExamined: 'CHEST' },
          models: ['cxr-pneumonia@1.2.1'],
        },
      ],
    },
  });
  const orthancStudy = await uploadToOrthanc(study);
  await orthancPost('/dicom-web/servers/radiolens', {
    Url: `http://127.0.0.1:${node.httpPort}/dicomweb/`,
  });
  await orthancPost('/dicom-web/servers/radiolens/stow', {
    Resources: [orthancStudy],
    Synchronous: true,
  });
  const series = await resultsInOrthanc(study);
  assert.equal(byModality(series, 'SR').length, 1);
  assert.equal(byModality(series, 'OT').length, 2, 'SC and Parametric Map');
  assert.ok(node.serve.logs().some((l) => l.event === 'stow-stored'));
  assert.deepEqual(await node.serve.stop(), { code: 0, signal: null });
});

test('results pending while Orthanc is stopped are delivered once it is back', async () => {
  const study = await makeChestStudy(work, { name: 'DOWN^PATIENT', id: 'PID-DOWN' }, 'pacsdown');
  const node = await startNode(
    'pacsdown',
    [
      '--send-to',
      `dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`,
      '--allow',
      'STORESCU',
    ],
    { config: { delivery: { retryFirstSeconds: 0.2, retryMaxSeconds: 1 } } },
  );
  // The study is in the PACS; then the PACS goes down for maintenance (the real process stops).
  await uploadToOrthanc(study);
  await orthanc.pause();
  try {
    const sent = await run('storescu', [
      '-aet',
      'STORESCU',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(node.dicomPort),
      study.file,
    ]);
    assert.equal(sent.code, 0, sent.output);
    const failing = await waitFor('delivery attempts failing while Orthanc is down', async () => {
      const h = await node.health();
      return h.body['queue']?.done === 1 && (h.body.outbox?.['failing'] ?? 0) >= 1 ? h : undefined;
    });
    assert.equal(failing.body.outbox?.['delivered'], 0);
    await new Promise((r) => setTimeout(r, 1500)); // a few more failed attempts
  } finally {
    await orthanc.resume();
  }
  const series = await resultsInOrthanc(study, 30_000);
  assert.equal(byModality(series, 'SR').length, 1);
  assert.equal(byModality(series, 'OT').length, 2, 'SC and Parametric Map');
  const after = await waitFor('outbox drained', async () => {
    const h = await node.health();
    return h.body['outbox']?.pending === 0 ? h : undefined;
  });
  assert.equal(after.body.outbox?.['delivered'], 3, 'SR, SC and Parametric Map');
  assert.ok(
    node.serve
      .logs()
      .some((l) => l.event === 'delivery-retry' || l.event === 'delivery-destination-down'),
  );
  assert.deepEqual(await node.serve.stop(), { code: 0, signal: null });
});

test('SIGKILL mid-job: after a restart the job completes exactly once, no duplicate series', async () => {
  const study = await makeChestStudy(work, { name: 'KILL^PATIENT', id: 'PID-KILL' }, 'sigkill');
  const ports = { dicom: await freeLoopbackPort(), http: await freeLoopbackPort() };
  // Default lease (30 s) and delivery claim (10 min): the restart must not wait for them.
  const config = {};
  const args = ['--send-to', `dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`];
  const first = await startNode('sigkill', args, {
    config,
    ports,
    env: { [TEST_DELAY_ENV]: '600000' },
  });
  const orthancStudy = await uploadToOrthanc(study);
  await orthanc.registerModality('radiolens', {
    aeTitle: 'RADIOLENS',
    host: '127.0.0.1',
    port: ports.dicom,
  });
  await orthanc.storeToModality('radiolens', [orthancStudy]);
  // The job has analysed the study and queued its outputs, and the deliverer has sent them:
  // the hardest moment to die, results out but the job not completed.
  await first.serve.waitForLog('job-test-delay', 90_000);
  await resultsInOrthanc(study);
  await first.serve.kill();
  assert.equal(first.serve.child.signalCode, 'SIGKILL');

  const second = await startNode('sigkill', args, { config, ports });
  const recovered = await second.serve.waitForLog('recovered-after-crash', 10_000);
  assert.equal(recovered['staleLock'], true);
  assert.equal(recovered['jobsResumed'], 1);
  const done = await second.serve.waitForLog('job-done', 20_000);
  assert.equal(done['outboxNew'], 0, 'the re-run queued nothing new');
  const started = second.serve.logs().find((l) => l.event === 'job-started');
  assert.equal(started?.['attempt'], 2, 'the same job, second attempt');
  const health = await waitFor('outbox drained', async () => {
    const h = await second.health();
    return h.body['outbox']?.pending === 0 ? h : undefined;
  });
  assert.deepEqual(health.body['queue'], { queued: 0, running: 0, done: 1, failed: 0 });
  assert.equal(health.body.outbox?.['delivered'], 3, 'SR, SC and Parametric Map');
  await new Promise((r) => setTimeout(r, 1000));
  const series = await orthancSeries(study.studyInstanceUid);
  assert.deepEqual(series.map((s) => `${s.MainDicomTags.Modality}:${s.Instances.length}`).sort(), [
    'CR:1',
    'OT:1',
    'OT:1',
    'SR:1',
  ]);
  assert.deepEqual(await second.serve.stop(), { code: 0, signal: null });
});

test('a calling AE not on the allow-list is refused; an aborted association leaves nothing indexed', async () => {
  const node = await startNode('allowlist', ['--allow', 'STORESCU', '--workers', '0'], {
    config: { routes: [{ match: { modality: ['CR', 'DX'] }, models: ['cxr-pneumonia'] }] },
  });
  const refused = await run('echoscu', [
    '-aet',
    'BADAE',
    '-aec',
    'RADIOLENS',
    '127.0.0.1',
    String(node.dicomPort),
  ]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.output, /Association Rejected/i);
  assert.match(refused.output, /Calling AE Title Not Recognized/i);
  const accepted = await run('echoscu', [
    '-aet',
    'STORESCU',
    '-aec',
    'RADIOLENS',
    '127.0.0.1',
    String(node.dicomPort),
  ]);
  assert.equal(accepted.code, 0, accepted.output);

  const file = join(conformanceDir, 'pydicom-data', 'MR2_UNCI.dcm'); // 2 MB, ~130 PDUs
  const tap = await PduTap.start({ targetPort: node.dicomPort, abortAfterDataPdus: 20 });
  try {
    const cut = await run('storescu', [
      '-aet',
      'STORESCU',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(tap.port),
      file,
    ]);
    assert.notEqual(cut.code, 0);
    assert.equal(tap.aborted, true);
  } finally {
    await tap.stop();
  }
  await node.serve.waitForLog('dimse-association-aborted', 10_000);
  const store = InstanceStore.open(node.dataDir);
  try {
    assert.deepEqual(store.studies(), [], 'nothing indexed');
  } finally {
    store.close();
  }
  assert.deepEqual(objectFilesIn(node.dataDir), [], 'nothing half-written on disk');
  // The whole file afterwards: stored, stable, and not routed (an MR; the only rule wants CR/DX).
  const full = await run('storescu', [
    '-aet',
    'STORESCU',
    '-aec',
    'RADIOLENS',
    '127.0.0.1',
    String(node.dicomPort),
    file,
  ]);
  assert.equal(full.code, 0, full.output);
  const health = await waitFor('the MR study recorded as not routed', async () => {
    const h = await node.health();
    return h.body.notRouted === 1 ? h : undefined;
  });
  assert.equal(health.status, 200);
  assert.deepEqual(health.body.queue, { queued: 0, running: 0, done: 0, failed: 0 });
  assert.ok(node.serve.logs().some((l) => l.event === 'study-not-routed'));
  assert.ok(
    node.serve
      .logs()
      .some((l) => l.event === 'dimse-association-rejected' && l['callingAeTitle'] === 'BADAE'),
  );
  assert.deepEqual(await node.serve.stop(), { code: 0, signal: null });
});

test('watched folder in; SIGTERM mid-job re-queues the job within the grace period; the next start completes it', async () => {
  const study = await makeChestStudy(work, { name: 'TERM^PATIENT', id: 'PID-TERM' }, 'sigterm');
  const outFolder = join(work, 'sigterm-out');
  const ports = { dicom: await freeLoopbackPort(), http: await freeLoopbackPort() };
  const args = ['--send-to', `file://${outFolder}`];
  const config = { shutdownGraceSeconds: 1 };
  const first = await startNode('sigterm', args, {
    config,
    ports,
    env: { [TEST_DELAY_ENV]: '600000' },
  });
  // The default watched folder is <data>/import; the file is stored, then removed.
  const incoming = join(first.dataDir, 'import', 'incoming.dcm');
  await writeFile(incoming, await readFile(study.file));
  await first.serve.waitForLog('job-test-delay', 90_000);
  assert.equal(existsSync(incoming), false, 'the imported file was taken in');
  const stopping = Date.now();
  assert.deepEqual(await first.serve.stop(), { code: 0, signal: null });
  assert.ok(Date.now() - stopping < 10_000, 'stopped within the grace period, not after the job');
  const released = first.serve.logs().find((l) => l.event === 'job-released');
  assert.equal(released?.['released'], true);

  const second = await startNode('sigterm', args, { config, ports });
  const done = await second.serve.waitForLog('job-done', 90_000);
  assert.equal(done['outboxNew'], 0, 'the outputs were queued before the stop; none twice');
  const health = await waitFor('outbox drained', async () => {
    const h = await second.health();
    return h.body['outbox']?.pending === 0 ? h : undefined;
  });
  assert.deepEqual(health.body['queue'], { queued: 0, running: 0, done: 1, failed: 0 });
  assert.equal(
    health.body.outbox?.['delivered'],
    4,
    'SR, SC, Parametric Map and FHIR bundle in the folder',
  );
  assert.deepEqual(await second.serve.stop(), { code: 0, signal: null });
});
