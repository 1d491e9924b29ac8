import { createHash } from 'node:crypto';
import { deriveUid, RadiolensError } from '../../foundation/core/index.js';
import { encodeDicomPart10 } from '../../foundation/dicom/index.js';
import { encodeJpeg, encodePng, type GreyRaster } from '../../foundation/raster/index.js';
import { crDataset } from '../imports/index.js';

/**
 * One version of an image as it could really reach the model: a file, written the way the
 * change happens in practice, that is read back through the normal pipeline.
 */
export interface ImageVersion {
  /** Stable id, used in file names and the report. */
  id: VersionId;
  extension: 'png' | 'jpg' | 'dcm';
  bytes: Uint8Array;
}

export type VersionId =
  | 'original'
  | 'brighter'
  | 'darker'
  | 'cropped'
  | 'jpeg85'
  | 'dicom8'
  | 'dicom12'
  | 'dicom12NoWindow';

/** The perturbation settings of issue #11. */
export const PERTURBATION_SETTINGS = {
  brightness: 0.05,
  cropPerSide: 0.02,
  jpegQuality: 85,
  storedBits: 12,
} as const;

/**
 * A perturbation is a pair of versions of the same image whose scores should agree: the
 * reference and the changed one. Storage is compared DICOM to DICOM (8-bit as import-images
 * writes it, with its window, against 12-bit), so the pair differs in one thing only.
 */
export interface Perturbation {
  id: string;
  name: string;
  reference: VersionId;
  changed: VersionId;
  /** How the changed version is made, for the report. */
  how: string;
}

export const PERTURBATIONS: readonly Perturbation[] = [
  {
    id: 'brightness+5',
    name: 'brightness +5%',
    reference: 'original',
    changed: 'brighter',
    how: 'stored values × 1.05, rounded and clipped to the stored range (a gain change), written as PNG at the source bit depth',
  },
  {
    id: 'brightness-5',
    name: 'brightness −5%',
    reference: 'original',
    changed: 'darker',
    how: 'stored values × 0.95, rounded, written as PNG at the source bit depth',
  },
  {
    id: 'crop2',
    name: 'crop 2% per side',
    reference: 'original',
    changed: 'cropped',
    how: 'round(2% of the width) columns off the left and the right, round(2% of the height) rows off the top and the bottom (a tighter collimation or export crop), written as PNG',
  },
  {
    id: 'jpeg85',
    name: 'JPEG quality 85',
    reference: 'original',
    changed: 'jpeg85',
    how: 'baseline JPEG at quality 85 (IJG tables; 16-bit sources scaled to 8 bits first), as a PACS or web export re-encodes',
  },
  {
    id: 'dicom12',
    name: '12-bit storage (with its window)',
    reference: 'dicom8',
    changed: 'dicom12',
    how: 'DICOM CR with Bits Stored 12 (samples × 4095 / max, rounded) and the Window Center/Width that shows them as the 8-bit original, against the 8-bit DICOM CR import-images writes; both read through the normal DICOM path (Modality LUT → VOI LUT)',
  },
  {
    id: 'dicom12NoWindow',
    name: '12-bit storage without a VOI window',
    reference: 'dicom8',
    changed: 'dicom12NoWindow',
    how: 'the same 12-bit DICOM CR with no Window Center/Width and no VOI LUT: the pipeline applies its default window for such images (ADR 0020)',
  },
  {
    id: 'dicomPath',
    name: 'DICOM (8-bit, windowed) instead of the original file',
    reference: 'original',
    changed: 'dicom8',
    how: 'a check, not a perturbation: the 8-bit DICOM import-images writes must score as the original file',
  },
];

/** Every version the perturbations need of one source raster. */
export function imageVersions(
  raster: GreyRaster,
  source: { name: string; bytes: Uint8Array; patientId: string; viewPosition: string },
): ImageVersion[] {
  const original: ImageVersion = {
    id: 'original',
    extension: raster.lossy ? 'jpg' : 'png',
    bytes: source.bytes,
  };
  const max = raster.bitDepth === 8 ? 255 : 65535;
  const scaled = (factor: number): GreyRaster => ({
    ...raster,
    samples: mapSamples(raster.samples, (v) => Math.min(max, Math.round(v * factor))),
  });
  const eight: GreyRaster =
    raster.bitDepth === 8
      ? raster
      : {
          ...raster,
          bitDepth: 8,
          samples: Uint8Array.from(raster.samples, (v) => Math.round((v * 255) / 65535)),
        };
  const twelve: GreyRaster = {
    ...raster,
    bitDepth: 16,
    samples: Uint16Array.from(raster.samples, (v) =>
      Math.round((v * (2 ** PERTURBATION_SETTINGS.storedBits - 1)) / max),
    ),
  };
  const key = createHash('sha256').update(source.bytes).digest('hex');
  const dicom = (variant: string, r: GreyRaster, bitsStored: number, window: boolean) => {
    const study = deriveUid('radiolens-robustness', 'study', key);
    return encodeDicomPart10(
      crDataset(
        r,
        {
          studyInstanceUid: study,
          seriesInstanceUid: deriveUid('radiolens-robustness', 'series', key, variant),
          sopInstanceUid: deriveUid('radiolens-robustness', 'instance', key, variant),
          patientId: source.patientId,
          bodyPart: 'CHEST',
          viewPosition: source.viewPosition,
          sourceName: source.name,
        },
        {
          bitsStored,
          window,
          derivation: `${source.name} stored with Bits Stored ${bitsStored}${window ? '' : ', no VOI window'} by radiolens robustness`,
        },
      ),
    );
  };
  return [
    original,
    {
      id: 'brighter',
      extension: 'png',
      bytes: encodePng(scaled(1 + PERTURBATION_SETTINGS.brightness)),
    },
    {
      id: 'darker',
      extension: 'png',
      bytes: encodePng(scaled(1 - PERTURBATION_SETTINGS.brightness)),
    },
    {
      id: 'cropped',
      extension: 'png',
      bytes: encodePng(crop(raster, PERTURBATION_SETTINGS.cropPerSide)),
    },
    { id: 'jpeg85', extension: 'jpg', bytes: encodeJpeg(eight, PERTURBATION_SETTINGS.jpegQuality) },
    { id: 'dicom8', extension: 'dcm', bytes: dicom('8', eight, 8, true) },
    {
      id: 'dicom12',
      extension: 'dcm',
      bytes: dicom('12', twelve, PERTURBATION_SETTINGS.storedBits, true),
    },
    {
      id: 'dicom12NoWindow',
      extension: 'dcm',
      bytes: dicom('12-no-window', twelve, PERTURBATION_SETTINGS.storedBits, false),
    },
  ];
}

/** Remove round(fraction × side) pixels from each side. */
export function crop(raster: GreyRaster, fraction: number): GreyRaster {
  const dx = Math.round(fraction * raster.width);
  const dy = Math.round(fraction * raster.height);
  const width = raster.width - 2 * dx;
  const height = raster.height - 2 * dy;
  if (width < 1 || height < 1) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `cropping ${100 * fraction}% per side leaves nothing of a ${raster.width}×${raster.height} image`,
    );
  }
  const samples =
    raster.bitDepth === 8 ? new Uint8Array(width * height) : new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    const from = (y + dy) * raster.width + dx;
    samples.set(raster.samples.subarray(from, from + width), y * width);
  }
  return { ...raster, width, height, samples };
}

function mapSamples(
  samples: Uint8Array | Uint16Array,
  f: (v: number) => number,
): Uint8Array | Uint16Array {
  const out =
    samples instanceof Uint8Array
      ? new Uint8Array(samples.length)
      : new Uint16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = f(samples[i]!);
  return out;
}
