/**
 * De-identification's file reading and writing. We work on the tag-keyed dataset (tag keys,
 * `{ vr, Value }` elements; foundation/dicom's TaggedDataset) for speed and fidelity
 * (ADR 0061); Pixel Data stays the ArrayBuffer that was read, so its bytes are written back
 * untouched. dcmjs is reached only through foundation/dicom/dcmjs.ts.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import {
  dcmjsReadPart10,
  dcmjsWritePart10,
  encodePart10LittleEndian,
  readHeaderLittleEndian,
  type TaggedElement,
  type TaggedFile,
  EXPLICIT_VR_LITTLE_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
} from '../../foundation/dicom/index.js';

/**
 * Parse a Part 10 file. Throws E_NOT_DICOM / E_MALFORMED_DICOM naming the file.
 * `headerOnly` stops before Pixel Data (7FE0,0010), which is then absent from the result.
 */
export function readTaggedFile(bytes: Uint8Array, source: string, headerOnly = false): TaggedFile {
  if (
    bytes.byteLength < 132 ||
    Buffer.from(bytes.subarray(128, 132)).toString('latin1') !== 'DICM'
  ) {
    throw new RadiolensError(
      'E_NOT_DICOM',
      `${source} is not a DICOM Part 10 file (no "DICM" preamble) — exclude it or convert it`,
      { subject: source },
    );
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  try {
    return dcmjsReadPart10(buffer as ArrayBuffer, { untilPixelData: headerOnly });
  } catch (cause) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source} could not be parsed (${cause instanceof Error ? cause.message : String(cause)}) — the file is damaged or truncated; exclude it`,
      { subject: source, cause },
    );
  }
}

/**
 * Encode a Part 10 file. Deflated input is written as Explicit VR Little Endian (we do not
 * deflate); every other transfer syntax is kept as read. Little endian goes through our own
 * encoder (dicom/part10Writer.ts), the rest through dcmjs.
 */
export function writeTaggedFile(file: TaggedFile): Uint8Array {
  let syntax = stringValue(file.meta['00020010']);
  if (syntax === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
    file.meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_VR_LITTLE_ENDIAN] };
    syntax = EXPLICIT_VR_LITTLE_ENDIAN;
  }
  if (syntax !== undefined && syntax !== EXPLICIT_VR_BIG_ENDIAN) {
    const fast = encodePart10LittleEndian(file, syntax);
    if (fast !== undefined) return fast;
  }
  return dcmjsWritePart10(file);
}

/**
 * The header (meta and dataset before Pixel Data) and the Part 10 bytes it was read from —
 * the input itself, or its inflated form for deflated files — so that Pixel Data can be
 * located in those bytes and copied.
 */
export function readDicomHeader(
  bytes: Uint8Array,
  source: string,
): { file: TaggedFile; bytes: Uint8Array } {
  if (
    bytes.byteLength >= 132 &&
    Buffer.from(bytes.subarray(128, 132)).toString('latin1') === 'DICM'
  ) {
    const fast = readHeaderLittleEndian(bytes);
    if (fast !== undefined) return fast;
  }
  return { file: readTaggedFile(bytes, source, true), bytes };
}

/** First value of a string-valued element (UI, CS, LO …), trimmed; undefined when absent. */
export function stringValue(element: TaggedElement | undefined): string | undefined {
  const value = element?.Value?.[0];
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** All values of a string-valued element, PN rendered as its Alphabetic group. */
export function stringValues(element: TaggedElement | undefined): string[] {
  return (element?.Value ?? []).flatMap((v) => {
    if (typeof v === 'string') return [v];
    if (typeof v === 'number') return [String(v)];
    if (v !== null && typeof v === 'object' && 'Alphabetic' in v) {
      const pn = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      return [pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter(
        (s): s is string => typeof s === 'string',
      );
    }
    return [];
  });
}
