/**
 * parseDicom / readDicomFile: PS3.10 file → DicomInstance. dcmjs reads the attributes (up to
 * Pixel Data); our element walker finds the pixel bytes; both failures become RadiolensError.
 */
import { readFile } from 'node:fs/promises';
import { RadiolensError, isRadiolensError } from '../core/index.js';
import { dcmjsNaturalize, dcmjsReadPart10 } from './dcmjs.js';
import type { TaggedFile } from './taggedDataset.js';
import { readEncapsulatedPixelData } from './encapsulated.js';
import { UNDEFINED_LENGTH, locateElements, type ElementLocation } from './elementWalker.js';
import { attachPixelData, type PixelDataKeyword, type StoredPixelData } from './pixelStore.js';
import { readHeaderLittleEndian } from './part10Reader.js';
import { inflateDataset } from './inflate.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  findTransferSyntax,
  type TransferSyntax,
} from './transferSyntax.js';

/** dcmjs "naturalized" dataset: keywords as keys (e.g. PatientName, Rows); no pixel data. */
export type DicomDataset = Record<string, unknown>;

export interface DicomInstance {
  /** File path or name, for error messages. */
  readonly source: string;
  readonly transferSyntaxUid: string;
  /** Naturalized dataset, without Pixel Data, Float/Double Float Pixel Data or offset tables. */
  readonly dataset: DicomDataset;
  /** Naturalized File Meta Information (group 0002); synthesized when the file had none. */
  readonly meta: DicomDataset;
  /**
   * The identifying UIDs; '' when the file lacks one (test fixtures, bare datasets). Reading
   * and decoding do not need them; whoever stores or sends an instance must refuse ''.
   */
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  /** 1 when Number of Frames is absent. */
  readonly numberOfFrames: number;
  readonly hasPixelData: boolean;
  /** Deviations from the standard that the reader recovered from, for logs; usually empty. */
  readonly warnings: readonly string[];
}

const TAG_EXTENDED_OFFSET_TABLE = 0x7fe00001;
const TAG_FLOAT_PIXEL_DATA = 0x7fe00008;
const TAG_DOUBLE_FLOAT_PIXEL_DATA = 0x7fe00009;
const TAG_PIXEL_DATA = 0x7fe00010;
const PIXEL_TAGS: ReadonlySet<number> = new Set([
  TAG_EXTENDED_OFFSET_TABLE,
  TAG_FLOAT_PIXEL_DATA,
  TAG_DOUBLE_FLOAT_PIXEL_DATA,
  TAG_PIXEL_DATA,
]);
/** dcmjs keys of elements that are kept out of the naturalized dataset. */
const PIXEL_KEYS = ['7FE00001', '7FE00002', '7FE00008', '7FE00009', '7FE00010'];

/** Reads a DICOM file from disk. Throws RadiolensError (E_IO, or any parseDicom error). */
export async function readDicomFile(path: string): Promise<DicomInstance> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new RadiolensError('E_IO', `cannot read ${path}: ${(cause as Error).message}`, {
      subject: path,
      cause,
    });
  }
  return parseDicom(bytes, path);
}

/**
 * Parses a DICOM Part 10 file. Also accepts a dataset whose File Meta Information lacks the
 * preamble, and a bare little endian dataset with no meta at all (older media; the transfer
 * syntax is then inferred from the first element). Throws RadiolensError: E_NOT_DICOM,
 * E_TRUNCATED, E_MALFORMED_DICOM, and E_LIMIT_EXCEEDED for a dataset past the parsing limits
 * (limits.ts: inflated size, sequence depth).
 */
export function parseDicom(bytes: Uint8Array, source: string): DicomInstance {
  const part10 = asPart10(bytes, source);
  const transferSyntaxUid = metaTransferSyntaxUid(part10);
  if (transferSyntaxUid === '') {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: File Meta Information has no Transfer Syntax UID (0002,0010)`,
      { subject: source },
    );
  }
  const syntax = findTransferSyntax(transferSyntaxUid);
  // Our walk first: it tells a truncated file (E_TRUNCATED) from a malformed one, which
  // dcmjs's exceptions do not.
  const stored = locatePixelData(part10, syntax, source);
  const warnings: string[] = [];
  let parsed: TaggedFile;
  try {
    parsed = dcmjsReadPart10(exactArrayBuffer(part10), { untilPixelData: true });
  } catch (cause) {
    // dcmjs refuses some valid Specific Character Sets (ISO 2022 code extensions, several
    // values). The structure has already been walked by us, so reading again with dcmjs'
    // lenient mode only affects how text is decoded.
    if (!(cause instanceof Error) || !/character set/i.test(cause.message))
      throw classifyReadError(cause, source);
    warnings.push(
      `${source}: ${cause.message}; text attributes were decoded with the default character set`,
    );
    try {
      parsed = dcmjsReadPart10(exactArrayBuffer(part10), {
        untilPixelData: true,
        ignoreErrors: true,
      });
    } catch (again) {
      throw classifyReadError(again, source);
    }
  }

  const dict = { ...parsed.dict };
  for (const key of PIXEL_KEYS) delete dict[key];
  let dataset: DicomDataset;
  let meta: DicomDataset;
  try {
    dataset = dcmjsNaturalize(dict);
    meta = dcmjsNaturalize(parsed.meta);
  } catch (cause) {
    throw classifyReadError(cause, source);
  }
  const uid = (keyword: string, metaKeyword?: string): string => {
    const value = dataset[keyword] ?? (metaKeyword ? meta[metaKeyword] : undefined);
    return typeof value === 'string' ? value.replace(/\0+$/, '').trim() : '';
  };
  const instance: DicomInstance = {
    source,
    transferSyntaxUid,
    dataset,
    meta,
    sopClassUid: uid('SOPClassUID', 'MediaStorageSOPClassUID'),
    sopInstanceUid: uid('SOPInstanceUID', 'MediaStorageSOPInstanceUID'),
    studyInstanceUid: uid('StudyInstanceUID'),
    seriesInstanceUid: uid('SeriesInstanceUID'),
    numberOfFrames: numberOfFramesOf(dataset, source),
    hasPixelData: stored.pixels !== undefined,
    warnings: [...warnings, ...recoveredProblems(stored, source)],
  };
  attachPixelData(instance, stored);
  return instance;
}

/** What an instance store indexes: the identifying UIDs and the attributes routing reads. */
export interface InstanceIdentity {
  readonly transferSyntaxUid: string;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly patientId: string;
  readonly modality: string;
  readonly bodyPartExamined: string;
  readonly viewPosition: string;
}

const IDENTITY_TAGS = {
  sopClassUid: '00080016',
  sopInstanceUid: '00080018',
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  patientId: '00100020',
  modality: '00080060',
  bodyPartExamined: '00180015',
  viewPosition: '00185101',
} as const;

/**
 * The identity of a Part 10 file, checked as parseDicom checks it (same errors: E_NOT_DICOM,
 * E_TRUNCATED, E_MALFORMED_DICOM) but read with our own header reader where it can (little
 * endian, a plain character set): an ingest path reads this for every received instance, and
 * dcmjs' full read costs ten times more. Anything the header reader declines goes through
 * parseDicom.
 */
export function readInstanceIdentity(bytes: Uint8Array, source: string): InstanceIdentity {
  const part10 = asPart10(bytes, source);
  const transferSyntaxUid = metaTransferSyntaxUid(part10);
  // The structural walk (truncation, pixel data encoding, limits) that parseDicom makes,
  // first: its errors name the source.
  if (transferSyntaxUid !== '')
    locatePixelData(part10, findTransferSyntax(transferSyntaxUid), source);
  const header = transferSyntaxUid === '' ? undefined : readHeaderLittleEndian(part10);
  if (header === undefined) return identityOf(parseDicom(bytes, source));
  const { dict, meta } = header.file;
  const text = (dataset: typeof dict, tag: string): string => {
    const first = dataset[tag]?.Value?.[0];
    return typeof first === 'string' ? first.replace(/[\0 ]+$/, '').trim() : '';
  };
  const value = (tag: string): string => text(dict, tag);
  numberOfFramesOf({ NumberOfFrames: dict['00280008']?.Value?.[0] }, source);
  return {
    transferSyntaxUid,
    sopClassUid: value(IDENTITY_TAGS.sopClassUid) || text(meta, '00020002'),
    sopInstanceUid: value(IDENTITY_TAGS.sopInstanceUid) || text(meta, '00020003'),
    studyInstanceUid: value(IDENTITY_TAGS.studyInstanceUid),
    seriesInstanceUid: value(IDENTITY_TAGS.seriesInstanceUid),
    patientId: value(IDENTITY_TAGS.patientId),
    modality: value(IDENTITY_TAGS.modality),
    bodyPartExamined: value(IDENTITY_TAGS.bodyPartExamined),
    viewPosition: value(IDENTITY_TAGS.viewPosition),
  };
}

/** The identity parseDicom's reading gives (exported for the test that holds both paths equal). */
export function identityOf(instance: DicomInstance): InstanceIdentity {
  const text = (keyword: string): string => {
    const value = instance.dataset[keyword];
    const first = Array.isArray(value) ? (value[0] as unknown) : value;
    return typeof first === 'string' ? first.trim() : '';
  };
  return {
    transferSyntaxUid: instance.transferSyntaxUid,
    sopClassUid: instance.sopClassUid,
    sopInstanceUid: instance.sopInstanceUid,
    studyInstanceUid: instance.studyInstanceUid,
    seriesInstanceUid: instance.seriesInstanceUid,
    patientId: text('PatientID'),
    modality: text('Modality'),
    bodyPartExamined: text('BodyPartExamined'),
    viewPosition: text('ViewPosition'),
  };
}

function recoveredProblems(stored: StoredPixelData, source: string): string[] {
  const warnings: string[] = [];
  if (stored.pixels?.kind === 'encapsulated' && !stored.pixels.data.delimited) {
    warnings.push(
      `${source}: encapsulated Pixel Data lacks its Sequence Delimitation Item (the file ends after the last fragment); frames are decoded only if complete`,
    );
  }
  return warnings;
}

function numberOfFramesOf(dataset: DicomDataset, source: string): number {
  const raw = dataset['NumberOfFrames'];
  if (raw === undefined || raw === null || raw === '') return 1;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: Number of Frames (0028,0008) is ${JSON.stringify(raw)}, not a positive integer`,
      { subject: source },
    );
  }
  return value;
}

function locatePixelData(
  part10: Uint8Array,
  syntax: TransferSyntax | undefined,
  source: string,
): StoredPixelData {
  const datasetStart = startOfDataset(part10, source);
  // An unknown transfer syntax still has an explicit VR little endian dataset (PS3.5 10),
  // so the attributes are read; only its pixels cannot be decoded.
  const encoding = syntax ?? {
    explicitVr: true,
    littleEndian: true,
    deflatedDataset: false,
    encapsulated: true,
  };
  let bytes = part10;
  let start = datasetStart;
  if (encoding.deflatedDataset) {
    bytes = inflateDataset(part10.subarray(datasetStart), source);
    start = 0;
  }
  const found = locateElements(bytes, start, encoding, PIXEL_TAGS, source);
  const element =
    found.get(TAG_PIXEL_DATA) ??
    found.get(TAG_FLOAT_PIXEL_DATA) ??
    found.get(TAG_DOUBLE_FLOAT_PIXEL_DATA);
  if (!element) return { syntax, pixels: undefined };
  const keyword: PixelDataKeyword =
    element.tag === TAG_PIXEL_DATA
      ? 'PixelData'
      : element.tag === TAG_FLOAT_PIXEL_DATA
        ? 'FloatPixelData'
        : 'DoubleFloatPixelData';
  if (element.length === UNDEFINED_LENGTH) {
    if (!encoding.encapsulated || keyword !== 'PixelData') {
      throw new RadiolensError(
        'E_MALFORMED_DICOM',
        `${source}: ${keyword} has undefined length (encapsulated) but the transfer syntax ${syntax?.uid ?? ''} is native`,
        { subject: source },
      );
    }
    return {
      syntax,
      pixels: {
        kind: 'encapsulated',
        keyword: 'PixelData',
        data: readEncapsulatedPixelData(bytes, element.valueOffset, source),
        extendedOffsets: readExtendedOffsets(bytes, found.get(TAG_EXTENDED_OFFSET_TABLE)),
      },
    };
  }
  if (element.valueOffset + element.length > bytes.byteLength) {
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source}: ${keyword} declares ${element.length} bytes but the file ends after ${bytes.byteLength - element.valueOffset}; the file is truncated — fetch or export it again`,
      { subject: source },
    );
  }
  if (encoding.encapsulated && syntax !== undefined && syntax.codec !== 'native') {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: transfer syntax ${syntax.name} needs encapsulated Pixel Data but it has a defined length (${element.length})`,
      { subject: source },
    );
  }
  return {
    syntax,
    pixels: {
      kind: 'native',
      keyword,
      vr: element.vr,
      bytes: bytes.subarray(element.valueOffset, element.valueOffset + element.length),
    },
  };
}

function readExtendedOffsets(
  bytes: Uint8Array,
  element: ElementLocation | undefined,
): number[] | undefined {
  if (!element || element.length === UNDEFINED_LENGTH || element.length === 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + element.valueOffset, element.length);
  const offsets: number[] = [];
  for (let at = 0; at + 8 <= element.length; at += 8)
    offsets.push(Number(view.getBigUint64(at, true)));
  return offsets;
}

/** Transfer Syntax UID (0002,0010) from the File Meta Information, '' when absent. */
function metaTransferSyntaxUid(part10: Uint8Array): string {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  let offset = 132;
  while (offset + 8 <= part10.byteLength && view.getUint16(offset, true) === 0x0002) {
    const element = view.getUint16(offset + 2, true);
    const vr = ascii(part10, offset + 4, 2);
    const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR'].includes(vr);
    // A long-VR header is 12 bytes; a file cut inside one has no transfer syntax to read
    // (the structural walk then reports it as truncated).
    if (long && offset + 12 > part10.byteLength) return '';
    const length = long ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    const valueOffset = offset + (long ? 12 : 8);
    if (element === 0x0010)
      return ascii(part10, valueOffset, Math.min(length, 64)).replace(/[\0 ]+$/, '');
    offset = valueOffset + length;
  }
  return '';
}

/** Offset of the first dataset byte: after "DICM" and the File Meta Information group. */
function startOfDataset(part10: Uint8Array, source: string): number {
  const offset = startOfMetaElements(part10, 132);
  if (offset > part10.byteLength) {
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source}: the file ends inside its File Meta Information`,
      {
        subject: source,
      },
    );
  }
  return offset;
}

/** Offset just after the group 0002 elements that start at `offset`. */
function startOfMetaElements(part10: Uint8Array, start: number): number {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  let offset = start;
  // Walk group 0002 element by element: the group length is sometimes wrong in the wild.
  while (offset + 8 <= part10.byteLength && view.getUint16(offset, true) === 0x0002) {
    const vr = String.fromCharCode(part10[offset + 4]!, part10[offset + 5]!);
    if (['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR'].includes(vr)) {
      // Cut inside a long-VR header: past the end, which the caller reports as truncated.
      if (offset + 12 > part10.byteLength) return offset + 12;
      offset += 12 + view.getUint32(offset + 8, true);
    } else {
      offset += 8 + view.getUint16(offset + 6, true);
    }
  }
  return offset;
}

/**
 * Returns the bytes as a Part 10 file, adding a preamble (and, for a bare dataset, a minimal
 * File Meta Information) when the file has none.
 */
function asPart10(bytes: Uint8Array, source: string): Uint8Array {
  if (bytes.byteLength >= 132 && ascii(bytes, 128, 4) === 'DICM') return withMetaGroupLength(bytes);
  if (bytes.byteLength >= 4 && ascii(bytes, 0, 4) === 'DICM')
    return withMetaGroupLength(withPreamble(bytes.subarray(4)));
  const notDicom = (): RadiolensError =>
    new RadiolensError(
      'E_NOT_DICOM',
      `${source} is not a DICOM file: no "DICM" prefix at byte 128 and it does not start with a DICOM data element`,
      { subject: source },
    );
  if (bytes.byteLength < 12) throw notDicom();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const group = view.getUint16(0, true);
  const element = view.getUint16(2, true);
  const vr = ascii(bytes, 4, 2);
  const explicit = /^[A-Z]{2}$/.test(vr);
  if (group === 0x0002 && explicit) return withMetaGroupLength(withPreamble(bytes));
  // A bare dataset starts with a low, even group (0008 Identifying in practice).
  if (group >= 0x0008 && group <= 0x0028 && group % 2 === 0 && element < 0x1000) {
    return withPreamble(
      concat(minimalMeta(explicit ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN), bytes),
    );
  }
  throw notDicom();
}

/**
 * dcmjs needs File Meta Information Group Length (0002,0000); some writers omit it. It is
 * recomputed from the group's elements, which is what a reader must do anyway.
 */
function withMetaGroupLength(part10: Uint8Array): Uint8Array {
  if (part10.byteLength < 140) return part10;
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  if (view.getUint16(132, true) !== 0x0002 || view.getUint16(134, true) === 0x0000) return part10;
  const end = startOfMetaElements(part10, 132);
  const groupLength = new Uint8Array(12);
  const glView = new DataView(groupLength.buffer);
  glView.setUint16(0, 0x0002, true);
  groupLength.set([0x55, 0x4c], 4); // "UL"
  glView.setUint16(6, 4, true);
  glView.setUint32(8, end - 132, true);
  return concat(concat(part10.subarray(0, 132), groupLength), part10.subarray(132));
}

function minimalMeta(transferSyntaxUid: string): Uint8Array {
  const uid = transferSyntaxUid.length % 2 === 0 ? transferSyntaxUid : `${transferSyntaxUid}\0`;
  const tsElement = new Uint8Array(8 + uid.length);
  const tsView = new DataView(tsElement.buffer);
  tsView.setUint16(0, 0x0002, true);
  tsView.setUint16(2, 0x0010, true);
  tsElement.set([0x55, 0x49], 4); // "UI"
  tsView.setUint16(6, uid.length, true);
  for (let i = 0; i < uid.length; i++) tsElement[8 + i] = uid.charCodeAt(i);
  const groupLength = new Uint8Array(12);
  const glView = new DataView(groupLength.buffer);
  glView.setUint16(0, 0x0002, true);
  glView.setUint16(2, 0x0000, true);
  groupLength.set([0x55, 0x4c], 4); // "UL"
  glView.setUint16(6, 4, true);
  glView.setUint32(8, tsElement.byteLength, true);
  return concat(groupLength, tsElement);
}

function withPreamble(rest: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(132);
  prefix.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  return concat(prefix, rest);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[offset + i] ?? 0);
  return text;
}

function exactArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  // Copy explicitly: Buffer#slice would return a view of the whole pooled/file buffer.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/** dcmjs throws plain Errors and RangeErrors; turn them into codes a user can act on. */
function classifyReadError(cause: unknown, source: string): RadiolensError {
  if (isRadiolensError(cause)) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (
    cause instanceof RangeError ||
    /outside the bounds|out of range|beyond|end of (buffer|stream)/i.test(message)
  ) {
    return new RadiolensError(
      'E_TRUNCATED',
      `${source}: the data ends before its last element is complete (${message}); the file is truncated — fetch or export it again`,
      { subject: source, cause },
    );
  }
  if (/expected header is missing/i.test(message)) {
    return new RadiolensError('E_NOT_DICOM', `${source} is not a DICOM file (${message})`, {
      subject: source,
      cause,
    });
  }
  return new RadiolensError(
    'E_MALFORMED_DICOM',
    `${source}: the dataset cannot be parsed (${message}); the file is damaged or not valid DICOM — check it with dciodvfy/dcmdump`,
    { subject: source, cause },
  );
}
