import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RadiolensError } from '../core/index.js';
import {
  groupFragmentsIntoFrames,
  readEncapsulatedPixelData,
  type EncapsulatedPixelData,
} from './encapsulated.js';

const SOI = [0xff, 0xd8];
const EOI = [0xff, 0xd9];

/** Encodes items: BOT then fragments then (optionally) the Sequence Delimitation Item. */
function encapsulate(bot: number[], fragments: number[][], delimited = true): Uint8Array {
  const bytes: number[] = [];
  const item = (payload: number[]): void => {
    const length = payload.length;
    bytes.push(
      0xfe,
      0xff,
      0x00,
      0xe0,
      length & 0xff,
      (length >> 8) & 0xff,
      (length >> 16) & 0xff,
      length >>> 24,
    );
    bytes.push(...payload);
  };
  item(bot.flatMap((o) => [o & 0xff, (o >> 8) & 0xff, (o >> 16) & 0xff, o >>> 24]));
  fragments.forEach(item);
  if (delimited) bytes.push(0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0);
  return Uint8Array.from(bytes);
}

const frameA1 = [...SOI, 1, 2];
const frameA2 = [3, 4, ...EOI];
const frameB = [...SOI, 5, 6, ...EOI];

function read(bot: number[], fragments: number[][], delimited = true): EncapsulatedPixelData {
  return readEncapsulatedPixelData(encapsulate(bot, fragments, delimited), 0, 'test.dcm');
}

const asArrays = (frames: Uint8Array[][]): number[][][] => frames.map((f) => f.map((p) => [...p]));

describe('encapsulated Pixel Data: fragments to frames', () => {
  it('uses the Basic Offset Table', () => {
    // Offsets count from the first fragment's item tag: 0, then 8 + 4 + 8 + 4 = 24.
    const data = read([0, 24], [frameA1, frameA2, frameB]);
    assert.deepEqual(asArrays(groupFragmentsIntoFrames(data, 2, 'jpeg', undefined, 'test.dcm')), [
      [frameA1, frameA2],
      [frameB],
    ]);
  });

  it('prefers the Extended Offset Table when present', () => {
    const data = read([], [frameA1, frameA2, frameB]);
    assert.deepEqual(asArrays(groupFragmentsIntoFrames(data, 2, 'jpeg', [0, 24], 'test.dcm')), [
      [frameA1, frameA2],
      [frameB],
    ]);
  });

  it('takes one fragment per frame when counts match and there is no offset table', () => {
    const data = read([], [frameB, frameB]);
    assert.equal(groupFragmentsIntoFrames(data, 2, 'rle', undefined, 'test.dcm').length, 2);
  });

  it('joins all fragments of a single frame', () => {
    const data = read([], [frameA1, frameA2]);
    assert.deepEqual(asArrays(groupFragmentsIntoFrames(data, 1, 'jpeg', undefined, 'test.dcm')), [
      [frameA1, frameA2],
    ]);
  });

  it('finds frame starts by JPEG SOI markers when the offset table is empty', () => {
    const data = read([], [frameA1, frameA2, frameB]);
    assert.deepEqual(asArrays(groupFragmentsIntoFrames(data, 2, 'jpeg', undefined, 'test.dcm')), [
      [frameA1, frameA2],
      [frameB],
    ]);
  });

  it('refuses an offset table that does not point at fragments', () => {
    const data = read([0, 23], [frameA1, frameA2, frameB]);
    assert.throws(
      () => groupFragmentsIntoFrames(data, 2, 'jpeg', undefined, 'test.dcm'),
      (e) =>
        e instanceof RadiolensError &&
        e.code === 'E_MALFORMED_DICOM' &&
        e.message.includes('test.dcm'),
    );
  });

  it('refuses a marker scan that finds the wrong number of frames', () => {
    const data = read([], [frameA1, frameA2, frameB, frameB]);
    assert.throws(
      () => groupFragmentsIntoFrames(data, 2, 'jpeg', undefined, 'test.dcm'),
      (e) => e instanceof RadiolensError && e.code === 'E_MALFORMED_DICOM',
    );
  });

  it('reports a fragment cut off by the end of the file as E_TRUNCATED', () => {
    const bytes = encapsulate([], [frameB]).subarray(0, 14);
    assert.throws(
      () => readEncapsulatedPixelData(bytes, 0, 'cut.dcm'),
      (e) =>
        e instanceof RadiolensError && e.code === 'E_TRUNCATED' && e.message.includes('cut.dcm'),
    );
  });

  it('accepts a missing delimiter only when the last frame is complete', () => {
    const complete = read([], [frameB], false);
    assert.equal(complete.delimited, false);
    assert.equal(groupFragmentsIntoFrames(complete, 1, 'jpeg', undefined, 't').length, 1);
    const cut = read([], [frameA1], false);
    assert.throws(
      () => groupFragmentsIntoFrames(cut, 1, 'jpeg', undefined, 't'),
      (e) => e instanceof RadiolensError && e.code === 'E_TRUNCATED',
    );
  });
});
