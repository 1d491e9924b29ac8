import assert from 'node:assert/strict';
import { test } from 'node:test';
import dcmjsDimse from 'dcmjs-dimse';
import { encodeCommandSet, withDirectCommandEncoding } from './commandSet.js';

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
