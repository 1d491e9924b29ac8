/**
 * The Image Pixel Module attributes (PS3.3 C.7.6.3) that decoding needs, read once from the
 * naturalized dataset and checked, so that the decoders work on trusted numbers.
 */
import { RadiolensError } from '../core/index.js';
import type { DicomInstance } from './parse.js';

export interface ImagePixelDescription {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: 1 | 3;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly pixelRepresentation: 0 | 1;
  readonly planarConfiguration: 0 | 1;
  readonly photometricInterpretation: string;
  readonly numberOfFrames: number;
}

export function describeImagePixel(
  instance: DicomInstance,
  floatPixels: boolean,
): ImagePixelDescription {
  const { dataset, source } = instance;
  const bad = (what: string): RadiolensError =>
    new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: ${what}; the Image Pixel attributes are inconsistent`,
      {
        subject: source,
      },
    );
  const rows = integer(dataset['Rows']);
  const columns = integer(dataset['Columns']);
  if (!rows || !columns || rows < 1 || columns < 1)
    throw bad(`Rows/Columns are ${String(dataset['Rows'])}/${String(dataset['Columns'])}`);
  const samplesPerPixel = integer(dataset['SamplesPerPixel']) ?? 1;
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    throw bad(`Samples per Pixel is ${samplesPerPixel} (1 or 3 supported)`);
  const bitsAllocated = integer(dataset['BitsAllocated']);
  const allowed = floatPixels ? [32, 64] : [1, 8, 16, 32];
  if (bitsAllocated === undefined || !allowed.includes(bitsAllocated)) {
    throw bad(`Bits Allocated is ${String(bitsAllocated)} (supported: ${allowed.join(', ')})`);
  }
  // Float pixel data has no Bits Stored/High Bit/Pixel Representation (PS3.3 C.7.6.24).
  const bitsStored = floatPixels
    ? bitsAllocated
    : (integer(dataset['BitsStored']) ?? bitsAllocated);
  if (bitsStored < 1 || bitsStored > bitsAllocated)
    throw bad(`Bits Stored ${bitsStored} exceeds Bits Allocated ${bitsAllocated}`);
  const highBit = floatPixels ? bitsAllocated - 1 : (integer(dataset['HighBit']) ?? bitsStored - 1);
  if (highBit !== bitsStored - 1) {
    // Only the "low bits" layout is used in practice and required since 2004 (PS3.5 8.1.1).
    throw bad(`High Bit ${highBit} is not Bits Stored − 1 (${bitsStored - 1})`);
  }
  const pixelRepresentation = floatPixels ? 1 : (integer(dataset['PixelRepresentation']) ?? 0);
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1)
    throw bad(`Pixel Representation is ${pixelRepresentation}`);
  const planar = integer(dataset['PlanarConfiguration']) ?? 0;
  const photometric = String(
    dataset['PhotometricInterpretation'] ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2'),
  )
    .trim()
    .toUpperCase();
  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    planarConfiguration: samplesPerPixel === 3 && planar === 1 ? 1 : 0,
    photometricInterpretation: photometric,
    numberOfFrames: instance.numberOfFrames,
  };
}

function integer(value: unknown): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null || first === '') return undefined;
  const n = typeof first === 'number' ? first : Number(first);
  return Number.isInteger(n) ? n : undefined;
}
