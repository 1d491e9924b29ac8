/**
 * RLE Lossless (PS3.5 Annex G). A frame is a 64-byte header (segment count and up to 15
 * segment offsets) followed by PackBits-coded segments; each segment is one byte plane
 * (most significant byte first) of one sample. Simple enough to own, and owning it means a
 * damaged frame is reported rather than silently padded.
 */
import { RadiolensError } from '../core/index.js';

export interface RleFrameLayout {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
}

/**
 * Decodes one RLE frame into native little endian bytes with colour-by-pixel order (the
 * layout of uncompressed Pixel Data with Planar Configuration 0). Bits Allocated 1 frames
 * are one segment of packed bits and come back packed.
 */
export function decodeRleFrame(
  frame: Uint8Array,
  layout: RleFrameLayout,
  source: string,
): Uint8Array {
  const fail = (what: string): RadiolensError =>
    new RadiolensError('E_DECODE_FAILED', `${source}: RLE frame ${what}`, { subject: source });
  if (frame.byteLength < 64)
    throw fail(`is ${frame.byteLength} bytes, shorter than its 64-byte header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segmentCount = view.getUint32(0, true);
  const pixels = layout.rows * layout.columns;
  const packed = layout.bitsAllocated === 1;
  const bytesPerSample = packed ? 1 : layout.bitsAllocated / 8;
  const expectedSegments = bytesPerSample * layout.samplesPerPixel;
  if (segmentCount !== expectedSegments) {
    throw fail(
      `has ${segmentCount} segments; ${expectedSegments} expected for ${layout.samplesPerPixel} sample(s) of ${layout.bitsAllocated} bits`,
    );
  }
  const segmentLength = packed ? Math.ceil(pixels / 8) : pixels;
  const out = new Uint8Array(packed ? segmentLength : pixels * expectedSegments);
  const plane = new Uint8Array(segmentLength);
  const stride = packed ? 1 : expectedSegments;
  for (let segment = 0; segment < segmentCount; segment++) {
    const start = view.getUint32(4 + segment * 4, true);
    const end =
      segment + 1 < segmentCount ? view.getUint32(8 + segment * 4, true) : frame.byteLength;
    if (start < 64 || end > frame.byteLength || end < start) {
      throw fail(
        `segment ${segment + 1} offsets ${start}..${end} lie outside the ${frame.byteLength}-byte frame`,
      );
    }
    const written = unpackBits(frame, start, end, plane);
    if (written < segmentLength) {
      throw fail(
        `segment ${segment + 1} decodes to ${written} bytes, ${segmentLength} expected; the frame is truncated or corrupt`,
      );
    }
    if (packed) {
      out.set(plane);
      continue;
    }
    // Segments run sample by sample, most significant byte first; native order is little
    // endian, so byte plane b of sample s lands at s*bytesPerSample + (bytesPerSample-1-b).
    const sample = Math.floor(segment / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (segment % bytesPerSample);
    let at = sample * bytesPerSample + byteInSample;
    for (let i = 0; i < pixels; i++, at += stride) out[at] = plane[i]!;
  }
  return out;
}

/** PackBits (PS3.5 G.3.1); returns the number of bytes written (extra output is dropped). */
function unpackBits(input: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let i = start;
  let o = 0;
  const limit = out.length;
  while (i < end && o < limit) {
    const n = input[i++]!;
    if (n < 128) {
      const count = Math.min(n + 1, end - i, limit - o);
      out.set(input.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n > 128) {
      if (i >= end) break;
      const value = input[i++]!;
      const count = Math.min(257 - n, limit - o);
      out.fill(value, o, o + count);
      o += count;
    }
    // n === 128 (-128) is a no-op by definition.
  }
  return o;
}
