import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RadiolensError } from '../core/index.js';
import { decodeRleFrame } from './rle.js';

/** Builds an RLE frame (PS3.5 G.5) from already PackBits-coded segments. */
function rleFrame(segments: number[][]): Uint8Array {
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((segment, i) => {
    view.setUint32(4 + i * 4, offset, true);
    offset += segment.length;
  });
  return Uint8Array.from([...header, ...segments.flat()]);
}

describe('RLE Lossless (PS3.5 Annex G)', () => {
  it('decodes literal and replicate runs of an 8-bit frame', () => {
    // 2 literal bytes (n=1), then 4 × 9 (n=-3 → 253), then no-op (-128), 1 literal.
    const frame = rleFrame([[1, 5, 6, 253, 9, 128, 0, 7]]);
    const out = decodeRleFrame(
      frame,
      { rows: 1, columns: 7, samplesPerPixel: 1, bitsAllocated: 8 },
      't',
    );
    assert.deepEqual([...out], [5, 6, 9, 9, 9, 9, 7]);
  });

  it('orders 16-bit segments most significant byte first into little endian samples', () => {
    const frame = rleFrame([
      [1, 0x12, 0xab],
      [1, 0x34, 0xcd],
    ]);
    const out = decodeRleFrame(
      frame,
      { rows: 1, columns: 2, samplesPerPixel: 1, bitsAllocated: 16 },
      't',
    );
    assert.deepEqual([...out], [0x34, 0x12, 0xcd, 0xab]);
  });

  it('interleaves the R, G and B segments of a colour frame', () => {
    const frame = rleFrame([
      [1, 1, 2],
      [1, 3, 4],
      [1, 5, 6],
    ]);
    const out = decodeRleFrame(
      frame,
      { rows: 1, columns: 2, samplesPerPixel: 3, bitsAllocated: 8 },
      't',
    );
    assert.deepEqual([...out], [1, 3, 5, 2, 4, 6]);
  });

  it('refuses a segment that decodes short, naming the file', () => {
    const frame = rleFrame([[1, 5, 6]]);
    assert.throws(
      () =>
        decodeRleFrame(
          frame,
          { rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 8 },
          'short.dcm',
        ),
      (e) =>
        e instanceof RadiolensError &&
        e.code === 'E_DECODE_FAILED' &&
        e.message.includes('short.dcm'),
    );
  });

  it('refuses a segment count that does not match the image', () => {
    const frame = rleFrame([[0, 1]]);
    assert.throws(
      () =>
        decodeRleFrame(
          frame,
          { rows: 1, columns: 1, samplesPerPixel: 3, bitsAllocated: 8 },
          'x.dcm',
        ),
      (e) => e instanceof RadiolensError && e.code === 'E_DECODE_FAILED',
    );
  });

  it('refuses a frame shorter than its header', () => {
    assert.throws(
      () =>
        decodeRleFrame(
          new Uint8Array(10),
          { rows: 1, columns: 1, samplesPerPixel: 1, bitsAllocated: 8 },
          'x.dcm',
        ),
      (e) => e instanceof RadiolensError && e.code === 'E_DECODE_FAILED',
    );
  });
});
