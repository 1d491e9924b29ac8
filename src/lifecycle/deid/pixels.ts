/**
 * Burned-in text (PS3.15 E.3.1 Clean Pixel Data): decide which images must not pass without
 * pixel cleaning, and blank configured regions when cleaning is requested (ADR 0065).
 */
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';
import { stringValue, stringValues } from './dicomIo.js';
import {
  type TaggedDataset,
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
} from '../../foundation/dicom/index.js';

/** SOP classes whose pixels routinely carry patient text or faces. */
const RISKY_SOP_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.1': 'Multi-frame Single Bit Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.7.2': 'Multi-frame Grayscale Byte Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.7.3': 'Multi-frame Grayscale Word Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.7.4': 'Multi-frame True Color Secondary Capture',
  '1.2.840.10008.5.1.4.1.1.6.1': 'Ultrasound Image Storage',
  '1.2.840.10008.5.1.4.1.1.6.2': 'Enhanced US Volume Storage',
  '1.2.840.10008.5.1.4.1.1.3.1': 'Ultrasound Multi-frame Image Storage',
  '1.2.840.10008.5.1.4.1.1.77.1.4': 'VL Photographic Image Storage',
  '1.2.840.10008.5.1.4.1.1.77.1.1.1': 'Video Endoscopic Image Storage',
  '1.2.840.10008.5.1.4.1.1.77.1.4.1': 'Video Photographic Image Storage',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF Storage',
};

/** Modalities whose images routinely carry patient text or faces. */
const RISKY_MODALITIES: Readonly<Record<string, string>> = {
  US: 'ultrasound (patient name and dates are usually burned in)',
  XC: 'external-camera photography (faces)',
  ES: 'endoscopy (overlay text)',
  GM: 'general microscopy (labels)',
  OP: 'ophthalmic photography (labels)',
  DOC: 'document',
};

/** Why this image must be treated as carrying burned-in identifying text, or undefined. */
export function burnedInTextRisk(dataset: TaggedDataset): string | undefined {
  if (stringValue(dataset['00280301'])?.toUpperCase() === 'YES') {
    return 'Burned In Annotation (0028,0301) is YES';
  }
  const sopClass = stringValue(dataset['00080016']) ?? '';
  const sopName = RISKY_SOP_CLASSES[sopClass];
  if (sopName !== undefined)
    return `SOP Class ${sopName} (${sopClass}) is likely to carry burned-in text`;
  const modality = stringValue(dataset['00080060'])?.toUpperCase() ?? '';
  const why = RISKY_MODALITIES[modality];
  if (why !== undefined) return `Modality ${modality}: ${why}`;
  const conversion = stringValue(dataset['00080064'])?.toUpperCase();
  if (conversion === 'WSD' || conversion === 'SD') {
    return `Conversion Type ${conversion}: a workstation screenshot or scanned document`;
  }
  if (stringValues(dataset['00080008']).some((v) => /SCREEN|CAPTURE/i.test(v))) {
    return 'Image Type names a screen capture';
  }
  return undefined;
}

/** A rectangle in pixel coordinates (columns x, rows y), as in PS3.3 C.8.5.6 regions. */
export interface PixelRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A configured Clean Pixel Data rule: which images it applies to, and what to blank. */
export interface PixelCleaningRule {
  readonly name: string;
  readonly match: {
    readonly modality?: readonly string[];
    readonly sopClassUid?: readonly string[];
    readonly manufacturer?: readonly string[];
    readonly manufacturerModelName?: readonly string[];
    readonly rows?: number;
    readonly columns?: number;
  };
  readonly regions: readonly PixelRegion[];
}

function matchesAny(list: readonly string[] | undefined, value: string | undefined): boolean {
  if (list === undefined) return true;
  return value !== undefined && list.some((v) => v.trim().toUpperCase() === value.toUpperCase());
}

export function findPixelCleaningRule(
  dataset: TaggedDataset,
  rules: readonly PixelCleaningRule[],
): PixelCleaningRule | undefined {
  return rules.find(
    (rule) =>
      matchesAny(rule.match.modality, stringValue(dataset['00080060'])) &&
      matchesAny(rule.match.sopClassUid, stringValue(dataset['00080016'])) &&
      matchesAny(rule.match.manufacturer, stringValue(dataset['00080070'])) &&
      matchesAny(rule.match.manufacturerModelName, stringValue(dataset['00081090'])) &&
      (rule.match.rows === undefined ||
        Number(stringValue(dataset['00280010'])) === rule.match.rows) &&
      (rule.match.columns === undefined ||
        Number(stringValue(dataset['00280011'])) === rule.match.columns),
  );
}

const NATIVE_SYNTAXES = new Set([
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
]);

/**
 * Blank the rule's regions to zero in every frame and sample of native (uncompressed) Pixel
 * Data. Compressed pixel data cannot be cleaned without decoding, so it is refused — the
 * caller quarantines the file with that reason rather than passing it on.
 */
export function blankRegions(
  dataset: TaggedDataset,
  transferSyntax: string,
  regions: readonly PixelRegion[],
  source: string,
): void {
  if (!NATIVE_SYNTAXES.has(transferSyntax)) {
    throw new RadiolensError(
      'E_UNSUPPORTED_TRANSFER_SYNTAX',
      `${source}: pixel data is compressed (${transferSyntax}); Clean Pixel Data needs native pixels — decompress it first (dcmdjpeg, gdcmconv --raw) and run again`,
      { subject: source },
    );
  }
  const element = dataset['7FE00010'];
  const buffer = element?.Value?.[0];
  if (!(buffer instanceof ArrayBuffer)) {
    throw new RadiolensError('E_PIXEL_DATA', `${source}: no native Pixel Data to clean`, {
      subject: source,
    });
  }
  const rows = Number(stringValue(dataset['00280010']));
  const columns = Number(stringValue(dataset['00280011']));
  const bytesPerSample = Number(stringValue(dataset['00280100'])) / 8;
  const samples = Number(stringValue(dataset['00280002']) ?? '1');
  const planar = Number(stringValue(dataset['00280006']) ?? '0') === 1;
  const frames = Number(stringValue(dataset['00280008']) ?? '1') || 1;
  if (![1, 2, 4].includes(bytesPerSample) || !(rows > 0) || !(columns > 0)) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `${source}: Bits Allocated / Rows / Columns do not describe byte-aligned pixels — cannot clean`,
      { subject: source },
    );
  }
  const bytes = new Uint8Array(buffer);
  const frameBytes = rows * columns * samples * bytesPerSample;
  for (let f = 0; f < frames; f++) {
    for (const r of regions) {
      const x0 = Math.max(0, r.x);
      const x1 = Math.min(columns, r.x + r.width);
      const y1 = Math.min(rows, r.y + r.height);
      for (let y = Math.max(0, r.y); y < y1; y++) {
        if (planar) {
          for (let s = 0; s < samples; s++) {
            const base = f * frameBytes + (s * rows * columns + y * columns) * bytesPerSample;
            bytes.fill(0, base + x0 * bytesPerSample, base + x1 * bytesPerSample);
          }
        } else {
          const base = f * frameBytes + y * columns * samples * bytesPerSample;
          const step = samples * bytesPerSample;
          bytes.fill(0, base + x0 * step, base + x1 * step);
        }
      }
    }
  }
}

const regionSchema = z.object({
  x: z.number().int().nonnegative(),
  y: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
const ruleSchema = z.object({
  name: z.string().min(1),
  match: z.object({
    modality: z.array(z.string()).optional(),
    sopClassUid: z.array(z.string()).optional(),
    manufacturer: z.array(z.string()).optional(),
    manufacturerModelName: z.array(z.string()).optional(),
    rows: z.number().int().positive().optional(),
    columns: z.number().int().positive().optional(),
  }),
  regions: z.array(regionSchema).min(1),
});

/** Parse a Clean Pixel Data rule file ({ "rules": [...] }) at the edge, once. */
export function parsePixelCleaningRules(json: unknown, source: string): PixelCleaningRule[] {
  const parsed = z.object({ rules: z.array(ruleSchema) }).safeParse(json);
  if (!parsed.success) {
    throw new RadiolensError(
      'E_DEID_CONFIG',
      `${source} is not a valid pixel rule file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { subject: source },
    );
  }
  return parsed.data.rules;
}
