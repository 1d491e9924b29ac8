/**
 * THE fast Part 10 encoder, for the little-endian transfer syntaxes (ADRs 0061, 0025). dcmjs'
 * own writer allocates a stream per element (and a property accessor per element when
 * denaturalizing) and dominated both de-identification and result writing; this one collects
 * byte chunks and concatenates once. Values that were passed through untouched are written
 * from their raw bytes or dcmjs' raw value, so their text is byte for byte what was received.
 * Anything it does not handle (big endian, deflate, an unexpected value shape) returns
 * undefined from encodePart10LittleEndian, and the caller uses dcmjs.
 */
import { RadiolensError } from '../core/index.js';
import { LONG_LENGTH_VRS } from './elementWalker.js';
import { IMPLICIT_VR_LITTLE_ENDIAN } from './transferSyntax.js';
import { STRING_VRS, textEncoderFor } from './part10Reader.js';
import {
  checkNumberValues,
  checkTextValues,
  repertoireOf,
  type CharacterRepertoire,
} from './vrCheck.js';
import {
  keywordEntry,
  type TaggedDataset as DicomDataset,
  type TaggedElement as DicomElement,
  type TaggedFile as DicomFile,
} from './taggedDataset.js';

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/**
 * A binary value written straight into the encoded file: the encoder reserves `byteLength`
 * bytes (even) where the value goes and calls `fill` with exactly that part of the file, so a
 * 12 MB Pixel Data is drawn once, in place, instead of drawn and then copied (issue #14).
 * The part starts zeroed; what `fill` leaves unwritten stays zero.
 */
export class BytesFilledInPlace {
  constructor(
    readonly byteLength: number,
    readonly fill: (into: Uint8Array) => void,
  ) {
    if (!(Number.isInteger(byteLength) && byteLength >= 0 && byteLength % 2 === 0)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `a value filled in place must have an even, whole length (got ${byteLength}): DICOM values have even length (PS3.5 7.1.1)`,
      );
    }
  }
}
const NUMBER_WRITERS: Record<string, [number, (v: DataView, at: number, n: number) => void]> = {
  US: [2, (v, at, n) => v.setUint16(at, n, true)],
  SS: [2, (v, at, n) => v.setInt16(at, n, true)],
  UL: [4, (v, at, n) => v.setUint32(at, n, true)],
  SL: [4, (v, at, n) => v.setInt32(at, n, true)],
  FL: [4, (v, at, n) => v.setFloat32(at, n, true)],
  FD: [8, (v, at, n) => v.setFloat64(at, n, true)],
  SV: [8, (v, at, n) => v.setBigInt64(at, BigInt(n), true)],
  UV: [8, (v, at, n) => v.setBigUint64(at, BigInt(n), true)],
};

class Unsupported extends Error {}

const encoder = new TextEncoder();

function pnString(value: unknown): string {
  if (typeof value === 'string') return value;
  const pn = value as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
  return [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? '']
    .join('=')
    .replace(/=+$/, '');
}

function stringBytes(
  tag: string,
  element: DicomElement,
  encode: (text: string) => Uint8Array,
): Uint8Array {
  // dcmjs decodes all text to Unicode and rewrites Specific Character Set to ISO_IR 192 in
  // Value but not in its raw value: that one attribute must come from Value.
  const raw = tag === '00080005' ? undefined : element._rawValue;
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (Array.isArray(raw) && raw.every((r) => typeof r === 'string')) text = raw.join('\\');
  else {
    text = (element.Value ?? [])
      .map((v) => {
        if (element.vr === 'PN') return pnString(v);
        if (typeof v === 'string') return v;
        if (typeof v === 'number') return element.vr === 'DS' ? decimalString(v) : String(v);
        throw new Unsupported(`value shape for ${element.vr}`);
      })
      .join('\\');
  }
  const bytes = encode(text);
  if (bytes.byteLength % 2 === 0) return bytes;
  const padded = new Uint8Array(bytes.byteLength + 1);
  padded.set(bytes);
  padded[bytes.byteLength] = element.vr === 'UI' ? 0 : 0x20;
  return padded;
}

function numberBytes(element: DicomElement): Uint8Array {
  const writer = NUMBER_WRITERS[element.vr];
  if (writer === undefined) throw new Unsupported(element.vr);
  // An empty Type 2 number may arrive as '' from a naturalized dataset: no value.
  const values = (element.Value ?? []).filter((v) => v !== '');
  const out = new Uint8Array(values.length * writer[0]);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    // Naturalized datasets may carry numbers as text ("2"), as dcmjs accepts.
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || Number.isNaN(n)) throw new Unsupported(`non-number ${element.vr}`);
    writer[1](view, i * writer[0], n);
  });
  return out;
}

function atBytes(element: DicomElement): Uint8Array {
  const values = element.Value ?? [];
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    const n = typeof v === 'string' ? parseInt(v, 16) : (v as number);
    if (!Number.isFinite(n)) throw new Unsupported('AT value');
    view.setUint16(i * 4, n >>> 16, true);
    view.setUint16(i * 4 + 2, n & 0xffff, true);
  });
  return out;
}

function binaryBytes(element: DicomElement): Uint8Array | BytesFilledInPlace {
  const only = element.Value?.length === 1 ? element.Value[0] : undefined;
  if (only instanceof BytesFilledInPlace) return only;
  const parts = (element.Value ?? []).map((v) => {
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    throw new Unsupported('binary value shape');
  });
  if (parts.length > 1) throw new Unsupported('fragmented binary value'); // encapsulated
  const bytes = parts[0] ?? new Uint8Array(0);
  if (bytes.byteLength % 2 === 0) return bytes;
  const padded = new Uint8Array(bytes.byteLength + 1);
  padded.set(bytes);
  return padded;
}

class ChunkWriter {
  readonly chunks: Array<Uint8Array | BytesFilledInPlace> = [];
  size = 0;
  constructor(
    private readonly explicit: boolean,
    private readonly encode: (text: string) => Uint8Array = (t) => encoder.encode(t),
  ) {}

  push(bytes: Uint8Array | BytesFilledInPlace): void {
    this.chunks.push(bytes);
    this.size += bytes.byteLength;
  }

  header(tag: string, vr: string, length: number): void {
    const group = parseInt(tag.slice(0, 4), 16);
    const element = parseInt(tag.slice(4, 8), 16);
    const long = !this.explicit || LONG_LENGTH_VRS.has(vr);
    const bytes = new Uint8Array(this.explicit && long ? 12 : 8);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, group, true);
    view.setUint16(2, element, true);
    if (!this.explicit) {
      view.setUint32(4, length, true);
    } else {
      bytes[4] = vr.charCodeAt(0);
      bytes[5] = vr.charCodeAt(1);
      if (long) view.setUint32(8, length, true);
      else {
        if (length > 0xffff) throw new Unsupported(`${tag} too long for a 16-bit length`);
        view.setUint16(6, length, true);
      }
    }
    this.push(bytes);
  }

  /** Item and delimiter tags: (FFFE,xxxx) + 32-bit length, no VR, in every syntax. */
  marker(element: number, length: number): void {
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, 0xfffe, true);
    view.setUint16(2, element, true);
    view.setUint32(4, length, true);
    this.push(bytes);
  }

  dataset(dataset: DicomDataset): void {
    for (const tag of Object.keys(dataset).sort()) this.element(tag, dataset[tag]!);
  }

  element(tag: string, element: DicomElement): void {
    const vr = element.vr;
    if (vr === 'SQ') {
      this.header(tag, vr, 0xffffffff);
      for (const item of element.Value ?? []) {
        this.marker(0xe000, 0xffffffff);
        this.dataset(item as DicomDataset);
        this.marker(0xe00d, 0);
      }
      this.marker(0xe0dd, 0);
      return;
    }
    // Untouched elements from our own reader go back byte for byte.
    const raw = (element as { _rawBytes?: Uint8Array })._rawBytes;
    if (raw !== undefined && raw.byteLength % 2 === 0) {
      this.header(tag, vr, raw.byteLength);
      this.push(raw);
      return;
    }
    let value: Uint8Array | BytesFilledInPlace;
    if (STRING_VRS.has(vr)) value = stringBytes(tag, element, this.encode);
    else if (BINARY_VRS.has(vr)) value = binaryBytes(element);
    else if (vr === 'AT') value = atBytes(element);
    else value = numberBytes(element);
    this.header(tag, vr, value.byteLength);
    this.push(value);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      if (chunk instanceof BytesFilledInPlace) chunk.fill(out.subarray(at, at + chunk.byteLength));
      else out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
}

/**
 * A DS value within its 16 characters (PS3.5 6.2): as JavaScript prints it when that fits,
 * else with as many significant digits as fit.
 */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `a Decimal String cannot hold ${value}: pass a finite number`,
    );
  }
  let text = String(value);
  for (let digits = 15; text.length > 16 && digits >= 1; digits--) {
    text = value
      .toPrecision(digits)
      .replace(/(\.\d*?)0+(e|$)/, '$1$2')
      .replace(/\.(e|$)/, '$1');
  }
  return text;
}

/** Encode a file in Explicit or Implicit VR Little Endian; undefined when not possible. */
export function encodePart10LittleEndian(
  file: DicomFile,
  transferSyntax: string,
): Uint8Array | undefined {
  try {
    return encodeOrThrow(file, transferSyntax);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/**
 * Encode a dataset Radiolens built itself (keyword → value, dcmjs' "naturalized" form) with
 * the given File Meta Information, in Explicit or Implicit VR Little Endian. A value the
 * encoder cannot represent is an error naming the attribute, never a silently different file.
 */
export function encodeNaturalizedPart10(
  meta: Record<string, unknown>,
  dataset: Record<string, unknown>,
  transferSyntax: string,
): Uint8Array {
  try {
    const repertoire = repertoireOf(dataset['SpecificCharacterSet']);
    return encodeOrThrow(
      { meta: toTagged(meta, 'default', ''), dict: toTagged(dataset, repertoire, '') },
      transferSyntax,
    );
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
    throw new RadiolensError(
      'E_BAD_INPUT',
      `dataset to encode has a value the Part 10 writer cannot represent (${error.message}) — give strings, numbers, person-name objects, typed arrays or nested datasets`,
    );
  }
}

/**
 * Keyword → value to tag → { vr, Value }, with `_vrMap` choosing VRs the dictionary leaves open.
 * Every value is checked against its VR on the way (vrCheck.ts, ADR 0140); `path` names the
 * enclosing sequence items for the error message.
 */
function toTagged(
  dataset: Record<string, unknown>,
  repertoire: CharacterRepertoire,
  path: string,
): DicomDataset {
  const vrMap = (dataset['_vrMap'] as Record<string, string> | undefined) ?? {};
  const out: DicomDataset = {};
  for (const [keyword, value] of Object.entries(dataset)) {
    if (keyword === '_vrMap' || keyword === '_meta' || value === undefined) continue;
    const entry = keywordEntry(keyword);
    if (entry === undefined) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `dataset to encode has "${keyword}", which is not a DICOM keyword — fix the spelling or remove it`,
      );
    }
    const vr = vrMap[keyword] ?? entry.vr;
    const values = value === null ? [] : Array.isArray(value) ? value : [value];
    const where = `${path}${keyword}`;
    if (vr === 'SQ') {
      out[entry.tag] = {
        vr,
        Value: values.map((item, i) =>
          toTagged(item as Record<string, unknown>, repertoire, `${where}[${i}].`),
        ),
      };
      continue;
    }
    if (STRING_VRS.has(vr))
      checkTextValues(
        where,
        vr,
        values.map((v) => textOf(vr, v)),
        repertoire,
      );
    else if (NUMBER_WRITERS[vr] !== undefined) checkNumberValues(where, vr, values);
    out[entry.tag] = { vr, Value: values as unknown[] };
  }
  return out;
}

/** A value as the writer will put it in text (stringBytes), for checking. */
function textOf(vr: string, value: unknown): string {
  if (vr === 'PN') return pnString(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return vr === 'DS' ? decimalString(value) : String(value);
  throw new Unsupported(`value shape for ${vr}`);
}

function encodeOrThrow(file: DicomFile, transferSyntax: string): Uint8Array {
  const explicit = transferSyntax !== IMPLICIT_VR_LITTLE_ENDIAN;
  {
    const meta = new ChunkWriter(true);
    meta.dataset(file.meta);
    const body = new ChunkWriter(explicit, textEncoderFor(file.dict));
    body.dataset(file.dict);
    const head = new ChunkWriter(true);
    head.push(new Uint8Array(128));
    head.push(encoder.encode('DICM'));
    const groupLength = new Uint8Array(4);
    new DataView(groupLength.buffer).setUint32(0, meta.size, true);
    head.header('00020000', 'UL', 4);
    head.push(groupLength);
    for (const c of meta.chunks) head.push(c);
    for (const c of body.chunks) head.push(c);
    return head.concat();
  }
}
