import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { applyModalityLut } from './modalityLut.js';
import { assertClose, monoFrame } from '../../../test/support/imaging.js';

test('Rescale Slope/Intercept, including DS values dcmjs leaves as strings', () => {
  const frame = monoFrame([0, 1, 1024, 4095]);
  assertClose(
    applyModalityLut(frame, { RescaleSlope: 1, RescaleIntercept: -1024 }),
    [-1024, -1023, 0, 3071],
  );
  assertClose(
    applyModalityLut(frame, { RescaleSlope: '2.5', RescaleIntercept: ['10'] }),
    [10, 12.5, 2570, 10247.5],
  );
  assertClose(applyModalityLut(frame, {}), [0, 1, 1024, 4095]);
});

test('Modality LUT Sequence: first-mapped offset (signed) and clamping at both ends', () => {
  // Signed stored values, first mapped −2 written as its unsigned form 65534.
  const frame = monoFrame([-5, -2, -1, 0, 1, 2, 300], { pixelRepresentation: 1 });
  const ds = {
    ModalityLUTSequence: [{ LUTDescriptor: [4, 65534, 16], LUTData: [100, 200, 300, 400] }],
  };
  assertClose(applyModalityLut(frame, ds), [100, 100, 200, 300, 400, 400, 400]);
  // dcmjs reads SS explicitly as −2: same result.
  const ss = {
    ModalityLUTSequence: [{ LUTDescriptor: [4, -2, 16], LUTData: [100, 200, 300, 400] }],
  };
  assertClose(applyModalityLut(frame, ss), [100, 100, 200, 300, 400, 400, 400]);
});

test('Modality LUT Sequence wins over Rescale, and LUT Data may be an OW ArrayBuffer', () => {
  const data = new Uint16Array([7, 8, 60000]);
  const ds = {
    RescaleSlope: 3,
    RescaleIntercept: 1,
    ModalityLUTSequence: [{ LUTDescriptor: [3, 0, 16], LUTData: data.buffer }],
  };
  assertClose(applyModalityLut(monoFrame([0, 1, 2, 3]), ds), [7, 8, 60000, 60000]);
});

test('LUT Descriptor number of entries 0 means 65536', () => {
  const data = Array.from({ length: 65536 }, (_, i) => 65535 - i);
  const ds = { ModalityLUTSequence: [{ LUTDescriptor: [0, 0, 16], LUTData: data }] };
  assertClose(applyModalityLut(monoFrame([0, 1, 40000, 65535]), ds), [65535, 65534, 25535, 0]);
});

test('8-bit LUT entries packed two per OW word are unpacked low byte first', () => {
  const ds = { ModalityLUTSequence: [{ LUTDescriptor: [4, 0, 8], LUTData: [0x0201, 0x0403] }] };
  assertClose(applyModalityLut(monoFrame([0, 1, 2, 3]), ds), [1, 2, 3, 4]);
  const bytes = new Uint8Array([9, 8, 7, 6]).buffer;
  const ow = { ModalityLUTSequence: [{ LUTDescriptor: [4, 0, 8], LUTData: bytes }] };
  assertClose(applyModalityLut(monoFrame([0, 1, 2, 3]), ow), [9, 8, 7, 6]);
});

test('a LUT Descriptor without 3 values is refused', () => {
  const ds = { ModalityLUTSequence: [{ LUTDescriptor: [4, 0], LUTData: [1, 2, 3, 4] }] };
  assert.throws(
    () => applyModalityLut(monoFrame([0]), ds),
    (e: unknown) =>
      e instanceof RadiolensError && e.code === 'E_PIXEL_DATA' && /3 values/.test(e.message),
  );
});
