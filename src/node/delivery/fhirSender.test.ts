import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticRecord } from '../../../test/support/results.js';
import { buildFhirBundle, writeMeasurementReport } from '../../inference/results/index.js';
import { openNodeDatabase } from '../store/index.js';
import { validateFhirR4 } from '../../../test/support/index.js';
import {
  Outbox,
  OutboxDeliverer,
  parseDestination,
  toTransactionBundle,
  type DeliveryEvent,
} from './index.js';
import { FhirTestServer } from '../../../test/support/delivery/index.js';
import { childScript } from '../../../test/support/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const STUDY = '1.2.826.0.1.3680043.8.498.10001';
let dir: string;
let fhir: FhirTestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'radiolens-fhir-delivery-'));
  fhir = await FhirTestServer.start();
});
after(async () => {
  await fhir.stop();
  await rm(dir, { recursive: true, force: true });
});

function collectionBundle(): Json {
  const record = syntheticRecord();
  return buildFhirBundle(record, {
    srSopInstanceUid: writeMeasurementReport(record).sopInstanceUid,
  }) as Json;
}

async function setup(
  name: string,
  bundle: Json,
): Promise<{ outbox: Outbox; close: () => void; dataDir: string }> {
  const dataDir = join(dir, name);
  const db = openNodeDatabase(dataDir);
  await writeFile(join(dataDir, 'fhir-bundle.json'), JSON.stringify(bundle));
  const outbox = new Outbox(db, { backoffBaseMs: 1000 });
  outbox.enqueue([
    {
      key: `${STUDY}|bundle|${name}`,
      destination: parseDestination(`fhir+${fhir.baseUrl}`),
      payload: {
        kind: 'fhir-bundle',
        file: join(dataDir, 'fhir-bundle.json'),
        studyInstanceUid: STUDY,
      },
    },
  ]);
  return { outbox, close: () => db.close(), dataDir };
}

test('the transaction Bundle: PUT Type/id per entry, references rewritten, valid R4', () => {
  const collection = collectionBundle();
  const transaction = toTransactionBundle(collection);
  assert.equal(transaction['type'], 'transaction');
  const entries = transaction['entry'] as Json[];
  assert.equal(entries.length, collection['entry'].length);
  for (const entry of entries) {
    assert.deepEqual(entry['request'], {
      method: 'PUT',
      url: `${entry['resource'].resourceType}/${entry['resource'].id}`,
    });
  }
  const text = JSON.stringify(entries.map((e) => e['resource']));
  assert.doesNotMatch(text, /"reference":"urn:uuid:/);
  assert.match(text, /"reference":"Patient\/[0-9a-f-]{36}"/);
  // Valid, and without the urn:uuid reference warnings the collection has.
  const issues = validateFhirR4(transaction);
  assert.deepEqual(
    issues.filter((i) => i.severity === 'error'),
    [],
  );
  for (const entry of entries) validateFhirR4(entry['resource']);
  assert.throws(() => toTransactionBundle({ resourceType: 'Patient' }), /not a Bundle/);
  assert.throws(
    () =>
      toTransactionBundle({
        resourceType: 'Bundle',
        entry: [{ resource: { resourceType: 'Patient' } }],
      }),
    /no valid id/,
  );
});

test('delivered to a FHIR endpoint; a resend updates the same resources', async () => {
  const { outbox, close } = await setup('ok', collectionBundle());
  try {
    const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
    const before = fhir.requests.length;
    assert.equal(await deliverer.runOnce(), 1);
    // Report, 2 Observations, Device, ImagingStudy, Patient and the analysed image as Media (ADR 0152).
    assert.deepEqual(fhir.requests.slice(before), [{ status: 200, entries: 7 }]);
    assert.equal(outbox.entries()[0]!.state, 'delivered');
    const held = fhir.resources.size;
    assert.equal(held, 7);
    // The same bundle again (as after a crash before the outcome was recorded).
    const again = await setup('ok-again', collectionBundle());
    assert.equal(
      await new OutboxDeliverer(again.outbox, { callingAeTitle: 'RADIOLENS' }).runOnce(),
      1,
    );
    again.close();
    assert.equal(fhir.resources.size, held, 'no duplicates: PUT by id');
  } finally {
    close();
  }
});

test('a 500 is retried with the reason; the next attempt delivers', async () => {
  const { outbox, close } = await setup('500', collectionBundle());
  try {
    const events: DeliveryEvent[] = [];
    const deliverer = new OutboxDeliverer(outbox, {
      callingAeTitle: 'RADIOLENS',
      onEvent: (e) => events.push(e),
    });
    fhir.failNext(1);
    assert.equal(await deliverer.runOnce(), 0);
    const entry = outbox.entries()[0]!;
    assert.equal(entry.state, 'pending');
    assert.equal(entry.attempts, 1);
    assert.match(entry.lastError ?? '', /HTTP 500: simulated server failure/);
    assert.equal(events[0]?.type, 'retry');
    // Due after the backoff (1 s); wait for it rather than faking the clock.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await deliverer.runOnce(), 1);
    assert.equal(outbox.entries()[0]!.state, 'delivered');
  } finally {
    close();
  }
});

test('content the validator refuses fails with its diagnostics, and is not retried', async () => {
  const broken = collectionBundle();
  const observation = broken['entry'].find((e: Json) => e.resource.resourceType === 'Observation');
  // A Quantity that is a string: structurally invalid R4 (the validator throws).
  observation.resource.valueQuantity = 'high';
  const { outbox, close } = await setup('invalid', broken);
  try {
    const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
    assert.equal(await deliverer.runOnce(), 0);
    const entry = outbox.entries()[0]!;
    assert.equal(entry.state, 'failed');
    assert.match(entry.lastError ?? '', /HTTP 422/);
    assert.match(entry.lastError ?? '', /invalid FHIR R4: .*Bundle\.entry\[1\]\.resource\.value/);
    assert.deepEqual(outbox.counts(), { pending: 0, delivered: 0, failing: 0, failed: 1 });
  } finally {
    close();
  }
});

test('SIGKILL while the transaction is in flight: the claim expires and the resend is harmless', async () => {
  const { outbox, close, dataDir } = await setup('crash', collectionBundle());
  try {
    const script = childScript('deliverOnce');
    fhir.stallNext(1);
    const received = fhir.received;
    const resourcesBefore = fhir.resources.size;
    const child = spawn(process.execPath, [...script.execArgv, script.path, dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const started = Date.now();
    while (fhir.received === received && child.exitCode === null && Date.now() - started < 20_000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(fhir.received, received + 1, `the child sent the transaction ${stderr}`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const entry = outbox.entries()[0]!;
    assert.equal(
      entry.state,
      'pending',
      JSON.stringify({ entry, received: fhir.received, before: received, requests: fhir.requests }),
    );
    assert.ok(entry.claimedUntil !== null && entry.claimedUntil > Date.now(), 'still claimed');
    // Not before the claim expires…
    const deliverer = new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' });
    assert.equal(await deliverer.runOnce(), 0);
    // …then sent again, as by a restarted node an hour later.
    const later = new Outbox(outbox.db, { now: () => Date.now() + 3_600_000 });
    assert.equal(await new OutboxDeliverer(later, { callingAeTitle: 'RADIOLENS' }).runOnce(), 1);
    const done = outbox.entries()[0]!;
    assert.equal(done.state, 'delivered');
    assert.equal(done.attempts, 1);
    assert.match(done.lastError ?? '', /claim expired/);
    assert.equal(fhir.received, received + 2);
    assert.equal(
      fhir.resources.size,
      Math.max(resourcesBefore, 6),
      'the stalled commit and the resend are one set',
    );
  } finally {
    close();
  }
});
