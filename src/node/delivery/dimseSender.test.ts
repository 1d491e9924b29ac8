/**
 * The C-STORE sender against a second, independent DICOM implementation path: our own storage
 * SCP (src/ingest/dimse) as the receiving PACS, which can also refuse callers; and a peer that
 * accepts the connection and never answers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DicomStorageScp } from '../ingest/dimse/index.js';
import {
  syntheticDisplay,
  syntheticHeatmap,
  syntheticRecord,
} from '../../../test/support/results.js';
import { writeMeasurementReport, writeSecondaryCapture } from '../../inference/results/index.js';
import { InstanceStore } from '../store/index.js';
import { DimseSender, parseDestination, type DeliveryPayload, type Destination } from './index.js';

let dir: string;
let store: InstanceStore;
let scp: DicomStorageScp;
const payloads: DeliveryPayload[] = [];
const study = syntheticRecord().studyInstanceUid;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'radiolens-dimse-sender-'));
  store = InstanceStore.open(join(dir, 'scp'));
  scp = await DicomStorageScp.start(store, {
    aeTitle: 'RECEIVER',
    port: 0,
    host: '127.0.0.1',
    allowedCallers: [{ aeTitle: 'RADIOLENS' }],
  });
  const record = syntheticRecord();
  const sr = writeMeasurementReport(record);
  const sc = writeSecondaryCapture({
    record,
    image: record.sources[0]!,
    display: syntheticDisplay(),
    heatmap: syntheticHeatmap(),
    findings: record.findings,
  });
  for (const [name, object] of [
    ['SR.dcm', sr],
    ['SC.dcm', sc],
  ] as const) {
    const file = join(dir, name);
    await writeFile(file, object.bytes);
    payloads.push({
      kind: 'dicom',
      file,
      studyInstanceUid: study,
      sopInstanceUid: object.sopInstanceUid,
    });
  }
});

after(async () => {
  await scp.stop();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function dicom(spec: string): Extract<Destination, { kind: 'dicom' }> {
  return parseDestination(spec) as Extract<Destination, { kind: 'dicom' }>;
}

test('both objects stored by the receiving SCP in one association; success status', async () => {
  const outcomes = await new DimseSender({ callingAeTitle: 'RADIOLENS' }).send(
    dicom(`dicom://RECEIVER@127.0.0.1:${scp.port}`),
    payloads,
  );
  assert.deepEqual(outcomes, [{ status: 'delivered' }, { status: 'delivered' }]);
  for (const payload of payloads) {
    assert.ok(payload.kind === 'dicom' && store.findInstance(payload.sopInstanceUid), 'stored');
  }
});

test('association rejected (calling AE not allowed, called AE unknown): retry with the reason', async () => {
  const sender = new DimseSender({ callingAeTitle: 'STRANGER' });
  const refused = await sender.send(dicom(`dicom://RECEIVER@127.0.0.1:${scp.port}`), payloads);
  for (const outcome of refused) {
    assert.equal(outcome.status, 'retry');
    assert.match(
      outcome.status === 'retry' ? outcome.reason : '',
      /association rejected by RECEIVER \(result 1, source 1, reason 3\)/,
    );
  }
  const unknown = await new DimseSender({ callingAeTitle: 'RADIOLENS' }).send(
    dicom(`dicom://WRONGAE@127.0.0.1:${scp.port}`),
    payloads.slice(0, 1),
  );
  assert.match(
    unknown[0]?.status === 'retry' ? unknown[0].reason : '',
    /rejected by WRONGAE .*reason 7\)/,
  );
});

test('a file that is not DICOM is refused before any association; the others still go', async () => {
  const junk = join(dir, 'junk.dcm');
  await writeFile(junk, 'not DICOM at all');
  const outcomes = await new DimseSender({ callingAeTitle: 'RADIOLENS' }).send(
    dicom(`dicom://RECEIVER@127.0.0.1:${scp.port}`),
    [{ kind: 'dicom', file: junk, studyInstanceUid: study, sopInstanceUid: '1.2.3' }, payloads[0]!],
  );
  assert.equal(outcomes[0]?.status, 'rejected');
  assert.match(
    outcomes[0]?.status === 'rejected' ? outcomes[0].reason : '',
    /cannot read the result file as DICOM/,
  );
  assert.deepEqual(outcomes[1], { status: 'delivered' });
});

test('a peer that accepts the connection and never answers: timeout, retry', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    const started = Date.now();
    const outcomes = await new DimseSender({
      callingAeTitle: 'RADIOLENS',
      connectTimeoutMs: 1000,
      responseTimeoutMs: 1000,
    }).send(dicom(`dicom://SILENT@127.0.0.1:${port}`), payloads);
    const elapsed = Date.now() - started;
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'retry');
      assert.match(
        outcome.status === 'retry' ? outcome.reason : '',
        /timeout|no end of association/i,
      );
    }
    assert.ok(elapsed < 10_000, `gave up in ${elapsed} ms`);
    console.log(
      `# silent peer: gave up after ${elapsed} ms: ${outcomes[0]?.status === 'retry' ? outcomes[0].reason : ''}`,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});
