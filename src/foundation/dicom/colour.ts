/**
 * Photometric handling for colour: planar → interleaved, YBR_FULL_422 → full resolution,
 * YBR_FULL → RGB (PS3.3 C.7.6.3.1.2), PALETTE COLOR → RGB through the Palette Color Lookup
 * Tables (C.7.6.3.1.5/6). All functions take and return Int32Array samples.
 */
import { RadiolensError } from '../core/index.js';
import type { DicomDataset } from './parse.js';

/** R…R G…G B…B → R G B R G B … */
export function planarToInterleaved(planar: Int32Array, pixels: number): Int32Array {
  const out = new Int32Array(pixels * 3);
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    out[o] = planar[i]!;
    out[o + 1] = planar[pixels + i]!;
    out[o + 2] = planar[2 * pixels + i]!;
  }
  return out;
}

/**
 * YBR_FULL_422 native layout (PS3.3 C.7.6.3.1.2): each pair of pixels in a row is stored as
 * Y1 Y2 Cb Cr. Chroma is repeated for both pixels (nearest neighbour, as DCMTK does).
 */
export function ybr422ToFull(packed: Int32Array, rows: number, columns: number): Int32Array {
  const out = new Int32Array(rows * columns * 3);
  const packedRow = columns * 2;
  for (let r = 0; r < rows; r++) {
    let p = r * packedRow;
    let o = r * columns * 3;
    for (let c = 0; c < columns; c += 2, p += 4) {
      const cb = packed[p + 2]!;
      const cr = packed[p + 3]!;
      out[o++] = packed[p]!;
      out[o++] = cb;
      out[o++] = cr;
      if (c + 1 < columns) {
        out[o++] = packed[p + 1]!;
        out[o++] = cb;
        out[o++] = cr;
      }
    }
  }
  return out;
}

/** Samples a YBR_FULL_422 frame occupies in its native (packed) form. */
export function ybr422SampleCount(rows: number, columns: number): number {
  return rows * Math.ceil(columns / 2) * 4;
}

/** YBR_FULL → RGB in place, for interleaved samples of the given bit depth. */
export function ybrFullToRgb(samples: Int32Array, bitsStored: number): void {
  const max = 2 ** bitsStored - 1;
  const half = 2 ** (bitsStored - 1);
  for (let i = 0; i < samples.length; i += 3) {
    const y = samples[i]!;
    const cb = samples[i + 1]! - half;
    const cr = samples[i + 2]! - half;
    samples[i] = clamp(Math.round(y + 1.402 * cr), max);
    samples[i + 1] = clamp(Math.round(y - 0.344136 * cb - 0.714136 * cr), max);
    samples[i + 2] = clamp(Math.round(y + 1.772 * cb), max);
  }
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

export interface PaletteLookup {
  readonly red: Uint16Array;
  readonly green: Uint16Array;
  readonly blue: Uint16Array;
  readonly firstMapped: number;
  /** 8 or 16: the LUT entries' bit depth, which becomes the RGB output's. */
  readonly bits: number;
}

/** Reads the Palette Color Lookup Tables from a naturalized dataset. */
export function readPalette(
  dataset: DicomDataset,
  littleEndian: boolean,
  source: string,
): PaletteLookup {
  const channel = (name: 'Red' | 'Green' | 'Blue') => {
    const descriptor = dataset[`${name}PaletteColorLookupTableDescriptor`];
    const data = dataset[`${name}PaletteColorLookupTableData`];
    const segmented = dataset[`Segmented${name}PaletteColorLookupTableData`];
    if (
      !Array.isArray(descriptor) ||
      descriptor.length < 3 ||
      (data === undefined && segmented === undefined)
    ) {
      throw new RadiolensError(
        'E_PIXEL_DATA',
        `${source}: PALETTE COLOR image without a usable ${name} Palette Color Lookup Table`,
        {
          subject: source,
        },
      );
    }
    const entries = Number(descriptor[0]) === 0 ? 65536 : Number(descriptor[0]);
    const firstMapped = Number(descriptor[1]);
    const bits = Number(descriptor[2]);
    const table =
      data !== undefined
        ? lutEntries(data, entries, bits, littleEndian, source)
        : expandSegmentedLut(words(segmented, littleEndian, source), entries, source);
    return { table, firstMapped, bits };
  };
  const red = channel('Red');
  const green = channel('Green');
  const blue = channel('Blue');
  return {
    red: red.table,
    green: green.table,
    blue: blue.table,
    firstMapped: red.firstMapped,
    bits: red.bits > 8 ? 16 : 8,
  };
}

function lutEntries(
  data: unknown,
  entries: number,
  bits: number,
  littleEndian: boolean,
  source: string,
): Uint16Array {
  const value =
    Array.isArray(data) && data.length === 1 && typeof data[0] !== 'number' ? data[0] : data;
  const out = new Uint16Array(entries);
  if (Array.isArray(value)) {
    for (let i = 0; i < entries; i++) out[i] = Number(value[i] ?? value[value.length - 1] ?? 0);
    return out;
  }
  const bytes = toBytes(value);
  if (!bytes)
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: Palette Color Lookup Table Data is unreadable`,
      { subject: source },
    );
  if (bits <= 8 && bytes.byteLength === entries) {
    // Some writers store 8-bit entries one per byte rather than one per 16-bit word.
    out.set(bytes.subarray(0, entries));
    return out;
  }
  if (bytes.byteLength < entries * 2) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: Palette Color Lookup Table Data has ${bytes.byteLength} bytes for ${entries} entries`,
      { subject: source },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < entries; i++) out[i] = view.getUint16(i * 2, littleEndian);
  if (bits <= 8) {
    // 8-bit entries in 16-bit words: the value sits in the low byte (PS3.3 C.7.6.3.1.6), but
    // some writers put it in the high byte; use whichever byte carries the data.
    let high = 0;
    for (let i = 0; i < entries; i++) high |= out[i]! >> 8;
    for (let i = 0; i < entries; i++) out[i] = high !== 0 ? out[i]! >> 8 : out[i]! & 0xff;
  }
  return out;
}

function words(value: unknown, littleEndian: boolean, source: string): Uint16Array {
  const first =
    Array.isArray(value) && value.length === 1 && typeof value[0] !== 'number' ? value[0] : value;
  if (Array.isArray(first)) return Uint16Array.from(first as number[]);
  const bytes = toBytes(first);
  if (!bytes)
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: Segmented Palette Color Lookup Table Data is unreadable`,
      { subject: source },
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(i * 2, littleEndian);
  return out;
}

/**
 * Expands a Segmented Palette Color Lookup Table (PS3.3 C.7.9.2): discrete (0), linear (1)
 * and indirect (2) segments. Indirect offsets are taken in 16-bit words, as DCMTK and
 * pydicom read them.
 */
export function expandSegmentedLut(
  data: Uint16Array,
  entries: number,
  source: string,
): Uint16Array {
  const out: number[] = [];
  const bad = (what: string): RadiolensError =>
    new RadiolensError('E_PIXEL_DATA', `${source}: Segmented Palette Color Lookup Table ${what}`, {
      subject: source,
    });
  const expand = (start: number, maxSegments: number, depth: number): void => {
    if (depth > 2) throw bad('nests indirect segments too deeply');
    let at = start;
    for (let segment = 0; segment < maxSegments && at + 1 < data.length; segment++) {
      const opcode = data[at]!;
      const length = data[at + 1]!;
      if (opcode === 0) {
        if (at + 2 + length > data.length) throw bad('has a discrete segment past its end');
        for (let i = 0; i < length; i++) out.push(data[at + 2 + i]!);
        at += 2 + length;
      } else if (opcode === 1) {
        if (out.length === 0) throw bad('starts with a linear segment');
        const y0 = out[out.length - 1]!;
        const y1 = data[at + 2]!;
        for (let i = 1; i <= length; i++) out.push(Math.round(y0 + ((y1 - y0) * i) / length));
        at += 3;
      } else if (opcode === 2) {
        const offset = data[at + 2]! | (data[at + 3]! << 16);
        expand(offset, length, depth + 1);
        at += 4;
      } else {
        throw bad(`has an unknown segment type ${opcode}`);
      }
    }
  };
  expand(0, Number.POSITIVE_INFINITY, 0);
  if (out.length < entries) throw bad(`expands to ${out.length} entries, ${entries} expected`);
  return Uint16Array.from(out.slice(0, entries));
}

function toBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/** Looks each stored index up in the palette; out-of-range indices take the end entries. */
export function paletteToRgb(indices: Int32Array, palette: PaletteLookup): Int32Array {
  const out = new Int32Array(indices.length * 3);
  const last = palette.red.length - 1;
  const { red, green, blue, firstMapped } = palette;
  for (let i = 0, o = 0; i < indices.length; i++, o += 3) {
    let k = indices[i]! - firstMapped;
    if (k < 0) k = 0;
    else if (k > last) k = last;
    out[o] = red[k]!;
    out[o + 1] = green[k]!;
    out[o + 2] = blue[k]!;
  }
  return out;
}
