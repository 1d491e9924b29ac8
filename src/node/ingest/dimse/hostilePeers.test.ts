/**
 * The storage SCP against peers that break the upper-layer protocol (issue #16, problems 1
 * and 3), played over raw TCP sockets with hand-built PDUs: nothing of dcmjs-dimse or of our
 * own parsing is on the attacking side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstanceStore } from '../../store/index.js';
import {
  A_RELEASE_RQ,
  EXPLICIT_LITTLE,
  IMPLICIT_LITTLE,
  RawPeer,
  VERIFICATION,
  associateRq,
  cStoreRq,
  cStoreRqCommand,
  pDataTf,
  responseStatus,
} from '../../../../test/support/rawPdu.js';
import {
  element,
  identifyingAttributes,
  nestedSequences,
} from '../../../../test/support/craftedDicom.js';

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
import { DicomStorageScp, type ScpEvent, type StorageScpOptions } from './index.js';

async function withScp(
  options: Partial<StorageScpOptions>,
  run: (scp: DicomStorageScp, events: ScpEvent[]) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-hostile-'));
  const store = InstanceStore.open(join(dir, 'data'));
  const events: ScpEvent[] = [];
  const scp = await DicomStorageScp.start(store, {
    aeTitle: 'RADIOLENS',
    port: 0,
    host: '127.0.0.1',
    allowedCallers: 'any',
    onEvent: (event) => events.push(event),
    ...options,
  });
  try {
    await run(scp, events);
  } finally {
    await scp.stop(0);
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const echoContext = (id: number) => ({
  id,
  abstractSyntax: VERIFICATION,
  transferSyntaxes: [IMPLICIT_LITTLE],
});

const rq = (ids: readonly number[]): Buffer =>
  associateRq({ called: 'RADIOLENS', calling: 'PEER', contexts: ids.map(echoContext) });

/** Presentation context results of an A-ASSOCIATE-AC: ID → result (PS3.8 9.3.3.2). */
function acceptedContexts(ac: Buffer): Map<number, number> {
  assert.equal(ac[0], 0x02, `expected A-ASSOCIATE-AC, got PDU type ${ac[0]}`);
  const results = new Map<number, number>();
  let offset = 6 + 68;
  const end = 6 + ac.readUInt32BE(2);
  while (offset < end) {
    const length = ac.readUInt16BE(offset + 2);
    if (ac[offset] === 0x21) results.set(ac[offset + 4] as number, ac[offset + 6] as number);
    offset += 4 + length;
  }
  return results;
}

/** A new association still gets an A-ASSOCIATE-AC: the node is alive and answering. */
async function assertStillServing(scp: DicomStorageScp): Promise<void> {
  const peer = await RawPeer.connect(scp.port);
  peer.send(rq([1]));
  const reply = await peer.whenReceived(6, 5_000);
  assert.equal(reply[0], 0x02, 'the node answers a normal association request');
  peer.send(A_RELEASE_RQ);
  const acLength = 6 + reply.readUInt32BE(2);
  const released = await peer.whenReceived(acLength + 10, 5_000);
  assert.equal(released[acLength], 0x06, 'A-RELEASE-RP');
  peer.destroy();
}

const refusals = (events: ScpEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'association-refused' ? [e.reason] : []));

test('two presentation contexts with ID 255: A-ABORT, a coded log record, and the node lives', async () => {
  await withScp({}, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    peer.send(rq([255, 255]));
    await peer.whenClosed(5_000);
    const reply = peer.bytes();
    // A-ABORT, service provider, invalid PDU parameter value (PS3.8 9.3.8).
    assert.deepEqual([...reply.subarray(0, 10)], [7, 0, 0, 0, 0, 4, 0, 0, 2, 6]);
    assert.deepEqual(refusals(events), ['invalid-associate-request']);
    await assertStillServing(scp);
  });
});

test('an even presentation context ID is refused the same way', async () => {
  await withScp({}, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    peer.send(rq([2]));
    await peer.whenClosed(5_000);
    assert.equal(peer.bytes()[0], 0x07);
    assert.deepEqual(refusals(events), ['invalid-associate-request']);
  });
});

test('presentation contexts in descending ID order (3, then 1) are both accepted under their IDs', async () => {
  await withScp({}, async (scp) => {
    const peer = await RawPeer.connect(scp.port);
    peer.send(rq([3, 1]));
    const ac = await peer.whenReceived(6, 5_000);
    assert.deepEqual([...acceptedContexts(ac)].sort(), [
      [1, 0],
      [3, 0],
    ]);
    peer.destroy();
  });
});

test('a PDU header declaring 4 GB is aborted at once, before its body is buffered', async () => {
  await withScp({}, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    const header = Buffer.from([0x01, 0, 0xff, 0xff, 0xff, 0xff]);
    peer.send(header);
    // Keep streaming: the node must not be collecting it.
    const junk = Buffer.alloc(64 * 1024, 0x41);
    const streaming = setInterval(() => peer.send(junk), 5);
    try {
      await peer.whenClosed(5_000);
    } finally {
      clearInterval(streaming);
    }
    assert.equal(peer.bytes()[0], 0x07, 'A-ABORT');
    assert.deepEqual(refusals(events), ['pdu-too-long']);
    await assertStillServing(scp);
  });
});

test('a P-DATA-TF longer than the Maximum Length is aborted', async () => {
  await withScp({ limits: { maxPduLength: 16_384 } }, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    peer.send(rq([1]));
    await peer.whenReceived(6, 5_000);
    peer.send(pDataTf(1, 0, Buffer.alloc(20_000)));
    await peer.whenClosed(5_000);
    assert.deepEqual(refusals(events), ['pdu-too-long']);
  });
});

test('a connection that sends no A-ASSOCIATE-RQ is closed when ARTIM expires', async () => {
  await withScp({ limits: { associationRequestTimeoutMs: 300 } }, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    await peer.whenClosed(10_000);
    assert.equal(peer.bytes().byteLength, 0, 'closed without a PDU (PS3.8 ARTIM in Sta2)');
    assert.deepEqual(refusals(events), ['association-request-timeout']);
  });
});

test('a peer trickling one byte at a time is aborted by the PDU time limit, not kept forever', async () => {
  await withScp({ limits: { pduTimeoutMs: 400, idleTimeoutMs: 60_000 } }, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    peer.send(rq([1]));
    await peer.whenReceived(6, 5_000);
    const echo = pDataTf(1, 3, Buffer.alloc(40));
    let sent = 0;
    const trickle = setInterval(() => peer.send(echo.subarray(sent, ++sent)), 50);
    try {
      await peer.whenClosed(10_000);
    } finally {
      clearInterval(trickle);
    }
    assert.deepEqual(refusals(events), ['pdu-timeout']);
  });
});

test('an association that goes silent is aborted after the idle time', async () => {
  await withScp({ limits: { idleTimeoutMs: 300 } }, async (scp, events) => {
    const peer = await RawPeer.connect(scp.port);
    peer.send(rq([1]));
    await peer.whenReceived(6, 5_000);
    await peer.whenClosed(10_000);
    assert.equal(peer.bytes().at(-10), 0x07, 'the last PDU is an A-ABORT');
    assert.deepEqual(refusals(events), ['idle-timeout']);
  });
});

test('one association over the limit is answered A-ASSOCIATE-RJ transient, local limit exceeded', async () => {
  await withScp({ limits: { maxAssociations: 1 } }, async (scp, events) => {
    const first = await RawPeer.connect(scp.port);
    first.send(rq([1]));
    assert.equal((await first.whenReceived(6, 5_000))[0], 0x02);
    const second = await RawPeer.connect(scp.port);
    second.send(rq([1]));
    await second.whenClosed(5_000);
    // Result 2 transient, source 3 service provider (presentation), reason 2 local limit.
    assert.deepEqual([...second.bytes().subarray(0, 10)], [3, 0, 0, 0, 0, 4, 0, 2, 3, 2]);
    assert.deepEqual(refusals(events), ['association-limit']);
    // Once the first has gone, its place is free again (the server sees the close soon after).
    first.destroy();
    const deadline = Date.now() + 5_000;
    for (;;) {
      const again = await RawPeer.connect(scp.port);
      again.send(rq([1]));
      const reply = await again.whenReceived(6, 5_000);
      again.destroy();
      if (reply[0] === 0x02) break;
      assert.ok(Date.now() < deadline, 'the freed place is given to a new association');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

test('a C-STORE of 100,000 nested sequences is answered C000 (cannot understand), not A700', async () => {
  await withScp({}, async (scp, events) => {
    const uid = '1.2.3.4.100000';
    const dataset = Buffer.concat([
      identifyingAttributes(uid),
      nestedSequences(100_000, false, element(0x0040a160, 'UT', 'leaf')),
    ]);
    const peer = await RawPeer.connect(scp.port);
    peer.send(
      associateRq({
        called: 'RADIOLENS',
        calling: 'PEER',
        contexts: [
          { id: 1, abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: [EXPLICIT_LITTLE] },
        ],
      }),
    );
    const ac = await peer.whenReceived(6, 5_000);
    assert.equal(ac[0], 0x02);
    const acLength = 6 + ac.readUInt32BE(2);
    for (const pdu of cStoreRq(1, cStoreRqCommand(SECONDARY_CAPTURE, uid), dataset)) peer.send(pdu);
    const deadline = Date.now() + 30_000;
    let status: number | undefined;
    while (status === undefined && Date.now() < deadline && !peer.closed) {
      await new Promise((r) => setTimeout(r, 20));
      status = responseStatus(peer.bytes().subarray(acLength));
    }
    assert.equal(status, 0xc000);
    const failed = events.find((e) => e.type === 'store-failed');
    assert.ok(failed?.type === 'store-failed' && failed.error === 'E_LIMIT_EXCEEDED');
    peer.destroy();
  });
});
