import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EXPLICIT_VR_BIG_ENDIAN,
  findTransferSyntax,
  frameMediaType,
  hasLittleEndianNativeFrames,
  supportedTransferSyntaxes,
} from './transferSyntax.js';

test('frames get the media types of PS3.18 Table 8.7.3-5, read or only stored', () => {
  assert.equal(frameMediaType('1.2.840.10008.1.2.4.50'), 'image/jpeg');
  assert.equal(frameMediaType('1.2.840.10008.1.2.4.70'), 'image/jpeg');
  assert.equal(frameMediaType('1.2.840.10008.1.2.4.81'), 'image/jls');
  assert.equal(frameMediaType('1.2.840.10008.1.2.4.90'), 'image/jp2');
  assert.equal(frameMediaType('1.2.840.10008.1.2.4.202'), 'image/jphc');
  assert.equal(frameMediaType('1.2.840.10008.1.2.5'), 'image/dicom-rle');
  // JPEG 2000 Part 2 is not decoded here, but a stored frame in it still has its type.
  assert.equal(findTransferSyntax('1.2.840.10008.1.2.4.92'), undefined);
  assert.equal(frameMediaType('1.2.840.10008.1.2.4.92'), 'image/jpx');
  // Native samples, retired JPEG processes and unknown syntaxes are octets.
  for (const uid of [EXPLICIT_VR_BIG_ENDIAN, '1.2.840.10008.1.2.4.53', '1.2.3.4']) {
    assert.equal(frameMediaType(uid), 'application/octet-stream', uid);
  }
  for (const entry of supportedTransferSyntaxes()) {
    assert.equal(entry.frameMediaType, frameMediaType(entry.uid), entry.uid);
  }
});

test('little-endian native frames: Implicit and Explicit VR LE and Deflated Explicit VR LE', () => {
  const native = supportedTransferSyntaxes()
    .filter((entry) => hasLittleEndianNativeFrames(entry.uid))
    .map((entry) => entry.uid);
  assert.deepEqual(native, ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99']);
  assert.equal(hasLittleEndianNativeFrames('1.2.3.4'), false);
});
