/**
 * The bytes of one frame exactly as the file stores them (no decoding): what WADO-RS
 * "frames" returns in the stored transfer syntax (PS3.18 §8.7.3.5). Native Pixel Data is
 * sliced at whole frames; encapsulated Pixel Data is the frame's fragments joined, grouped
 * by the offset tables like the decoder does.
 */
import { RadiolensError } from '../core/index.js';
import { concatFragments, groupFragmentsIntoFrames } from './encapsulated.js';
import type { DicomInstance } from './parse.js';
import { storedPixelData } from './pixelStore.js';

export interface StoredFrame {
  /** The frame's bytes; a view into the parsed file, not a copy. */
  readonly bytes: Uint8Array;
  /** True when they are a compressed codestream (encapsulated transfer syntax). */
  readonly encapsulated: boolean;
}

function numberAttribute(instance: DicomInstance, keyword: string): number {
  const value = instance.dataset[keyword];
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** Frame `frameIndex` (0-based) of a parsed instance, undecoded. */
export function storedFrame(instance: DicomInstance, frameIndex: number): StoredFrame {
  const source = instance.source;
  const stored = storedPixelData(instance);
  const pixels = stored?.pixels;
  if (pixels === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source} has no Pixel Data, so it has no frames — ask for its metadata or the instance`,
      { subject: source },
    );
  }
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= instance.numberOfFrames) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: frame ${frameIndex + 1} requested but the instance has ${instance.numberOfFrames} frame(s) (1-based in DICOMweb)`,
      { subject: source },
    );
  }
  if (pixels.kind === 'native') {
    const bits =
      numberAttribute(instance, 'Rows') *
      numberAttribute(instance, 'Columns') *
      Math.max(1, numberAttribute(instance, 'SamplesPerPixel')) *
      numberAttribute(instance, 'BitsAllocated');
    if (bits % 8 !== 0 && instance.numberOfFrames > 1) {
      // 1-bit frames that do not end on a byte boundary share bytes with their neighbours.
      throw new RadiolensError(
        'E_PIXEL_DATA',
        `${source}: frames of ${bits} bits do not end on byte boundaries; retrieve the whole instance instead`,
        { subject: source },
      );
    }
    const size = Math.ceil(bits / 8);
    const start = frameIndex * size;
    if (size === 0 || start + size > pixels.bytes.byteLength) {
      throw new RadiolensError(
        'E_PIXEL_DATA',
        `${source}: Pixel Data holds ${pixels.bytes.byteLength} bytes, too few for frame ${frameIndex + 1} of ${size} bytes`,
        { subject: source },
      );
    }
    return { bytes: pixels.bytes.subarray(start, start + size), encapsulated: false };
  }
  if (stored?.syntax === undefined) {
    throw new RadiolensError(
      'E_UNSUPPORTED_TRANSFER_SYNTAX',
      `${source}: transfer syntax ${instance.transferSyntaxUid} is not one Radiolens knows how to split into frames — retrieve the whole instance instead`,
      { subject: source },
    );
  }
  pixels.frames ??= groupFragmentsIntoFrames(
    pixels.data,
    instance.numberOfFrames,
    stored.syntax.codec,
    pixels.extendedOffsets,
    source,
  );
  const parts = pixels.frames[frameIndex] ?? [];
  if (parts.length === 0) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: frame ${frameIndex + 1} has no fragments`,
      {
        subject: source,
      },
    );
  }
  return { bytes: parts.length === 1 ? parts[0]! : concatFragments(parts), encapsulated: true };
}
