/**
 * Small, valid DICOM instances for store, queue and DIMSE tests: a CR image of 8×8 pixels
 * with the identifying attributes the index reads. Test support only.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deriveUid } from '../../src/foundation/core/index.js';
import { encodeDicomPart10 } from '../../src/foundation/dicom/index.js';

export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';

export interface SyntheticInstanceOptions {
  readonly study: string;
  readonly series?: string;
  readonly instance: string;
  readonly modality?: string;
  readonly bodyPartExamined?: string;
  readonly viewPosition?: string;
  /** Changes the pixel values (and so the bytes) without changing the UIDs. */
  readonly seed?: number;
  /** Pixel rows and columns; 8 unless a test needs a bigger payload. */
  readonly size?: number;
}

export function syntheticInstance(options: SyntheticInstanceOptions): Uint8Array {
  const size = options.size ?? 8;
  const pixels = new Uint8Array(size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (options.seed ?? 0)) & 0xff;
  return encodeDicomPart10({
    SOPClassUID: CR_IMAGE_STORAGE,
    SOPInstanceUID: deriveUid('test-instance', options.study, options.instance),
    StudyInstanceUID: deriveUid('test-study', options.study),
    SeriesInstanceUID: deriveUid('test-series', options.study, options.series ?? '1'),
    PatientID: `P-${options.study}`,
    PatientName: 'TEST^PATIENT',
    Modality: options.modality ?? 'CR',
    BodyPartExamined: options.bodyPartExamined ?? 'CHEST',
    ViewPosition: options.viewPosition ?? 'PA',
    InstanceNumber: '1',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: size,
    Columns: size,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: pixels,
  });
}

export function syntheticUids(
  study: string,
  instance: string,
): {
  studyInstanceUid: string;
  sopInstanceUid: string;
} {
  return {
    studyInstanceUid: deriveUid('test-study', study),
    sopInstanceUid: deriveUid('test-instance', study, instance),
  };
}

/** Every file under `<dataDir>/objects`, stored or pending (test support). */
export function objectFilesIn(dataDir: string): string[] {
  const objects = join(dataDir, 'objects');
  if (!existsSync(objects)) return [];
  return readdirSync(objects, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
