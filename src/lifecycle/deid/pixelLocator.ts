/**
 * Finds the top-level Pixel Data element (7FE0,0010) in a Part 10 file by walking element
 * headers only, so its bytes can be copied to the output verbatim (ADR 0061): fragments,
 * Basic Offset Table and byte order exactly as received, and no time spent decoding and
 * re-encoding half a megabyte per image. Values are skipped, never interpreted.
 */
import {
  LONG_LENGTH_VRS,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
} from '../../foundation/dicom/index.js';

const UNDEFINED = 0xffffffff;

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

class Walker {
  offset: number;
  constructor(
    private readonly view: DataView,
    start: number,
    private readonly explicit: boolean,
    private readonly little: boolean,
  ) {
    this.offset = start;
  }

  private u16(at: number, little = this.little): number {
    return this.view.getUint16(at, little);
  }
  private u32(at: number, little = this.little): number {
    return this.view.getUint32(at, little);
  }

  /** Read one element header; returns tag (as number) and value length, offset after header. */
  header(): { tag: number; length: number; start: number } {
    const start = this.offset;
    const group = this.u16(start);
    const element = this.u16(start + 2);
    const tag = ((group << 16) | element) >>> 0;
    // Item and delimiter tags carry no VR in any transfer syntax.
    if (group === 0xfffe || !this.explicit) {
      this.offset = start + 8;
      return { tag, length: this.u32(start + 4), start };
    }
    const vr = String.fromCharCode(this.view.getUint8(start + 4), this.view.getUint8(start + 5));
    if (LONG_LENGTH_VRS.has(vr)) {
      this.offset = start + 12;
      return { tag, length: this.u32(start + 8), start };
    }
    this.offset = start + 8;
    return { tag, length: this.u16(start + 6), start };
  }

  /** Skip an undefined-length value: items (themselves maybe undefined length) up to E0DD. */
  skipUndefined(): void {
    for (;;) {
      const { tag, length } = this.header();
      if (tag === 0xfffee0dd) return; // Sequence Delimitation Item
      if (tag === 0xfffee000 && length === UNDEFINED) this.skipItemElements();
      else if (length !== UNDEFINED) this.offset += length;
      else throw new Error('undefined length outside an item');
    }
  }

  /** Skip the elements of an undefined-length item up to its Item Delimitation (E00D). */
  private skipItemElements(): void {
    for (;;) {
      const { tag, length } = this.header();
      if (tag === 0xfffee00d) return;
      if (length === UNDEFINED) this.skipUndefined();
      else this.offset += length;
    }
  }
}

/**
 * Where the top-level Pixel Data element lies: `found`; `absent` (no such element, or the
 * file cannot be walked — deflated data, damage before it — and callers fall back to a full
 * re-encode); or `truncated`, when an element's declared length runs past the end of the
 * file. A truncated file must be refused (issue #16): a full re-encode would fill the
 * missing pixels with zeros and report success.
 */
export type PixelDataExtent =
  | { readonly kind: 'found'; readonly range: ByteRange }
  | { readonly kind: 'absent' }
  | { readonly kind: 'truncated'; readonly declaredEnd: number };

export function pixelDataExtent(bytes: Uint8Array, transferSyntax: string): PixelDataExtent {
  if (transferSyntax === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) return { kind: 'absent' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let walker: Walker | undefined;
  try {
    // File meta: always explicit VR little endian; (0002,0000) gives its length.
    const metaLength = view.getUint32(132 + 8, true);
    walker = new Walker(
      view,
      132 + 12 + metaLength,
      transferSyntax !== IMPLICIT_VR_LITTLE_ENDIAN,
      transferSyntax !== EXPLICIT_VR_BIG_ENDIAN,
    );
    while (walker.offset + 8 <= bytes.byteLength) {
      const { tag, length, start } = walker.header();
      if (tag === 0x7fe00010) {
        if (length === UNDEFINED) walker.skipUndefined();
        else walker.offset += length;
        return walker.offset <= bytes.byteLength
          ? { kind: 'found', range: { start, end: walker.offset } }
          : { kind: 'truncated', declaredEnd: walker.offset };
      }
      if (tag > 0x7fe00010) return { kind: 'absent' };
      if (length === UNDEFINED) walker.skipUndefined();
      else walker.offset += length;
    }
    if (walker.offset > bytes.byteLength) {
      return { kind: 'truncated', declaredEnd: walker.offset };
    }
  } catch (error) {
    // A header read past the end: the file stops inside an element or a fragment list.
    if (error instanceof RangeError && walker !== undefined && walker.offset >= 144) {
      return { kind: 'truncated', declaredEnd: walker.offset };
    }
    return { kind: 'absent' };
  }
  return { kind: 'absent' };
}

/** The byte range of the top-level Pixel Data element, or undefined (see pixelDataExtent). */
export function locatePixelData(bytes: Uint8Array, transferSyntax: string): ByteRange | undefined {
  const extent = pixelDataExtent(bytes, transferSyntax);
  return extent.kind === 'found' ? extent.range : undefined;
}
