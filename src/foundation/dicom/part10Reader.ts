/**
 * A header reader for the little-endian transfer syntaxes (ADRs 0061, 0025), moved here from
 * deid so dicom/ owns the one fast reader and writer. It walks the elements
 * once, keeps each value's raw bytes, and decodes a value only when the engine asks for it
 * (most attributes are kept or dropped without ever being looked at). Untouched elements are
 * then written back from their raw bytes. Anything unusual — big endian, deflate, a character
 * set other than the default, Latin-1 or UTF-8, a malformed length — returns undefined and
 * the caller uses dcmjs instead.
 */
import { TextDecoder } from 'node:util';
import { isRadiolensError } from '../core/index.js';
import { readElementHeader } from './elementWalker.js';
import { inflateDataset } from './inflate.js';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from './transferSyntax.js';
import { depthExceeded, parsingLimits } from './limits.js';
import {
  dictionaryVr,
  type TaggedDataset as DicomDataset,
  type TaggedElement as DicomElement,
  type TaggedFile as DicomFile,
} from './taggedDataset.js';

const SINGLE_VALUE_TEXT = new Set(['LT', 'ST', 'UT', 'UR']);
/** VRs whose values are character strings (decoded with the dataset's character set). */
export const STRING_VRS: ReadonlySet<string> = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'SH',
  'ST',
  'TM',
  'UC',
  'UR',
  'UT',
  'UI',
  'PN',
]);
const UNDEFINED = 0xffffffff;

class Unsupported extends Error {}

/** An element whose value is decoded on first access; `_rawBytes` is what the file held. */
class LazyElement implements DicomElement {
  #value: unknown[] | undefined;
  constructor(
    readonly vr: string,
    readonly _rawBytes: Uint8Array,
    private readonly decoder: TextDecoder,
  ) {}

  get Value(): unknown[] {
    this.#value ??= decodeValue(this.vr, this._rawBytes, this.decoder);
    return this.#value;
  }
}

function decodeValue(vr: string, raw: Uint8Array, decoder: TextDecoder): unknown[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const numbers = (size: number, read: (at: number) => number): number[] => {
    const out: number[] = [];
    for (let at = 0; at + size <= raw.byteLength; at += size) out.push(read(at));
    return out;
  };
  switch (vr) {
    case 'US':
      return numbers(2, (at) => view.getUint16(at, true));
    case 'SS':
      return numbers(2, (at) => view.getInt16(at, true));
    case 'UL':
      return numbers(4, (at) => view.getUint32(at, true));
    case 'SL':
      return numbers(4, (at) => view.getInt32(at, true));
    case 'FL':
      return numbers(4, (at) => view.getFloat32(at, true));
    case 'FD':
      return numbers(8, (at) => view.getFloat64(at, true));
    case 'SV':
      return numbers(8, (at) => Number(view.getBigInt64(at, true)));
    case 'UV':
      return numbers(8, (at) => Number(view.getBigUint64(at, true)));
    case 'AT':
      return numbers(
        4,
        (at) => ((view.getUint16(at, true) << 16) | view.getUint16(at + 2, true)) >>> 0,
      );
  }
  // A copy of just the value: `raw` may be a Buffer, whose slice() is a view of the whole file.
  if (!STRING_VRS.has(vr)) return [new Uint8Array(raw).buffer];
  const text = decoder.decode(raw).replace(/[\0 ]+$/, '');
  if (text === '') return [];
  const parts = SINGLE_VALUE_TEXT.has(vr) ? [text] : text.split('\\').map((p) => p.trim());
  if (vr === 'PN') {
    return parts.map((p) => {
      const [alphabetic, ideographic, phonetic] = p.split('=');
      return {
        Alphabetic: alphabetic ?? '',
        ...(ideographic ? { Ideographic: ideographic } : {}),
        ...(phonetic ? { Phonetic: phonetic } : {}),
      };
    });
  }
  if (vr === 'DS' || vr === 'IS') return parts.map((p) => (p === '' ? p : Number(p)));
  return parts;
}

class Reader {
  offset: number;
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly explicit: boolean,
    public decoder: TextDecoder,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
  }

  need(n: number): void {
    if (this.offset + n > this.bytes.byteLength) throw new Unsupported('truncated');
  }

  /**
   * Parse elements until `end`, an Item Delimitation, or (top level) Pixel Data; `depth`
   * counts the sequences around them.
   */
  dataset(end: number, stopAtPixelData: boolean, inItem: boolean, depth = 0): DicomDataset {
    const out: DicomDataset = {};
    while (this.offset < end) {
      this.need(8);
      const group = this.view.getUint16(this.offset, true);
      const element = this.view.getUint16(this.offset + 2, true);
      if (group === 0xfffe) {
        const length = this.view.getUint32(this.offset + 4, true);
        this.offset += 8;
        if (element === 0xe00d && inItem) return out;
        if (length !== UNDEFINED) this.offset += length; // stray padding item: skip
        continue;
      }
      // The header itself is parsed by the element walker's one header reader.
      const header = readElementHeader(this.view, this.offset, this.explicit, true, 'dataset');
      const tag = header.tag.toString(16).padStart(8, '0').toUpperCase();
      if (stopAtPixelData && tag === '7FE00010') return out;
      let vr = header.vr;
      const length = header.length;
      this.offset = header.valueOffset;
      if (!this.explicit) {
        const creator = group % 2 === 1 && element >= 0x10 && element <= 0xff;
        vr = creator ? 'LO' : group % 2 === 1 ? 'UN' : (dictionaryVr(tag) ?? 'UN');
        if (length === UNDEFINED) vr = 'SQ';
      }
      if (vr === 'SQ') {
        out[tag] = { vr, Value: this.items(length, depth + 1) };
        continue;
      }
      if (length === UNDEFINED) throw new Unsupported(`undefined length ${vr} at ${tag}`);
      if (vr === 'UN' && group % 2 === 0) {
        // A standard attribute sent as UN (PS3.5 6.2.2): its value bytes are those of its
        // real VR, so read it as that — otherwise a UN-coded name or UID would escape the rules.
        const real = dictionaryVr(tag);
        if (real === 'SQ') throw new Unsupported(`UN-coded sequence at ${tag}`);
        if (real !== undefined) vr = real;
      }
      this.need(length);
      const raw = this.bytes.subarray(this.offset, this.offset + length);
      this.offset += length;
      if (tag === '00080005') {
        this.decoder = decoderFor(new TextDecoder('latin1').decode(raw));
      }
      out[tag] = new LazyElement(vr, raw, this.decoder);
    }
    if (inItem && end === Number.POSITIVE_INFINITY) throw new Unsupported('unterminated item');
    return out;
  }

  items(length: number, depth: number): DicomDataset[] {
    if (depth > parsingLimits().maxSequenceDepth) {
      throw depthExceeded(depth, 'dataset', this.offset);
    }
    const end = length === UNDEFINED ? this.bytes.byteLength : this.offset + length;
    const items: DicomDataset[] = [];
    while (this.offset < end) {
      this.need(8);
      const group = this.view.getUint16(this.offset, true);
      const element = this.view.getUint16(this.offset + 2, true);
      const itemLength = this.view.getUint32(this.offset + 4, true);
      this.offset += 8;
      if (group !== 0xfffe) throw new Unsupported('item expected');
      if (element === 0xe0dd) return items;
      if (element !== 0xe000) throw new Unsupported('item expected');
      if (itemLength === UNDEFINED) {
        items.push(this.dataset(this.bytes.byteLength, false, true, depth));
      } else {
        const itemEnd = this.offset + itemLength;
        items.push(this.dataset(itemEnd, false, false, depth));
        this.offset = itemEnd;
      }
    }
    if (length === UNDEFINED) throw new Unsupported('unterminated sequence');
    return items;
  }
}

function decoderFor(specificCharacterSet: string): TextDecoder {
  const value = specificCharacterSet.replace(/[\0 ]+$/, '').trim();
  if (value === '' || value === 'ISO_IR 6' || value === 'ISO_IR 100')
    return new TextDecoder('latin1');
  if (value === 'ISO_IR 192') return new TextDecoder('utf-8');
  throw new Unsupported(`character set ${value}`);
}

/**
 * Read the file meta and the dataset up to (not including) Pixel Data, for Explicit or
 * Implicit VR Little Endian, the encapsulated (compressed) syntaxes and Deflated Explicit VR
 * Little Endian (inflated within the parsing limits, inflate.ts; the result then reads as Explicit VR Little Endian
 * and `bytes` is the inflated Part 10 file). Undefined for anything else.
 */
export function readHeaderLittleEndian(
  bytes: Uint8Array,
): { file: DicomFile; bytes: Uint8Array } | undefined {
  try {
    const meta = new Reader(bytes, 132, true, new TextDecoder('latin1'));
    const metaLength = meta.view.getUint32(132 + 8, true);
    const metaEnd = 132 + 12 + metaLength;
    const metaDict = meta.dataset(metaEnd, false, false);
    // A damaged meta group may give (0002,0010) another VR and a non-string value: then this
    // fast path declines and the full reader reports the file.
    const declared: unknown = metaDict['00020010']?.Value?.[0];
    const syntax = typeof declared === 'string' ? declared.trim() : undefined;
    if (syntax === undefined || syntax === EXPLICIT_VR_BIG_ENDIAN) return undefined;
    let source = bytes;
    if (syntax === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
      const inflated = inflateDataset(bytes.subarray(metaEnd), 'dataset');
      source = new Uint8Array(metaEnd + inflated.byteLength);
      source.set(bytes.subarray(0, metaEnd));
      source.set(inflated, metaEnd);
      metaDict['00020010'] = { vr: 'UI', Value: [EXPLICIT_VR_LITTLE_ENDIAN] };
    }
    const reader = new Reader(
      source,
      metaEnd,
      syntax !== IMPLICIT_VR_LITTLE_ENDIAN,
      new TextDecoder('latin1'),
    );
    const dict = reader.dataset(source.byteLength, true, false);
    return { file: { meta: metaDict, dict }, bytes: source };
  } catch (error) {
    if (error instanceof Unsupported || error instanceof RangeError) return undefined;
    // Structural damage found by the header reader: dcmjs' reading explains it to the user.
    if (
      isRadiolensError(error) &&
      (error.code === 'E_TRUNCATED' || error.code === 'E_MALFORMED_DICOM')
    )
      return undefined;
    if ((error as NodeJS.ErrnoException).code?.startsWith('Z_')) return undefined; // zlib
    throw error;
  }
}

/** The text encoding a dataset declares, for values we write ourselves. */
export function textEncoderFor(dataset: DicomDataset): (text: string) => Uint8Array {
  const declared = dataset['00080005']?.Value?.[0];
  if (typeof declared === 'string' && declared.trim() === 'ISO_IR 192') {
    const utf8 = new TextEncoder();
    return (text) => utf8.encode(text);
  }
  return (text) => new Uint8Array(Buffer.from(text, 'latin1'));
}
