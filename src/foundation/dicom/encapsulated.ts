/**
 * Encapsulated Pixel Data (PS3.5 A.4): a Basic Offset Table item, then fragments, then a
 * Sequence Delimitation Item. A frame is one or more fragments; which fragments belong to
 * which frame comes from the Extended Offset Table, the Basic Offset Table, one fragment per
 * frame, or — when the offset table is empty — from codestream start markers.
 */
import { RadiolensError } from '../core/index.js';
import { ITEM, SEQUENCE_DELIMITATION, hexTag } from './elementWalker.js';
import type { PixelCodec } from './transferSyntax.js';

export interface Fragment {
  /** Offset of the fragment's item tag, counted from the first fragment's item tag. */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface EncapsulatedPixelData {
  readonly basicOffsetTable: readonly number[];
  readonly fragments: readonly Fragment[];
  /**
   * False when the file ends right after a complete fragment, without the Sequence
   * Delimitation Item. The fragments are then intact but the last frame may be incomplete:
   * frame grouping checks it ends with its codestream's end marker.
   */
  readonly delimited: boolean;
}

export function readEncapsulatedPixelData(
  bytes: Uint8Array,
  valueOffset: number,
  source: string,
): EncapsulatedPixelData {
  // Encapsulated transfer syntaxes are all little endian (PS3.5 A.4).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const truncated = (what: string): RadiolensError =>
    new RadiolensError(
      'E_TRUNCATED',
      `${source}: encapsulated Pixel Data ends inside ${what} (file is ${bytes.byteLength} bytes); the file is truncated — fetch or export it again`,
      { subject: source },
    );
  let offset = valueOffset;
  if (offset + 8 > bytes.byteLength) throw truncated('the Basic Offset Table item');
  const botTag = readTag(view, offset);
  if (botTag !== ITEM) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: encapsulated Pixel Data must start with a Basic Offset Table item, found ${hexTag(botTag)}`,
      { subject: source },
    );
  }
  const botLength = view.getUint32(offset + 4, true);
  if (botLength % 4 !== 0) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: Basic Offset Table length ${botLength} is not a multiple of 4`,
      { subject: source },
    );
  }
  if (offset + 8 + botLength > bytes.byteLength) throw truncated('the Basic Offset Table');
  const basicOffsetTable: number[] = [];
  for (let i = 0; i < botLength; i += 4)
    basicOffsetTable.push(view.getUint32(offset + 8 + i, true));
  offset += 8 + botLength;
  const firstFragment = offset;
  const fragments: Fragment[] = [];
  for (;;) {
    if (offset === bytes.byteLength && fragments.length > 0)
      return { basicOffsetTable, fragments, delimited: false };
    if (offset + 8 > bytes.byteLength)
      throw truncated('the fragment sequence (no Sequence Delimitation Item)');
    const tag = readTag(view, offset);
    const length = view.getUint32(offset + 4, true);
    if (tag === SEQUENCE_DELIMITATION) break;
    if (tag !== ITEM) {
      throw new RadiolensError(
        'E_MALFORMED_DICOM',
        `${source}: expected a fragment item in encapsulated Pixel Data at byte ${offset}, found ${hexTag(tag)}`,
        { subject: source },
      );
    }
    if (offset + 8 + length > bytes.byteLength) throw truncated(`fragment ${fragments.length + 1}`);
    fragments.push({
      offset: offset - firstFragment,
      bytes: bytes.subarray(offset + 8, offset + 8 + length),
    });
    offset += 8 + length;
  }
  return { basicOffsetTable, fragments, delimited: true };
}

/**
 * Groups fragments into frames. `extendedOffsets` is the Extended Offset Table (7FE0,0001)
 * when present; it takes precedence over the Basic Offset Table (PS3.5 A.4.2).
 */
export function groupFragmentsIntoFrames(
  pixelData: EncapsulatedPixelData,
  numberOfFrames: number,
  codec: PixelCodec,
  extendedOffsets: readonly number[] | undefined,
  source: string,
): Uint8Array[][] {
  let frames: Uint8Array[][];
  try {
    frames = groupFrames(pixelData, numberOfFrames, codec, extendedOffsets, source);
  } catch (error) {
    // Missing frames in an undelimited sequence mean the file was cut at a fragment boundary.
    if (!pixelData.delimited && error instanceof RadiolensError) {
      throw new RadiolensError(
        'E_TRUNCATED',
        `${source}: encapsulated Pixel Data has no Sequence Delimitation Item and ${error.message.replace(`${source}: `, '')}; the file is truncated — fetch or export it again`,
        { subject: source, cause: error },
      );
    }
    throw error;
  }
  if (
    !pixelData.delimited &&
    !endsWithEndMarker(concatFragments(frames[frames.length - 1] ?? []), codec)
  ) {
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source}: encapsulated Pixel Data has no Sequence Delimitation Item and the last frame's ${codec} codestream has no end marker; the file is truncated — fetch or export it again`,
      { subject: source },
    );
  }
  return frames;
}

/**
 * JPEG, JPEG-LS (EOI) and JPEG 2000/HTJ2K (EOC) codestreams end with FFD9; a fragment may
 * carry one trailing pad byte (PS3.5 A.4). RLE has no end marker, so it cannot be verified.
 */
function endsWithEndMarker(codestream: Uint8Array, codec: PixelCodec): boolean {
  if (codec !== 'jpeg' && codec !== 'jpeg-ls' && codec !== 'jpeg-2000' && codec !== 'htj2k')
    return false;
  const n = codestream.byteLength;
  const at = (end: number): boolean =>
    end >= 2 && codestream[end - 2] === 0xff && codestream[end - 1] === 0xd9;
  return at(n) || (codestream[n - 1] === 0 && at(n - 1));
}

function groupFrames(
  pixelData: EncapsulatedPixelData,
  numberOfFrames: number,
  codec: PixelCodec,
  extendedOffsets: readonly number[] | undefined,
  source: string,
): Uint8Array[][] {
  const { fragments } = pixelData;
  if (fragments.length === 0) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: encapsulated Pixel Data has no fragments`,
      {
        subject: source,
      },
    );
  }
  const offsets =
    extendedOffsets && extendedOffsets.length > 0 ? extendedOffsets : pixelData.basicOffsetTable;
  if (offsets.length > 0) {
    if (offsets.length !== numberOfFrames) {
      throw new RadiolensError(
        'E_MALFORMED_DICOM',
        `${source}: the offset table lists ${offsets.length} frames but Number of Frames is ${numberOfFrames}`,
        { subject: source },
      );
    }
    return groupByOffsets(fragments, offsets, source);
  }
  if (numberOfFrames === 1) return [fragments.map((f) => f.bytes)];
  if (fragments.length === numberOfFrames) return fragments.map((f) => [f.bytes]);
  // No offset table and more fragments than frames: a frame starts with its codestream's
  // start marker (PS3.5 A.4: a fragment never holds data of more than one frame).
  const startsFrame = startMarkerTest(codec);
  if (!startsFrame) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: ${fragments.length} fragments for ${numberOfFrames} frames and no offset table; ${codec} frames cannot be delimited`,
      { subject: source },
    );
  }
  const frames: Uint8Array[][] = [];
  for (const fragment of fragments) {
    const current = frames[frames.length - 1];
    if (current === undefined || startsFrame(fragment.bytes)) frames.push([fragment.bytes]);
    else current.push(fragment.bytes);
  }
  if (frames.length !== numberOfFrames) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: found ${frames.length} ${codec} codestreams in ${fragments.length} fragments but Number of Frames is ${numberOfFrames}`,
      { subject: source },
    );
  }
  return frames;
}

function groupByOffsets(
  fragments: readonly Fragment[],
  offsets: readonly number[],
  source: string,
): Uint8Array[][] {
  const frames: Uint8Array[][] = [];
  let next = 0;
  for (let frame = 0; frame < offsets.length; frame++) {
    const start = offsets[frame]!;
    const end = frame + 1 < offsets.length ? offsets[frame + 1]! : Number.POSITIVE_INFINITY;
    if (fragments[next]?.offset !== start) {
      throw new RadiolensError(
        'E_MALFORMED_DICOM',
        `${source}: offset table entry ${frame} (${start}) does not point at a fragment; the offset table is corrupt`,
        { subject: source },
      );
    }
    const parts: Uint8Array[] = [];
    while (next < fragments.length && fragments[next]!.offset < end)
      parts.push(fragments[next++]!.bytes);
    frames.push(parts);
  }
  return frames;
}

function startMarkerTest(codec: PixelCodec): ((bytes: Uint8Array) => boolean) | undefined {
  switch (codec) {
    case 'jpeg':
    case 'jpeg-ls':
      return (b) => b[0] === 0xff && b[1] === 0xd8; // SOI
    case 'jpeg-2000':
    case 'htj2k':
      // SOC followed by SIZ for a raw codestream; "jP" signature box for a JP2 file.
      return (b) =>
        (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) ||
        (b[4] === 0x6a && b[5] === 0x50 && b[6] === 0x20 && b[7] === 0x20);
    default:
      return undefined;
  }
}

function readTag(view: DataView, offset: number): number {
  return ((view.getUint16(offset, true) << 16) | view.getUint16(offset + 2, true)) >>> 0;
}

/** Joins a frame's fragments into one codestream (no copy when there is one fragment). */
export function concatFragments(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
