/**
 * The only place that touches dcmjs. We work on its un-naturalized dictionary (tag keys,
 * `{ vr, Value }` elements) for speed and fidelity (ADR 0061); Pixel Data stays the
 * ArrayBuffer dcmjs read, so its bytes are written back untouched.
 */
import { createRequire } from 'node:module';
import { RadiolensError } from '../../foundation/core/index.js';
import { encodePart10LittleEndian, readHeaderLittleEndian } from '../../foundation/dicom/index.js';

/** One data element as dcmjs holds it; sequences hold item datasets in `Value`. */
export interface DicomElement {
  vr: string;
  Value?: unknown[];
  /** dcmjs' unformatted original value; dropped whenever we change `Value`. */
  _rawValue?: unknown;
}

/** A dataset keyed by 8 upper-case hex digits (group then element). */
export type DicomDataset = Record<string, DicomElement>;

export interface DicomFile {
  meta: DicomDataset;
  dict: DicomDataset;
}

interface DcmjsDicomDict {
  meta: DicomDataset;
  dict: DicomDataset;
  write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
}

interface Dcmjs {
  data: {
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options?: {
          ignoreErrors?: boolean;
          untilTag?: string | null;
          includeUntilTagValue?: boolean;
          noCopy?: boolean;
        },
      ): DcmjsDicomDict;
    };
    DicomDict: new (meta: DicomDataset) => DcmjsDicomDict;
    DicomMetaDictionary: { dictionary: Record<string, { vr: string; name: string } | undefined> };
  };
  log: {
    setLevel(level: string): void;
    getLogger(name: string): { setLevel(level: string): void };
  };
}

// dcmjs ships CommonJS without type declarations; load it once and give it the narrow type
// above instead of an ambient module declaration that could clash with other folders.
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;
// dcmjs logs dictionary fallbacks (e.g. "Invalid vr type xs") to the console on every file.
dcmjs.log.setLevel('error');
// Unknown VRs in implicit files ("xs", "ox") are expected and resolved by dcmjs itself.
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

/**
 * Parse a Part 10 file. Throws E_NOT_DICOM / E_MALFORMED_DICOM naming the file.
 * `headerOnly` stops before Pixel Data (7FE0,0010), which is then absent from the result.
 */
export function readDicomFile(bytes: Uint8Array, source: string, headerOnly = false): DicomFile {
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
    const parsed = dcmjs.data.DicomMessage.readFile(
      buffer as ArrayBuffer,
      headerOnly ? { untilTag: '7FE00010', includeUntilTagValue: false, noCopy: true } : {},
    );
    if (headerOnly) delete parsed.dict['7FE00010'];
    return { meta: parsed.meta, dict: parsed.dict };
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
export function writeDicomFile(file: DicomFile): Uint8Array {
  let syntax = stringValue(file.meta['00020010']);
  if (syntax === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
    file.meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_VR_LITTLE_ENDIAN] };
    syntax = EXPLICIT_VR_LITTLE_ENDIAN;
  }
  if (syntax !== undefined && syntax !== '1.2.840.10008.1.2.2') {
    const fast = encodePart10LittleEndian(file, syntax);
    if (fast !== undefined) return fast;
  }
  const dict = new dcmjs.data.DicomDict(file.meta);
  dict.dict = file.dict;
  // fragmentMultiframe false: encapsulated frames are written back as the fragments we read.
  return new Uint8Array(dict.write({ allowInvalidVRLength: true, fragmentMultiframe: false }));
}

/**
 * The header (meta and dataset before Pixel Data) and the Part 10 bytes it was read from —
 * the input itself, or its inflated form for deflated files — so that Pixel Data can be
 * located in those bytes and copied.
 */
export function readDicomHeader(
  bytes: Uint8Array,
  source: string,
): { file: DicomFile; bytes: Uint8Array } {
  if (
    bytes.byteLength >= 132 &&
    Buffer.from(bytes.subarray(128, 132)).toString('latin1') === 'DICM'
  ) {
    const fast = readHeaderLittleEndian(bytes);
    if (fast !== undefined) return fast;
  }
  return { file: readDicomFile(bytes, source, true), bytes };
}

/** First value of a string-valued element (UI, CS, LO …), trimmed; undefined when absent. */
export function stringValue(element: DicomElement | undefined): string | undefined {
  const value = element?.Value?.[0];
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** All values of a string-valued element, PN rendered as its Alphabetic group. */
export function stringValues(element: DicomElement | undefined): string[] {
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

/** The VR the data dictionary gives a standard tag (first choice for "US or SS" style VRs). */
export function dictionaryVr(tag: string): string | undefined {
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`];
  if (entry === undefined) return undefined;
  if (entry.vr === 'xs') return 'US';
  if (entry.vr === 'ox') return 'OW';
  return entry.vr;
}

/** The dictionary keyword of a standard tag, for reports. */
export function dictionaryName(tag: string): string | undefined {
  return dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.name;
}
