/**
 * Hostile DICOM files built byte by byte (Explicit VR Little Endian, PS3.5 7.1.2): deeply
 * nested sequences and deflate bombs, written without any of the product's encoders so that
 * a reader bug cannot hide in the writer too. Test support only.
 */
import { constants, deflateRawSync } from 'node:zlib';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const LONG_VRS = new Set([
  'OB',
  'OW',
  'SQ',
  'UN',
  'UT',
  'UC',
  'UR',
  'OD',
  'OF',
  'OL',
  'OV',
  'SV',
  'UV',
]);
const UNDEFINED = 0xffffffff;

function even(value: Buffer, pad: number): Buffer {
  return value.byteLength % 2 === 0 ? value : Buffer.concat([value, Buffer.from([pad])]);
}

export function element(tag: number, vr: string, value: Buffer | string): Buffer {
  const raw =
    typeof value === 'string' ? even(Buffer.from(value, 'latin1'), vr === 'UI' ? 0 : 0x20) : value;
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(raw.byteLength, 8);
  else header.writeUInt16LE(raw.byteLength, 6);
  return Buffer.concat([header, raw]);
}

export function us(tag: number, value: number): Buffer {
  const raw = Buffer.alloc(2);
  raw.writeUInt16LE(value);
  return element(tag, 'US', raw);
}

function itemTag(buffer: Buffer, offset: number, element: number, length: number): void {
  buffer.writeUInt16LE(0xfffe, offset);
  buffer.writeUInt16LE(element, offset + 2);
  buffer.writeUInt32LE(length, offset + 4);
}

function sqHeader(buffer: Buffer, offset: number, tag: number, length: number): void {
  buffer.writeUInt16LE(tag >>> 16, offset);
  buffer.writeUInt16LE(tag & 0xffff, offset + 2);
  buffer.write('SQ', offset + 4, 'latin1');
  buffer.writeUInt16LE(0, offset + 6);
  buffer.writeUInt32LE(length, offset + 8);
}

/**
 * `depth` sequences (Content Sequence (0040,A730) unless `tag` says otherwise), each holding one item holding the next; the
 * innermost item holds `leaf`. Built in one pass: no quadratic copying for 100,000 levels.
 */
export function nestedSequences(
  depth: number,
  definedLength: boolean,
  leaf: Buffer,
  tag = 0x0040a730,
): Buffer {
  const perLevel = 12 + 8;
  const trailer = definedLength ? 0 : 16;
  const out = Buffer.alloc(depth * (perLevel + trailer) + leaf.byteLength);
  let offset = 0;
  for (let level = 0; level < depth; level++) {
    const inner = (depth - level - 1) * perLevel + leaf.byteLength;
    sqHeader(out, offset, tag, definedLength ? inner + 8 : UNDEFINED);
    itemTag(out, offset + 12, 0xe000, definedLength ? inner : UNDEFINED);
    offset += perLevel;
  }
  leaf.copy(out, offset);
  offset += leaf.byteLength;
  if (!definedLength) {
    for (let level = 0; level < depth; level++) {
      itemTag(out, offset, 0xe00d, 0);
      itemTag(out, offset + 8, 0xe0dd, 0);
      offset += 16;
    }
  }
  return out;
}

/** The identifying attributes every crafted dataset starts with (group 0008, 0020). */
export function identifyingAttributes(sopInstanceUid: string): Buffer {
  return Buffer.concat([
    element(0x00080016, 'UI', SECONDARY_CAPTURE),
    element(0x00080018, 'UI', sopInstanceUid),
    element(0x0020000d, 'UI', `${sopInstanceUid}.1`),
    element(0x0020000e, 'UI', `${sopInstanceUid}.2`),
  ]);
}

/** Image attributes of group 0028 for a monochrome image. */
export function imageAttributes(rows: number, columns: number, bitsAllocated: number): Buffer {
  return Buffer.concat([
    us(0x00280002, 1),
    element(0x00280004, 'CS', 'MONOCHROME2'),
    us(0x00280010, rows),
    us(0x00280011, columns),
    us(0x00280100, bitsAllocated),
    us(0x00280101, bitsAllocated),
    us(0x00280102, bitsAllocated - 1),
    us(0x00280103, 0),
  ]);
}

/** Preamble, DICM and a File Meta Information group for `dataset` (already encoded). */
export function part10(transferSyntaxUid: string, sopInstanceUid: string, dataset: Buffer): Buffer {
  const metaElements = Buffer.concat([
    element(0x00020001, 'OB', Buffer.from([0, 1])),
    element(0x00020002, 'UI', SECONDARY_CAPTURE),
    element(0x00020003, 'UI', sopInstanceUid),
    element(0x00020010, 'UI', transferSyntaxUid),
    element(0x00020012, 'UI', '1.2.3.4.5'),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaElements.byteLength);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  return Buffer.concat([preamble, element(0x00020000, 'UL', groupLength), metaElements, dataset]);
}

/** A Part 10 file in Deflated Explicit VR Little Endian holding `dataset`. */
export function deflatedPart10(sopInstanceUid: string, dataset: Buffer): Buffer {
  return part10(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, sopInstanceUid, deflateRawSync(dataset));
}

/**
 * A deflate bomb: a Deflated Explicit VR Little Endian file whose dataset declares a 16×16
 * image and then an OB value of `inflatedMiB` MiB of zeros, about 1 KB per MiB on disk. The
 * stream is built from independently flushed deflate blocks repeated, so making a 2 GiB bomb
 * costs a couple of megabytes, not two gigabytes of deflating.
 */
export function deflateBomb(sopInstanceUid: string, inflatedMiB: number): Buffer {
  const mib = 1024 * 1024;
  const header = Buffer.concat([
    identifyingAttributes(sopInstanceUid),
    imageAttributes(16, 16, 8),
    element(0x7fe00010, 'OB', Buffer.alloc(256)),
  ]);
  // A private OB after Pixel Data would be out of order; use a trailing padding element
  // (FFFC,FFFC) Data Set Trailing Padding, OB (PS3.10 7.2), whose value follows.
  const padding = Buffer.alloc(12);
  padding.writeUInt16LE(0xfffc, 0);
  padding.writeUInt16LE(0xfffc, 2);
  padding.write('OB', 4, 'latin1');
  padding.writeUInt32LE(inflatedMiB * mib, 8);
  const flushed = (bytes: Buffer): Buffer =>
    deflateRawSync(bytes, { finishFlush: constants.Z_FULL_FLUSH });
  const zeros = flushed(Buffer.alloc(mib));
  const parts = [flushed(Buffer.concat([header, padding]))];
  for (let i = 0; i < inflatedMiB; i++) parts.push(zeros);
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final block
  return part10(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, sopInstanceUid, Buffer.concat(parts));
}
