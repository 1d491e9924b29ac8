/**
 * The undecoded pixel bytes of a parsed instance, kept beside (not inside) the public
 * DicomInstance so that the dataset stays a plain naturalized object and decodeFrame can
 * still reach the bytes without copying them.
 */
import type { EncapsulatedPixelData } from './encapsulated.js';
import type { TransferSyntax } from './transferSyntax.js';

export type PixelDataKeyword = 'PixelData' | 'FloatPixelData' | 'DoubleFloatPixelData';

export interface NativePixelBytes {
  readonly kind: 'native';
  readonly keyword: PixelDataKeyword;
  readonly vr: string;
  readonly bytes: Uint8Array;
}

export interface EncapsulatedPixelBytes {
  readonly kind: 'encapsulated';
  readonly keyword: 'PixelData';
  readonly data: EncapsulatedPixelData;
  /** Extended Offset Table (7FE0,0001) in bytes, when the file has one. */
  readonly extendedOffsets: readonly number[] | undefined;
  /** Fragments grouped per frame, computed on first decode. */
  frames?: Uint8Array[][];
}

export interface StoredPixelData {
  /** Undefined when the transfer syntax is one Radiolens cannot decode. */
  readonly syntax: TransferSyntax | undefined;
  readonly pixels: NativePixelBytes | EncapsulatedPixelBytes | undefined;
}

const store = new WeakMap<object, StoredPixelData>();

export function attachPixelData(instance: object, pixels: StoredPixelData): void {
  store.set(instance, pixels);
}

export function storedPixelData(instance: object): StoredPixelData | undefined {
  return store.get(instance);
}
