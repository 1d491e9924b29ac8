import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import {
  RadiolensError,
  deriveUid,
  describeError,
  filesUnder,
  writeFileAtomic,
} from '../../foundation/core/index.js';
import { encodeDicomPart10 } from '../../foundation/dicom/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';
import { decodeRaster, type GreyRaster } from '../../foundation/raster/index.js';

/** Computed Radiography Image Storage (PS3.4 B.5). */
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';

export interface ImportOptions {
  outDir: string;
  /** Body Part Examined (CS), e.g. CHEST. */
  bodyPart: string;
  /** View Position (CS) for every image, unless the CSV has a view column. */
  viewPosition?: string;
  /** CSV column with the view position per image (e.g. PA, AP, LL). */
  viewColumn?: string;
  /** CSV column with the Patient ID. */
  patientIdColumn?: string;
  /** CSV column whose equal values put images into one study (default: one study per image). */
  groupByColumn?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportedImage {
  image: string;
  dicom: string;
  studyInstanceUid: string;
  sopInstanceUid: string;
}

export interface ImportReport {
  imported: ImportedImage[];
  problems: Array<{ image: string; error: string }>;
  /** CSV of image → DICOM path and UIDs, written beside the outputs. */
  mapFile: string;
}

interface ImportItem {
  path: string;
  /** The name used in reports and in the map: the CSV's value or the path below the folder. */
  name: string;
  row: Readonly<Record<string, string>> | null;
}

const RASTER_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * Turn PNG/JPEG radiographs (legacy archives, public data sets) into DICOM Computed
 * Radiography images so they flow through the same pipeline as any study. UIDs derive from
 * the image's content and the grouping, so importing the same files twice gives the same
 * UIDs. Nothing is invented: no patient name, no dates; a JPEG source is declared lossy
 * (Lossy Image Compression 01), and the conversion is recorded in Derivation Description.
 */
export async function importImages(input: string, options: ImportOptions): Promise<ImportReport> {
  const items = await listItems(input, options);
  const imported: ImportedImage[] = [];
  const problems: ImportReport['problems'] = [];
  let done = 0;
  for (const item of items) {
    try {
      imported.push(await importOne(item, options));
    } catch (error) {
      problems.push({ image: item.name, error: describeError(error) });
    }
    done += 1;
    options.onProgress?.(done, items.length);
  }
  const mapFile = join(options.outDir, 'import-map.csv');
  const lines = ['image,dicom,study_instance_uid,sop_instance_uid'];
  for (const entry of imported) {
    lines.push(
      [
        entry.image,
        relative(options.outDir, entry.dicom),
        entry.studyInstanceUid,
        entry.sopInstanceUid,
      ]
        .map(csvField)
        .join(','),
    );
  }
  await writeFileAtomic(mapFile, `${lines.join('\n')}\n`);
  return { imported, problems, mapFile };
}

async function listItems(input: string, options: ImportOptions): Promise<ImportItem[]> {
  const info = await stat(input).catch((error: unknown) => {
    throw new RadiolensError(
      'E_IO',
      `cannot read ${input}: it does not exist or is not accessible`,
      { subject: input, cause: error },
    );
  });
  if (info.isDirectory()) {
    const files = await walk(input);
    return files.map((path) => ({ path, name: relative(input, path), row: null }));
  }
  const table = readCsvFile(input);
  const wanted = [
    'image',
    options.viewColumn,
    options.patientIdColumn,
    options.groupByColumn,
  ].filter((column): column is string => typeof column === 'string');
  requireColumns(table, wanted);
  const base = dirname(resolve(input));
  return table.rows.map((row) => ({
    path: resolve(base, row['image']!),
    name: row['image']!,
    row,
  }));
}

/** Every PNG/JPEG below dir (hidden entries skipped), sorted. */
async function walk(dir: string): Promise<string[]> {
  return (await filesUnder(dir)).filter((path) =>
    RASTER_EXTENSIONS.has(extname(path).toLowerCase()),
  );
}

async function importOne(item: ImportItem, options: ImportOptions): Promise<ImportedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(item.path);
  } catch (error) {
    throw new RadiolensError('E_IO', `cannot read ${item.path}`, {
      subject: item.path,
      cause: error,
    });
  }
  const raster = decodeRaster(bytes, item.name);
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const group = options.groupByColumn ? item.row?.[options.groupByColumn] : undefined;
  const studyKey =
    group !== undefined ? `group:${options.groupByColumn}=${group}` : `image:${contentHash}`;
  const studyInstanceUid = deriveUid('radiolens-import', 'study', studyKey);
  const seriesInstanceUid = deriveUid('radiolens-import', 'series', studyKey);
  const sopInstanceUid = deriveUid('radiolens-import', 'instance', contentHash, studyKey);
  const viewPosition =
    (options.viewColumn ? item.row?.[options.viewColumn] : options.viewPosition) ?? '';
  const patientId = options.patientIdColumn ? (item.row?.[options.patientIdColumn] ?? '') : '';

  const dataset = crDataset(raster, {
    studyInstanceUid,
    seriesInstanceUid,
    sopInstanceUid,
    patientId,
    bodyPart: options.bodyPart.toUpperCase(),
    viewPosition: viewPosition.toUpperCase(),
    sourceName: basename(item.path),
  });
  const out = join(
    options.outDir,
    `${item.name.replace(/\.[^./\\]+$/, '').replace(/[\\/]/g, '_')}.dcm`,
  );
  await writeFileAtomic(out, encodeDicomPart10(dataset));
  return { image: item.name, dicom: out, studyInstanceUid, sopInstanceUid };
}

export interface CrIdentity {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  patientId: string;
  bodyPart: string;
  viewPosition: string;
  sourceName: string;
}

/**
 * The CR Image IOD (PS3.3 A.2): Patient, General Study, General Series, CR Series, General
 * Equipment, General Image, Image Pixel, CR Image, VOI LUT, SOP Common. Type 2 attributes
 * we cannot know are present and empty, as the standard asks.
 *
 * `bitsStored` (default: the raster's bit depth) declares fewer significant bits in 16-bit
 * samples (e.g. 12); the samples must fit. `window: false` leaves the VOI LUT module out, as
 * images arrive that carry no window (the receiver then chooses one; ADR 0020).
 */
export function crDataset(
  raster: Pick<
    GreyRaster,
    'bitDepth' | 'samples' | 'width' | 'height' | 'lossy' | 'convertedFromColour'
  >,
  id: CrIdentity,
  options: { bitsStored?: number; window?: boolean; derivation?: string } = {},
): Record<string, unknown> {
  const bits = raster.bitDepth;
  const bitsStored = options.bitsStored ?? bits;
  if (!(Number.isInteger(bitsStored) && bitsStored >= 1 && bitsStored <= bits)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Bits Stored ${bitsStored} does not fit ${bits}-bit samples — give 1..${bits}`,
    );
  }
  const maxValue = 2 ** bitsStored - 1;
  for (const v of raster.samples) {
    if (v > maxValue) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `a sample of ${v} does not fit Bits Stored ${bitsStored} (at most ${maxValue}) — rescale the samples first`,
      );
    }
  }
  const pixelBytes =
    bits === 8
      ? evenLength(raster.samples as Uint8Array)
      : new Uint8Array(raster.samples.buffer, raster.samples.byteOffset, raster.samples.byteLength);
  const derivation =
    options.derivation ??
    `Converted from ${id.sourceName} by radiolens import-images` +
      (raster.convertedFromColour ? '; colour converted to grey (BT.601 luma)' : '');
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: CR_IMAGE_STORAGE,
    SOPInstanceUID: id.sopInstanceUid,
    // Patient module: only what the source gives; no invented identity.
    PatientName: '',
    PatientID: id.patientId,
    PatientBirthDate: '',
    PatientSex: '',
    // General Study
    StudyInstanceUID: id.studyInstanceUid,
    StudyDate: '',
    StudyTime: '',
    ReferringPhysicianName: '',
    StudyID: '',
    AccessionNumber: '',
    // General Series + CR Series
    Modality: 'CR',
    SeriesInstanceUID: id.seriesInstanceUid,
    SeriesNumber: '1',
    BodyPartExamined: id.bodyPart,
    ViewPosition: id.viewPosition,
    Manufacturer: '',
    // General Image
    InstanceNumber: '1',
    PatientOrientation: '',
    ImageType: ['DERIVED', 'PRIMARY'],
    DerivationDescription: derivation.slice(0, 1024),
    LossyImageCompression: raster.lossy ? '01' : '00',
    ...(raster.lossy ? { LossyImageCompressionMethod: 'ISO_10918_1' } : {}),
    // Image Pixel
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: raster.height,
    Columns: raster.width,
    BitsAllocated: bits,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: 0,
    // The full stored range as the window: LINEAR with centre (max+1)/2 and width max+1 maps
    // stored value x to exactly x/max (PS3.3 C.11.2.1.2.1), i.e. the image as it was viewed.
    ...(options.window === false
      ? {}
      : { WindowCenter: String((maxValue + 1) / 2), WindowWidth: String(maxValue + 1) }),
    PixelData: pixelBytes,
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
  };
}

function evenLength(bytes: Uint8Array): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes);
  return padded;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
