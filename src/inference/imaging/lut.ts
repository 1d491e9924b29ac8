/**
 * LUT Descriptor + LUT Data, shared by the Modality LUT Sequence (PS3.3 C.11.1) and the VOI
 * LUT Sequence (PS3.3 C.11.2). The descriptor is [number of entries, first stored value
 * mapped, bits per entry]:
 *  - number of entries 0 means 2^16 (the field is 16 bits wide);
 *  - the first value mapped is US or SS depending on the data it maps; dcmjs reads it as SS
 *    only when the file says so explicitly, so a caller that knows the input is signed asks
 *    for the 2's-complement reading of a value ≥ 2^15;
 *  - input values below the first mapped value map to the first entry, values past the last
 *    entry map to the last entry.
 * LUT Data arrives from dcmjs as a number[] (US/SS) or an ArrayBuffer (OW), the latter in
 * little endian because dcmjs converts on read.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { numbers } from './attributes.js';
import type { DatasetLike } from './types.js';

export interface Lut {
  firstMapped: number;
  bitsPerEntry: number;
  entries: Float64Array;
}

export function parseLut(
  item: DatasetLike,
  options: { signedInput: boolean; context: string },
): Lut {
  const descriptor = numbers(item, 'LUTDescriptor');
  if (descriptor.length < 3) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${options.context}: LUT Descriptor must have 3 values, found ${descriptor.length} — the LUT cannot be applied; fix or drop the sequence`,
    );
  }
  const [rawCount, rawFirst, bits] = descriptor as [number, number, number];
  const count = rawCount === 0 ? 65536 : rawCount;
  const firstMapped = options.signedInput && rawFirst >= 32768 ? rawFirst - 65536 : rawFirst;
  const entries = readLutData(item.LUTData, count, bits, options.context);
  return { firstMapped, bitsPerEntry: bits, entries };
}

/** Maps each value through the LUT, clamping to the first/last entry. */
export function applyLut(lut: Lut, input: ArrayLike<number>, output: Float32Array): void {
  const { entries, firstMapped } = lut;
  const last = entries.length - 1;
  for (let p = 0; p < input.length; p++) {
    let index = Math.round((input[p] as number) - firstMapped);
    if (index < 0) index = 0;
    else if (index > last) index = last;
    output[p] = entries[index] as number;
  }
}

function readLutData(data: unknown, count: number, bits: number, context: string): Float64Array {
  let words: ArrayLike<number> | undefined;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bits <= 8 && bytes.length === count) {
      // 8-bit entries packed two per OW word (PS3.3 C.11.2.1.1 for VOI LUTs).
      words = bytes;
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const list = new Uint16Array(Math.floor(bytes.length / 2));
      for (let i = 0; i < list.length; i++) list[i] = view.getUint16(i * 2, true);
      words = list;
    }
  } else if (Array.isArray(data)) {
    const flat = numbersOf(data);
    if (bits <= 8 && flat.length * 2 === count) {
      // Same packing, but dcmjs already split the OW into 16-bit words: low byte first.
      const unpacked = new Float64Array(count);
      for (let i = 0; i < flat.length; i++) {
        const word = flat[i] as number;
        unpacked[2 * i] = word & 0xff;
        unpacked[2 * i + 1] = (word >> 8) & 0xff;
      }
      return unpacked;
    }
    words = flat;
  }
  if (words === undefined || words.length < count) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${context}: LUT Data has ${words?.length ?? 0} entries but the LUT Descriptor declares ${count} — the LUT is truncated; fix the file or remove the LUT`,
    );
  }
  const entries = new Float64Array(count);
  for (let i = 0; i < count; i++) entries[i] = words[i] as number;
  return entries;
}

function numbersOf(values: unknown[]): number[] {
  const out: number[] = [];
  for (const value of values) {
    const n = typeof value === 'number' ? value : Number(value);
    out.push(Number.isFinite(n) ? n : 0);
  }
  return out;
}
