/**
 * What a drift monitor needs to know about each analysed image, recorded when the image is
 * analysed (ADR 0087): the acquisition facts from its header and statistics of the pixels the
 * model was given. They go into the study's analysis.json beside the scores and the OOD
 * distance, so a monitor can compare any window of analyses with the reference a model
 * package carries — computed by this same code on the images the model was validated on.
 */
import { createHash } from 'node:crypto';
import type { ModelInputSpec } from '../models/index.js';

/** Header facts of one image; null when the attribute is absent or empty. */
export interface AcquisitionFacts {
  readonly modality: string | null;
  readonly manufacturer: string | null;
  readonly manufacturerModelName: string | null;
  readonly viewPosition: string | null;
  readonly bodyPartExamined: string | null;
  readonly photometricInterpretation: string | null;
  readonly bitsStored: number | null;
  /** Pixel Spacing, else Imager Pixel Spacing: "row\column" in mm, 3 decimals. */
  readonly pixelSpacing: string | null;
  /** Peak kilovoltage (KVP), where the modality records it. */
  readonly kvp: number | null;
  readonly rows: number | null;
  readonly columns: number | null;
}

/**
 * Statistics of the model's input image in display units [0, 1] (after windowing, before the
 * model's normalisation): what the network saw, whatever the bit depth or LUT of the source.
 */
export interface PixelStatistics {
  readonly mean: number;
  readonly std: number;
  readonly p05: number;
  readonly p50: number;
  readonly p95: number;
}

export interface InputStatistics {
  /**
   * Which images belong to one patient, for the monitor's statistics (a patient's repeated
   * radiographs are not independent observations): a salted SHA-256 prefix of Issuer of
   * Patient ID and Patient ID, never the ID itself; null without a Patient ID.
   */
  readonly patient: string | null;
  readonly acquisition: AcquisitionFacts;
  readonly pixels: PixelStatistics;
}

function text(dataset: Readonly<Record<string, unknown>>, keyword: string): string | null {
  const value = dataset[keyword];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return null;
  const out = String(first).trim();
  return out === '' ? null : out;
}

function number(dataset: Readonly<Record<string, unknown>>, keyword: string): number | null {
  const raw = text(dataset, keyword);
  if (raw === null) return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

function spacing(dataset: Readonly<Record<string, unknown>>): string | null {
  for (const keyword of ['PixelSpacing', 'ImagerPixelSpacing']) {
    const value = dataset[keyword];
    const parts = (
      Array.isArray(value) ? value : typeof value === 'string' ? value.split('\\') : []
    )
      .map(Number)
      .filter((v) => Number.isFinite(v) && v > 0);
    if (parts.length === 2) return parts.map((v) => v.toFixed(3)).join('\\');
  }
  return null;
}

export function acquisitionFacts(dataset: Readonly<Record<string, unknown>>): AcquisitionFacts {
  const upper = (value: string | null): string | null =>
    value === null ? null : value.toUpperCase();
  return {
    modality: upper(text(dataset, 'Modality')),
    manufacturer: text(dataset, 'Manufacturer'),
    manufacturerModelName: text(dataset, 'ManufacturerModelName'),
    viewPosition: upper(text(dataset, 'ViewPosition')),
    bodyPartExamined: upper(text(dataset, 'BodyPartExamined')),
    photometricInterpretation: upper(text(dataset, 'PhotometricInterpretation')),
    bitsStored: number(dataset, 'BitsStored'),
    pixelSpacing: spacing(dataset),
    kvp: number(dataset, 'KVP'),
    rows: number(dataset, 'Rows'),
    columns: number(dataset, 'Columns'),
  };
}

const BINS = 1000;

/**
 * Mean, standard deviation and 5th/50th/95th percentiles of the first channel of a model
 * input tensor, mapped back through the manifest's normalisation to [0, 1]. Percentiles come
 * from a 1000-bin histogram (exact to 0.001, one pass, no sort).
 */
export function pixelStatistics(input: Float32Array, spec: ModelInputSpec): PixelStatistics {
  const plane = spec.width * spec.height;
  const [scale, offset] =
    spec.normalisation.kind === 'meanStd'
      ? [spec.normalisation.std[0]!, spec.normalisation.mean[0]!]
      : [1, 0];
  const histogram = new Uint32Array(BINS);
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < plane; i++) {
    const value = input[i]! * scale + offset;
    sum += value;
    squares += value * value;
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor(value * BINS)));
    histogram[bin]! += 1;
  }
  const mean = sum / plane;
  const percentile = (p: number): number => {
    const wanted = p * plane;
    let seen = 0;
    for (let bin = 0; bin < BINS; bin++) {
      seen += histogram[bin]!;
      if (seen >= wanted) return (bin + 0.5) / BINS;
    }
    return 1;
  };
  return {
    mean,
    std: Math.sqrt(Math.max(0, squares / plane - mean * mean)),
    p05: percentile(0.05),
    p50: percentile(0.5),
    p95: percentile(0.95),
  };
}

/** The patient grouping key of an image (see InputStatistics.patient). */
export function patientKey(dataset: Readonly<Record<string, unknown>>): string | null {
  const id = text(dataset, 'PatientID');
  if (id === null) return null;
  const issuer = text(dataset, 'IssuerOfPatientID') ?? '';
  return createHash('sha256')
    .update(`radiolens-monitoring-patient\0${issuer}\0${id}`)
    .digest('hex')
    .slice(0, 16);
}

export function inputStatistics(
  dataset: Readonly<Record<string, unknown>>,
  input: Float32Array,
  spec: ModelInputSpec,
): InputStatistics {
  return {
    patient: patientKey(dataset),
    acquisition: acquisitionFacts(dataset),
    pixels: pixelStatistics(input, spec),
  };
}
