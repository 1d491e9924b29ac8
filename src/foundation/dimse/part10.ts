/**
 * A C-STORE carries a dataset, not a file. To keep it untouched we store the received dataset
 * bytes as they are, behind a File Meta Information header (PS3.10 7.1) built only from the
 * request (SOP Class, SOP Instance, transfer syntax) and our implementation identity: the same
 * dataset always gives the same file and the same sha256, whoever sends it (ADR 0095).
 */
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../dicom/index.js';

export interface FileMetaFields {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
}

function element(group: number, elementNo: number, vr: string, value: Uint8Array): Uint8Array {
  // OB and other long VRs use a 4-byte length after two reserved bytes (PS3.5 7.1.2).
  const long = vr === 'OB';
  const out = new Uint8Array((long ? 12 : 8) + value.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, elementNo, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.byteLength, true);
  else view.setUint16(6, value.byteLength, true);
  out.set(value, long ? 12 : 8);
  return out;
}

/** UI and SH values padded to even length (NUL for UI, space for SH, PS3.5 6.2). */
function padded(text: string, pad: number): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.byteLength + 1);
  out.set(bytes);
  out[bytes.byteLength] = pad;
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Preamble, "DICM" and the File Meta Information: what goes before the dataset bytes. */
export function part10Header(meta: FileMetaFields): Uint8Array {
  const elements = concat([
    element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    element(0x0002, 0x0002, 'UI', padded(meta.sopClassUid, 0)),
    element(0x0002, 0x0003, 'UI', padded(meta.sopInstanceUid, 0)),
    element(0x0002, 0x0010, 'UI', padded(meta.transferSyntaxUid, 0)),
    element(0x0002, 0x0012, 'UI', padded(IMPLEMENTATION_CLASS_UID, 0)),
    element(0x0002, 0x0013, 'SH', padded(IMPLEMENTATION_VERSION_NAME, 0x20)),
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, elements.byteLength, true);
  const preamble = new Uint8Array(132);
  preamble.set(new TextEncoder().encode('DICM'), 128);
  return concat([preamble, element(0x0002, 0x0000, 'UL', groupLength), elements]);
}

/**
 * Offset of the dataset in a Part 10 file (after the meta group, found from its group
 * length), so two files with different meta headers can be compared dataset to dataset.
 */
export function part10DatasetOffset(file: Uint8Array): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const isGroupLength =
    file.byteLength >= 144 &&
    view.getUint16(132, true) === 0x0002 &&
    view.getUint16(134, true) === 0x0000;
  if (!isGroupLength) throw new Error('not a Part 10 file with a File Meta Group Length');
  return 144 + view.getUint32(140, true);
}
