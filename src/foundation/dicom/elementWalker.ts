/**
 * A minimal walk over the top-level data elements of a dataset, to find where Pixel Data and
 * its offset tables sit in the bytes. dcmjs parses the attributes; this only measures, so
 * that the pixel bytes are taken straight from the file (no copy, no reinterpretation) and
 * damaged encapsulation can be recovered or refused by us rather than crash inside dcmjs.
 */
import { RadiolensError } from '../core/index.js';
import { depthExceeded, parsingLimits } from './limits.js';

export interface ElementLocation {
  readonly tag: number;
  readonly vr: string;
  /** Offset of the first value byte within the walked bytes. */
  readonly valueOffset: number;
  /** Declared value length; UNDEFINED_LENGTH for encapsulated or delimited values. */
  readonly length: number;
}

export const UNDEFINED_LENGTH = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2). */
export const LONG_LENGTH_VRS: ReadonlySet<string> = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

export interface WalkEncoding {
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
}

/**
 * Locates the top-level elements whose tags are in `wanted`. Stops at the end of the bytes;
 * an element header or value that runs past the end is reported as E_TRUNCATED, or, with
 * `prefix` (the bytes are the start of a dataset), ends the walk with what was found.
 */
export function locateElements(
  bytes: Uint8Array,
  start: number,
  encoding: WalkEncoding,
  wanted: ReadonlySet<number>,
  source: string,
  prefix = false,
): Map<number, ElementLocation> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = new Map<number, ElementLocation>();
  const walker = new Walker(view, encoding, source);
  if (!prefix) return walkTopLevel(bytes, start, encoding, wanted, walker, found);
  try {
    return walkTopLevel(bytes, start, encoding, wanted, walker, found);
  } catch (error) {
    if (error instanceof RadiolensError && error.code === 'E_TRUNCATED') return found;
    throw error;
  }
}

function walkTopLevel(
  bytes: Uint8Array,
  start: number,
  encoding: WalkEncoding,
  wanted: ReadonlySet<number>,
  walker: Walker,
  found: Map<number, ElementLocation>,
): Map<number, ElementLocation> {
  let offset = start;
  while (offset < bytes.byteLength) {
    if (bytes.byteLength - offset < 8) {
      // Trailing zero padding is tolerated; anything else is the start of a cut-off element.
      if (bytes.subarray(offset).every((b) => b === 0)) break;
      walker.need(offset, 8);
    }
    const header = walker.readHeader(offset, encoding.explicitVr);
    if (wanted.has(header.tag)) {
      found.set(header.tag, {
        tag: header.tag,
        vr: header.vr,
        valueOffset: header.valueOffset,
        length: header.length,
      });
    }
    // Pixel Data running past the end is reported by the caller, which knows what it needs.
    if (!wanted.has(header.tag) && header.length !== UNDEFINED_LENGTH)
      walker.need(header.valueOffset, header.length);
    if (wanted.has(header.tag) && header.length === UNDEFINED_LENGTH) {
      // Encapsulated Pixel Data: its own reader explains a cut-off fragment better.
      try {
        offset = walker.skipValue(header, encoding.explicitVr);
      } catch (error) {
        if (error instanceof RadiolensError && error.code === 'E_TRUNCATED') break;
        throw error;
      }
      continue;
    }
    offset = walker.skipValue(header, encoding.explicitVr);
  }
  return found;
}

/** One element header: its tag, VR ('' where the encoding carries none) and value extent. */
export interface ElementHeader {
  tag: number;
  vr: string;
  valueOffset: number;
  length: number;
}

type Header = ElementHeader;

/**
 * Reads the element header at `offset` — the one header parser that both this walker and
 * the Part 10 reader (part10Reader.ts) use. Item and delimitation tags never carry a VR,
 * whatever the transfer syntax; implicit VR headers have none either (vr ''). Throws
 * E_TRUNCATED when the header runs past the end, E_MALFORMED_DICOM for a non-letter VR.
 */
export function readElementHeader(
  view: DataView,
  offset: number,
  explicitVr: boolean,
  littleEndian: boolean,
  source: string,
): ElementHeader {
  needBytes(view, offset, 8, source);
  const tag =
    ((view.getUint16(offset, littleEndian) << 16) | view.getUint16(offset + 2, littleEndian)) >>> 0;
  if (!explicitVr || tag === ITEM || tag === ITEM_DELIMITATION || tag === SEQUENCE_DELIMITATION) {
    return {
      tag,
      vr: '',
      valueOffset: offset + 8,
      length: view.getUint32(offset + 4, littleEndian),
    };
  }
  const vr = String.fromCharCode(view.getUint8(offset + 4), view.getUint8(offset + 5));
  if (LONG_LENGTH_VRS.has(vr)) {
    needBytes(view, offset, 12, source);
    return { tag, vr, valueOffset: offset + 12, length: view.getUint32(offset + 8, littleEndian) };
  }
  if (!/^[A-Z]{2}$/.test(vr)) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: element ${hexTag(tag)} at byte ${offset} has no valid VR ("${vr}") in an explicit VR dataset; the file is damaged`,
      { subject: source },
    );
  }
  return { tag, vr, valueOffset: offset + 8, length: view.getUint16(offset + 6, littleEndian) };
}

function needBytes(view: DataView, offset: number, count: number, source: string): void {
  if (offset + count > view.byteLength) {
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source}: the data ends at byte ${view.byteLength} inside an element that needs ${offset + count}; the file is truncated — fetch or export it again`,
      { subject: source },
    );
  }
}

class Walker {
  constructor(
    private readonly view: DataView,
    private readonly encoding: WalkEncoding,
    private readonly source: string,
  ) {}

  readHeader(
    offset: number,
    explicitVr: boolean,
    littleEndian = this.encoding.littleEndian,
  ): Header {
    return readElementHeader(this.view, offset, explicitVr, littleEndian, this.source);
  }

  /**
   * Returns the offset just after the element's value. `depth` counts the sequences this
   * element is inside; a sequence deeper than the limit is E_LIMIT_EXCEEDED (ADR 0123).
   */
  skipValue(
    header: Header,
    explicitVr: boolean,
    littleEndian = this.encoding.littleEndian,
    depth = 0,
  ): number {
    if (header.length !== UNDEFINED_LENGTH) {
      const end = Math.min(header.valueOffset + header.length, this.view.byteLength);
      // A defined-length sequence is jumped over, but its nesting still counts: dcmjs
      // recurses into it afterwards. Only explicit VR says which values are sequences.
      if (explicitVr && header.vr === 'SQ' && header.length > 0) {
        this.checkDefinedSequence(header.valueOffset, end, littleEndian, depth + 1);
      }
      return end;
    }
    // An undefined-length UN holds an implicit VR little endian sequence (PS3.5 6.2.2).
    const itemsExplicit = header.vr === 'UN' ? false : explicitVr;
    const itemsLittle = header.vr === 'UN' ? true : littleEndian;
    return this.skipItems(header.valueOffset, itemsExplicit, itemsLittle, header.vr, depth + 1);
  }

  /**
   * Walks the items of a defined-length sequence for its nesting depth only. Anything it
   * cannot follow ends the walk quietly: a damaged value is dcmjs's to report, as before.
   */
  private checkDefinedSequence(
    start: number,
    end: number,
    littleEndian: boolean,
    depth: number,
  ): void {
    if (depth > parsingLimits().maxSequenceDepth) throw depthExceeded(depth, this.source, start);
    let offset = start;
    try {
      while (offset + 8 <= end) {
        const item = this.readHeader(offset, false, littleEndian);
        if (item.tag !== ITEM) return;
        const itemEnd =
          item.length === UNDEFINED_LENGTH ? end : Math.min(end, item.valueOffset + item.length);
        let inner = item.valueOffset;
        while (inner + 8 <= itemEnd) {
          const element = this.readHeader(inner, true, littleEndian);
          if (element.tag === ITEM_DELIMITATION) {
            inner = element.valueOffset;
            break;
          }
          inner = this.skipValue(element, true, littleEndian, depth);
        }
        offset = item.length === UNDEFINED_LENGTH ? inner : itemEnd;
      }
    } catch (error) {
      if (error instanceof RadiolensError && error.code === 'E_LIMIT_EXCEEDED') throw error;
    }
  }

  private skipItems(
    offset: number,
    explicitVr: boolean,
    littleEndian: boolean,
    vr: string,
    depth: number,
  ): number {
    if (depth > parsingLimits().maxSequenceDepth) throw depthExceeded(depth, this.source, offset);
    for (;;) {
      const item = this.readHeader(offset, false, littleEndian);
      if (item.tag === SEQUENCE_DELIMITATION) return item.valueOffset;
      if (item.tag !== ITEM) {
        throw new RadiolensError(
          'E_MALFORMED_DICOM',
          `${this.source}: expected an item in a delimited ${vr || 'sequence'} at byte ${offset}, found ${hexTag(item.tag)}; the sequence is malformed`,
          { subject: this.source },
        );
      }
      if (item.length !== UNDEFINED_LENGTH) {
        offset = item.valueOffset + item.length;
        this.need(item.valueOffset, item.length);
        continue;
      }
      // Encapsulated fragments always have a defined length; only dataset items get here.
      offset = item.valueOffset;
      for (;;) {
        const inner = this.readHeader(offset, explicitVr, littleEndian);
        if (inner.tag === ITEM_DELIMITATION) {
          offset = inner.valueOffset;
          break;
        }
        offset = this.skipValue(inner, explicitVr, littleEndian, depth);
        if (offset >= this.view.byteLength) this.need(offset, 8);
      }
    }
  }

  need(offset: number, count: number): void {
    needBytes(this.view, offset, count, this.source);
  }
}

export function hexTag(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
