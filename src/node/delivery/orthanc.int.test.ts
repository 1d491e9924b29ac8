/**
 * Delivery into a real PACS: Orthanc (Debian package, DICOM and DICOMweb enabled) receives
 * the result SR and SC over C-STORE and over STOW-RS; while it is unreachable the entries wait
 * with their attempts and reason, and once it is back they are delivered; resends never create
 * a second instance.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  syntheticDisplay,
  syntheticHeatmap,
  syntheticRecord,
} from '../../../test/support/results.js';
import { writeMeasurementReport, writeSecondaryCapture } from '../../inference/results/index.js';
import { openNodeDatabase, type NodeDatabase } from '../store/index.js';
import { OrthancServer } from '../../../test/support/orthanc.js';
import {
  Outbox,
  OutboxDeliverer,
  parseDestination,
  type DeliveryEvent,
  type DeliveryPayload,
  type OutboxItem,
} from './index.js';
import { SwitchableRelay } from '../../../test/support/delivery/index.js';

let orthanc: OrthancServer;
let dir: string;
let db: NodeDatabase;
const results: { file: string; sopInstanceUid: string; bytes: Uint8Array }[] = [];
let studyInstanceUid: string;

before(async () => {
  orthanc = await OrthancServer.start({ dicom: true, dicomWeb: true });
  dir = await mkdtemp(join(tmpdir(), 'radiolens-delivery-orthanc-'));
  db = openNodeDatabase(join(dir, 'data'));
  const record = syntheticRecord();
  studyInstanceUid = record.studyInstanceUid;
  const sr = writeMeasurementReport(record);
  const sc = writeSecondaryCapture({
    record,
    image: record.sources[0]!,
    display: syntheticDisplay(),
    heatmap: syntheticHeatmap(),
    findings: record.findings,
  });
  const out = join(dir, 'results', 'job-1', studyInstanceUid);
  await mkdir(out, { recursive: true });
  for (const [name, object] of [
    ['SR_1.dcm', sr],
    ['SC_1.dcm', sc],
  ] as const) {
    const file = join(out, name);
    await writeFile(file, object.bytes);
    results.push({ file, sopInstanceUid: object.sopInstanceUid, bytes: object.bytes });
  }
});

after(async () => {
  db?.close();
  await orthanc?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  // Every test starts with an empty PACS.
  for (const id of await orthanc.getJson<string[]>('/studies')) {
    await fetch(`${orthanc.url}/studies/${id}`, { method: 'DELETE' });
  }
  db.exec('DROP TABLE IF EXISTS outbox');
});

/** SOP Instance UID of every instance Orthanc holds. */
async function heldInstances(): Promise<{ id: string; sopInstanceUid: string }[]> {
  const instances =
    await orthanc.getJson<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }[]>(
      '/instances?expand',
    );
  return instances.map((i) => ({ id: i.ID, sopInstanceUid: i.MainDicomTags.SOPInstanceUID }));
}

function items(destination: string, tag = ''): OutboxItem[] {
  return results.map(({ file, sopInstanceUid }) => {
    const payload: DeliveryPayload = { kind: 'dicom', file, studyInstanceUid, sopInstanceUid };
    return {
      key: `${sopInstanceUid}|${destination}${tag}`,
      destination: parseDestination(destination),
      payload,
    };
  });
}

test('C-STORE of the result SR and SC into Orthanc over one association; a resend adds nothing', async () => {
  const outbox = new Outbox(db);
  const events: DeliveryEvent[] = [];
  const deliverer = new OutboxDeliverer(outbox, {
    callingAeTitle: 'RADIOLENS',
    onEvent: (e) => events.push(e),
  });
  // Through a relay that counts connections, to see how many associations were used.
  const relay = await SwitchableRelay.create(orthanc.dicomPort);
  await relay.up();
  const destination = `dicom://${orthanc.aeTitle}@127.0.0.1:${relay.port}`;
  outbox.enqueue(items(destination));
  const started = performance.now();
  assert.equal(await deliverer.runOnce(), 2);
  const elapsed = performance.now() - started;
  assert.equal(relay.connections, 1, 'both files over one association');
  assert.deepEqual(outbox.counts(), { pending: 0, delivered: 2, failing: 0, failed: 0 });
  const held = await heldInstances();
  assert.deepEqual(
    held.map((h) => h.sopInstanceUid).sort(),
    results.map((r) => r.sopInstanceUid).sort(),
  );
  // What Orthanc holds is our object: same UIDs and the AI series description.
  for (const { id } of held) {
    const tags = await orthanc.getJson<Record<string, string>>(`/instances/${id}/simplified-tags`);
    assert.equal(tags['StudyInstanceUID'], studyInstanceUid);
    assert.match(tags['SeriesDescription'] ?? '', /^AI /);
  }

  // The same files again under new keys (a re-run job): Orthanc still holds two instances.
  outbox.enqueue(items(destination, '#again'));
  assert.equal(await deliverer.runOnce(), 2);
  assert.equal((await heldInstances()).length, 2);
  assert.ok(events.every((e) => e.type === 'delivered'));
  await relay.down();
  console.log(`# C-STORE of SR+SC: ${elapsed.toFixed(0)} ms`);
});

test("STOW-RS into Orthanc's DICOMweb: stored byte for byte; a resend adds nothing", async () => {
  const outbox = new Outbox(db);
  const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
  const destination = `dicomweb+${orthanc.url}/dicom-web`;
  outbox.enqueue(items(destination));
  const started = performance.now();
  assert.equal(await deliverer.runOnce(), 2);
  const elapsed = performance.now() - started;
  const held = await heldInstances();
  assert.equal(held.length, 2);
  for (const { id, sopInstanceUid } of held) {
    const ours = results.find((r) => r.sopInstanceUid === sopInstanceUid);
    assert.ok(ours);
    assert.deepEqual(Buffer.from(await orthanc.instanceFile(id)), Buffer.from(ours.bytes));
  }
  outbox.enqueue(items(destination, '#again'));
  assert.equal(await deliverer.runOnce(), 2);
  assert.equal((await heldInstances()).length, 2);
  console.log(`# STOW-RS of SR+SC: ${elapsed.toFixed(0)} ms`);
});

test('STOW-RS batch with one part that is not DICOM: the good ones are delivered, the bad one fails with the reason', async () => {
  const outbox = new Outbox(db);
  const junk = join(dir, 'junk.dcm');
  await writeFile(junk, 'this is not a DICOM file');
  const destination = `dicomweb+${orthanc.url}/dicom-web`;
  outbox.enqueue([
    ...items(destination),
    {
      key: 'junk',
      destination: parseDestination(destination),
      payload: { kind: 'dicom', file: junk, studyInstanceUid, sopInstanceUid: '1.2.3.4.5' },
    },
  ]);
  // One request with three parts; Orthanc answers 400 yet lists the two it stored.
  assert.equal(await new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' }).runOnce(), 2);
  const entry = outbox.get('junk')!;
  assert.equal(entry.state, 'failed', entry.lastError ?? '');
  assert.equal(entry.attempts, 1);
  assert.match(entry.lastError ?? '', /STOW-RS to .* answered HTTP 400/);
  console.log(`# Orthanc's answer to a non-DICOM part: ${entry.lastError}`);
  assert.deepEqual(outbox.counts(), { pending: 0, delivered: 2, failing: 0, failed: 1 });
  assert.equal((await heldInstances()).length, 2);
});

test('Orthanc unreachable while results are pending: they wait, then are delivered once it is back', async () => {
  const dicomRelay = await SwitchableRelay.create(orthanc.dicomPort);
  const httpPort = Number(new URL(orthanc.url).port);
  const httpRelay = await SwitchableRelay.create(httpPort);
  const clock = { offset: 0 };
  const outbox = new Outbox(db, { backoffBaseMs: 5000, now: () => Date.now() + clock.offset });
  const events: DeliveryEvent[] = [];
  const deliverer = new OutboxDeliverer(outbox, {
    callingAeTitle: 'RADIOLENS',
    onEvent: (e) => events.push(e),
  });
  try {
    outbox.enqueue(items(`dicom://${orthanc.aeTitle}@127.0.0.1:${dicomRelay.port}`));
    outbox.enqueue(items(`dicomweb+http://127.0.0.1:${httpRelay.port}/dicom-web`));
    // Down: nothing listens on either port.
    for (let round = 1; round <= 3; round++) {
      assert.equal(await deliverer.runOnce(), 0);
      clock.offset += 60_000;
    }
    const waiting = outbox.entries();
    assert.equal(waiting.length, 4);
    for (const entry of waiting) {
      assert.equal(entry.state, 'pending');
      assert.ok(entry.attempts >= 1, `attempts recorded (${entry.attempts})`);
      assert.match(entry.lastError ?? '', /ECONNREFUSED/);
    }
    assert.equal(outbox.counts().failing, 4);
    assert.equal((await heldInstances()).length, 0);
    assert.ok(events.some((e) => e.type === 'destination-down'));

    // Back: the next due pass delivers everything.
    await dicomRelay.up();
    await httpRelay.up();
    clock.offset += 600_000;
    assert.equal(await deliverer.runOnce(), 4);
    assert.deepEqual(outbox.counts(), { pending: 0, delivered: 4, failing: 0, failed: 0 });
    assert.equal(
      (await heldInstances()).length,
      2,
      'C-STORE and STOW-RS of the same objects: two instances',
    );
  } finally {
    await dicomRelay.down();
    await httpRelay.down();
  }
});

test('the deliverer running in the background delivers when the PACS comes back', async () => {
  const relay = await SwitchableRelay.create(orthanc.dicomPort);
  const outbox = new Outbox(db, { backoffBaseMs: 100, backoffMaxMs: 400 });
  const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS', pollMs: 200 });
  try {
    deliverer.start();
    outbox.enqueue(items(`dicom://${orthanc.aeTitle}@127.0.0.1:${relay.port}`));
    deliverer.kick();
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(outbox.counts().delivered, 0);
    assert.ok(outbox.counts().failing >= 1);
    await relay.up();
    const started = Date.now();
    while (outbox.counts().delivered < 2 && Date.now() - started < 10_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(
      `# delivered ${Date.now() - started} ms after the PACS came back (backoff cap 400 ms)`,
    );
    assert.equal(outbox.counts().delivered, 2);
    assert.equal((await heldInstances()).length, 2);
  } finally {
    await deliverer.stop();
    await relay.down();
  }
});
