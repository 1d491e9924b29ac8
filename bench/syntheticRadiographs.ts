/**
 * Synthetic computed radiographs for benchmarks: the size and bit depth of a real detector
 * (default 2048² at 12 bits stored, MONOCHROME1), a smooth body-like shape with noise, so that
 * decoding, windowing and resizing do the work a real image needs. Not for accuracy.
 */
import { join } from 'node:path';
import { deriveUid, writeFileAtomic } from '../src/foundation/core/index.js';
import { encodeDicomPart10 } from '../src/foundation/dicom/index.js';

export interface SyntheticRadiographOptions {
  /** Image side in pixels; default 2048. */
  readonly side?: number;
  /** Images per study: the first PA, the next ones lateral (LL); default 1. */
  readonly imagesPerStudy?: number;
  /** Distinguishes the UIDs of separate sets; default 'bench'. */
  readonly seed?: string;
}

export async function writeSyntheticRadiographs(
  dir: string,
  studies: number,
  options: SyntheticRadiographOptions = {},
): Promise<string[][]> {
  const side = options.side ?? 2048;
  const perStudy = options.imagesPerStudy ?? 1;
  const seedText = options.seed ?? 'bench';
  const out: string[][] = [];
  for (let s = 0; s < studies; s++) {
    const study = deriveUid(seedText, 'study', String(s));
    const files: string[] = [];
    for (let i = 0; i < perStudy; i++) {
      const n = s * perStudy + i;
      const pixels = new Uint16Array(side * side);
      let seed = 12345 + n;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          const dx = (x - side / 2) / side;
          const dy = (y - side / 2) / side;
          pixels[y * side + x] = Math.min(
            4095,
            Math.round(3000 * Math.exp(-(dx * dx + dy * dy) * 6) + (seed % 200)),
          );
        }
      }
      const dataset = {
        SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
        SOPInstanceUID: deriveUid(seedText, 'instance', String(n)),
        StudyInstanceUID: study,
        SeriesInstanceUID: deriveUid(seedText, 'series', String(n)),
        PatientName: 'Bench^Synthetic',
        PatientID: `BENCH${s}`,
        Modality: 'CR',
        BodyPartExamined: 'CHEST',
        ViewPosition: i === 0 ? 'PA' : 'LL',
        InstanceNumber: String(i + 1),
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME1',
        Rows: side,
        Columns: side,
        BitsAllocated: 16,
        BitsStored: 12,
        HighBit: 11,
        PixelRepresentation: 0,
        WindowCenter: '2048',
        WindowWidth: '4096',
        PixelData: new Uint8Array(pixels.buffer),
        _vrMap: { PixelData: 'OW' },
      };
      const path = join(dir, `cr-${s}-${i}.dcm`);
      await writeFileAtomic(path, encodeDicomPart10(dataset));
      files.push(path);
    }
    out.push(files);
  }
  return out;
}
