import assert from 'node:assert/strict';
import { test } from 'node:test';
import dcmjsDimse from 'dcmjs-dimse';
import {
  decodeCommandSet,
  encodeCommandSet,
  useDirectCommandDecoding,
  withDirectCommandEncoding,
} from './commandSet.js';

const { Dataset, requests, responses, constants } = dcmjsDimse;

function storeRequest(): dcmjsDimse.requests.CStoreRequest {
  const request = new requests.CStoreRequest(new Dataset({}, '1.2.840.10008.1.2'));
  request.setAffectedSopClassUid('1.2.840.10008.5.1.4.1.1.2');
  request.setAffectedSopInstanceUid('1.2.3.4.5.6.7.8.9'); // odd length: padded
  request.setMessageId(4242);
  return request;
}

/** dcmjs-dimse's own encoding, through dcmjs: the reference. */
function viaDcmjs(command: { getCommandDataset(): dcmjsDimse.Dataset }): Buffer {
  return command.getCommandDataset().getDenaturalizedCommandDataset();
}

test('C-STORE-RSP, success and failure with an odd-length comment: byte for byte as dcmjs', () => {
  const success = responses.CStoreResponse.fromRequest(storeRequest());
  success.setStatus(constants.Status.Success);
  const failure = responses.CStoreResponse.fromRequest(storeRequest());
  failure.setStatus(0xa700);
  failure.setErrorComment('E_STORE: cannot write x'); // 23 characters
  for (const response of [success, failure]) {
    const expected = viaDcmjs(response);
    const ours = encodeCommandSet(response.getCommandDataset().getElements());
    assert.ok(ours !== undefined);
    assert.equal(ours.toString('hex'), expected.toString('hex'));
    assert.equal(
      viaDcmjs(withDirectCommandEncoding(response)).toString('hex'),
      expected.toString('hex'),
    );
  }
});

test('C-ECHO-RSP: byte for byte as dcmjs', () => {
  const request = new requests.CEchoRequest();
  request.setMessageId(7);
  const response = responses.CEchoResponse.fromRequest(request);
  response.setStatus(constants.Status.Success);
  const ours = encodeCommandSet(response.getCommandDataset().getElements());
  assert.equal(ours?.toString('hex'), viaDcmjs(response).toString('hex'));
});

test('an element we do not encode leaves the command to dcmjs', () => {
  assert.equal(
    encodeCommandSet({ CommandField: 0x8001, OffendingElement: [0x00100010] }),
    undefined,
  );
  assert.equal(encodeCommandSet({ Status: 'not a number' }), undefined);
  const request = new requests.CFindRequest();
  const find = responses.CFindResponse.fromRequest(request);
  const expected = viaDcmjs(find).toString('hex');
  assert.equal(viaDcmjs(withDirectCommandEncoding(find)).toString('hex'), expected);
});

/** dcmjs's own reading of a command set: the reference for decodeCommandSet. */
function readViaDcmjs(bytes: Buffer): Record<string, unknown> {
  const prototype = Dataset.prototype as unknown as {
    _fromElementsBuffer: (b: Buffer, ts: string, o: unknown) => Record<string, unknown>;
  };
  return prototype._fromElementsBuffer.call(new Dataset({}, IMPLICIT), bytes, IMPLICIT, {
    ignoreErrors: true,
  });
}
const IMPLICIT = '1.2.840.10008.1.2';

test('decodeCommandSet reads C-STORE and C-ECHO requests and responses exactly as dcmjs', () => {
  const echo = new requests.CEchoRequest();
  echo.setMessageId(65535);
  const success = responses.CStoreResponse.fromRequest(storeRequest());
  success.setStatus(0);
  const warning = responses.CStoreResponse.fromRequest(storeRequest());
  warning.setStatus(0xb000);
  for (const command of [storeRequest(), echo, success, warning]) {
    const bytes = viaDcmjs(command);
    const ours = decodeCommandSet(bytes);
    assert.ok(ours !== undefined, command.toString());
    assert.deepEqual(ours, readViaDcmjs(bytes));
  }
});

test('decodeCommandSet leaves to dcmjs what it does not read', () => {
  const failure = responses.CStoreResponse.fromRequest(storeRequest());
  failure.setStatus(0xa700);
  failure.setErrorComment('E_STORE'); // LO: not read directly
  assert.equal(decodeCommandSet(viaDcmjs(failure)), undefined);
  // A UID padded with a space, a truncated element, a data element (group 0008).
  const padded = Buffer.from(viaDcmjs(storeRequest()));
  const at = padded.indexOf(Buffer.from('1.2.3.4.5.6.7.8.9\0', 'latin1'));
  padded[at + 17] = 0x20;
  assert.equal(decodeCommandSet(padded), undefined);
  assert.equal(decodeCommandSet(viaDcmjs(storeRequest()).subarray(0, 30)), undefined);
  assert.equal(decodeCommandSet(Buffer.from([8, 0, 0x16, 0, 2, 0, 0, 0, 0x31, 0])), undefined);
});

test('with direct decoding installed, dcmjs-dimse Datasets read the same elements', () => {
  // The method we wrap: if a dcmjs-dimse upgrade renames it, the fast path is gone.
  const prototype = Dataset.prototype as unknown as Record<string, unknown>;
  assert.equal(typeof prototype['_fromElementsBuffer'], 'function');
  useDirectCommandDecoding();
  for (const bytes of [
    viaDcmjs(storeRequest()),
    Buffer.from([8, 0, 0x60, 0, 2, 0, 0, 0, 0x43, 0x54]),
  ]) {
    assert.deepEqual(new Dataset(bytes, IMPLICIT).getElements(), readViaDcmjs(bytes));
  }
});
