import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RadiolensError } from '../core/index.js';
import {
  expandSegmentedLut,
  paletteToRgb,
  planarToInterleaved,
  ybr422ToFull,
  ybrFullToRgb,
} from './colour.js';
import { applyBitsStored, unpackSamples } from './samples.js';

const layout = (
  bitsAllocated: number,
  bitsStored: number,
  pixelRepresentation: 0 | 1,
  count: number,
) => ({
  count,
  bitsAllocated,
  bitsStored,
  pixelRepresentation,
  float: false,
});

describe('unpackSamples', () => {
  it('reads Bits Allocated 1 least significant bit first, from any bit offset', () => {
    const bytes = Uint8Array.from([0b10000001, 0b00000010]);
    assert.deepEqual(
      [...unpackSamples(bytes, 0, layout(1, 1, 0, 10), true, 't')],
      [1, 0, 0, 0, 0, 0, 0, 1, 0, 1],
    );
    assert.deepEqual([...unpackSamples(bytes, 0, layout(1, 1, 0, 3), true, 't', 7)], [1, 0, 1]);
  });

  it('reads 16-bit samples in either byte order and sign-extends from Bits Stored', () => {
    const le = Uint8Array.from([0x30, 0xf8, 0xff, 0x0f]);
    assert.deepEqual([...unpackSamples(le, 0, layout(16, 16, 1, 2), true, 't')], [-2000, 4095]);
    assert.deepEqual([...unpackSamples(le, 0, layout(16, 12, 1, 2), true, 't')], [-2000, -1]);
    const be = Uint8Array.from([0xf8, 0x30, 0x0f, 0xff]);
    assert.deepEqual([...unpackSamples(be, 0, layout(16, 16, 1, 2), false, 't')], [-2000, 4095]);
  });

  it('gives read-only unsigned 16-bit samples as a view on the bytes, or masked when bits above Bits Stored are set', () => {
    // ADR 0129: a grey frame's samples are read, never written, so clean ones need no copy.
    const bytes = new Uint8Array(8);
    bytes.set([0x34, 0x0f, 0xff, 0x0f, 0x00, 0x00], 2); // 0x0f34, 0x0fff, 0 from byte 2
    const clean = unpackSamples(bytes, 2, { ...layout(16, 12, 0, 3), readOnly16: true }, true, 't');
    assert.ok(clean instanceof Uint16Array);
    assert.equal(clean.buffer, bytes.buffer, 'a view, not a copy');
    assert.deepEqual([...clean], [0x0f34, 0x0fff, 0]);
    bytes[3] = 0xff; // junk above bit 11 in the first sample
    const masked = unpackSamples(
      bytes,
      2,
      { ...layout(16, 12, 0, 3), readOnly16: true },
      true,
      't',
    );
    assert.notEqual(masked.buffer, bytes.buffer);
    assert.deepEqual([...masked], [0x0f34, 0x0fff, 0]);
    assert.equal(bytes[3], 0xff, 'the file bytes stay as they were');
    // Without the flag (colour, palette): the Int32Array that is converted in place.
    assert.ok(unpackSamples(bytes, 2, layout(16, 12, 0, 3), true, 't') instanceof Int32Array);
  });

  it('finds junk above Bits Stored in any read-only sample, whatever the alignment and count', () => {
    // The scan reads two words at a time from a 4-byte boundary: the first word, the pairs and
    // an odd last word are each checked, from a start on and off that boundary.
    for (const start of [0, 2, 4, 6]) {
      for (const count of [1, 2, 3, 4, 5]) {
        for (let junkAt = 0; junkAt < count; junkAt++) {
          const bytes = new Uint8Array(start + 2 * count);
          for (let i = 0; i < count; i++) bytes[start + 2 * i] = 0x10 + i;
          const read = () =>
            unpackSamples(
              bytes,
              start,
              { ...layout(16, 12, 0, count), readOnly16: true },
              true,
              't',
            );
          assert.equal(read().buffer, bytes.buffer, `clean: start ${start}, count ${count}`);
          bytes[start + 2 * junkAt + 1] = 0x80; // bit 15 of one sample
          const masked = read();
          assert.notEqual(
            masked.buffer,
            bytes.buffer,
            `junk at ${junkAt} of ${count} from ${start}`,
          );
          assert.deepEqual(
            [...masked],
            Array.from({ length: count }, (_, i) => 0x10 + i),
          );
        }
      }
    }
  });

  it('masks junk above Bits Stored for unsigned samples', () => {
    const samples = Int32Array.from([0xf123, 0x0fff]);
    applyBitsStored(samples, 12, 0);
    assert.deepEqual([...samples], [0x123, 0xfff]);
  });

  it('refuses a frame that runs past the pixel data (E_TRUNCATED)', () => {
    assert.throws(
      () => unpackSamples(new Uint8Array(3), 0, layout(16, 16, 0, 2), true, 'short.dcm'),
      (e) =>
        e instanceof RadiolensError && e.code === 'E_TRUNCATED' && e.message.includes('short.dcm'),
    );
  });
});

describe('colour', () => {
  it('interleaves planar RGB', () => {
    assert.deepEqual(
      [...planarToInterleaved(Int32Array.from([1, 2, 3, 4, 5, 6]), 2)],
      [1, 3, 5, 2, 4, 6],
    );
  });

  it('upsamples YBR_FULL_422 (Y1 Y2 Cb Cr) by repeating chroma', () => {
    assert.deepEqual(
      [...ybr422ToFull(Int32Array.from([10, 20, 100, 200]), 1, 2)],
      [10, 100, 200, 20, 100, 200],
    );
  });

  it('converts YBR_FULL grey and saturated colours to RGB (PS3.3 C.7.6.3.1.2)', () => {
    const samples = Int32Array.from([128, 128, 128, 76, 85, 255]);
    ybrFullToRgb(samples, 8);
    assert.deepEqual([...samples.subarray(0, 3)], [128, 128, 128]);
    // Pure red in YCbCr (76, 85, 255) comes back as (254..255, 0, 0).
    assert.ok(
      samples[3]! >= 254 && samples[4]! <= 1 && samples[5]! <= 1,
      String([...samples.subarray(3)]),
    );
  });

  it('expands segmented palette LUTs: discrete, linear and indirect segments', () => {
    const linear = expandSegmentedLut(Uint16Array.from([0, 2, 10, 20, 1, 3, 50]), 5, 't');
    assert.deepEqual([...linear], [10, 20, 30, 40, 50]);
    const indirect = expandSegmentedLut(Uint16Array.from([0, 2, 10, 20, 2, 1, 0, 0]), 4, 't');
    assert.deepEqual([...indirect], [10, 20, 10, 20]);
    assert.throws(
      () => expandSegmentedLut(Uint16Array.from([0, 1, 5]), 4, 'lut.dcm'),
      (e) =>
        e instanceof RadiolensError && e.code === 'E_PIXEL_DATA' && e.message.includes('lut.dcm'),
    );
  });

  it('looks indices up in the palette and clamps out-of-range ones', () => {
    const palette = {
      red: Uint16Array.from([10, 11]),
      green: Uint16Array.from([20, 21]),
      blue: Uint16Array.from([30, 31]),
      firstMapped: 5,
      bits: 8,
    };
    assert.deepEqual(
      [...paletteToRgb(Int32Array.from([4, 5, 6, 9]), palette)],
      [10, 20, 30, 10, 20, 30, 11, 21, 31, 11, 21, 31],
    );
  });
});
