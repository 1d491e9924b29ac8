import type { ModelManifest } from './manifest.js';

/**
 * The DICOM attributes the intended-use check reads, as dcmjs "naturalized" datasets carry
 * them (keyword keys). Declared structurally so this layer does not depend on the DICOM
 * parser; any object with these keys will do.
 */
export interface IntendedUseDataset {
  Modality?: unknown;
  BodyPartExamined?: unknown;
  ViewPosition?: unknown;
  Rows?: unknown;
  Columns?: unknown;
  BitsStored?: unknown;
  PhotometricInterpretation?: unknown;
}

/**
 * Per-frame facts that override the dataset's top-level attributes, e.g. for enhanced
 * multi-frame objects where they live in functional groups, or after decoding changed the
 * photometric interpretation.
 */
export interface FrameInfo {
  rows?: number;
  columns?: number;
  bitsStored?: number;
  photometricInterpretation?: string;
}

/**
 * An image accepted although an attribute the intended use names is missing, because the
 * manifest's `allowMissing` says so. Coded, so that what follows from it (e.g. whether the
 * worklist may prioritise the finding, ADR 0179) is decided by the code, not by its wording.
 */
export interface IntendedUseCaveat {
  readonly code: 'missing-body-part' | 'missing-view-position';
  readonly text: string;
}

export type IntendedUseResult =
  | { ok: true; caveats: IntendedUseCaveat[] }
  | { ok: false; reasons: string[] };

/**
 * Is this image inside the model's intended use? Every failing criterion is reported, in
 * words a radiologist or PACS administrator can act on. Comparison of code strings is
 * case-insensitive and ignores padding (legacy devices write "chest" or "CHEST ").
 *
 * Missing Body Part Examined or View Position refuses the image unless the manifest's
 * intendedUse.allowMissing names the attribute; then it is accepted with a coded caveat
 * (ADR 0034). Missing Modality, Rows, Columns, Bits Stored or Photometric Interpretation
 * always refuses: those are Type 1 in every image IOD, so their absence means a broken object.
 */
export function checkIntendedUse(
  manifest: ModelManifest,
  dataset: IntendedUseDataset,
  frameInfo: FrameInfo = {},
): IntendedUseResult {
  const use = manifest.intendedUse;
  const reasons: string[] = [];
  const caveats: IntendedUseCaveat[] = [];
  const allowMissing = new Set(use.allowMissing ?? []);

  const modality = codeString(dataset.Modality);
  if (modality === undefined) {
    reasons.push(`the image has no Modality; the model is intended for ${list(use.modalities)}`);
  } else if (!includes(use.modalities, modality)) {
    reasons.push(`modality ${modality} is not in the model's intended use (${list(use.modalities)})`);
  }

  const bodyPart = codeString(dataset.BodyPartExamined);
  if (bodyPart === undefined) {
    const text = `the image has no Body Part Examined; the model is intended for ${list(use.bodyParts)}`;
    if (allowMissing.has('BodyPartExamined')) {
      caveats.push({ code: 'missing-body-part', text: `${text} — accepted, check the image is one` });
    }
    else reasons.push(text);
  } else if (!includes(use.bodyParts, bodyPart)) {
    reasons.push(`body part ${bodyPart} is not in the model's intended use (${list(use.bodyParts)})`);
  }

  if (use.viewPositions.length > 0) {
    const view = codeString(dataset.ViewPosition);
    if (view === undefined) {
      const text = `the image has no View Position; the model is intended for ${list(use.viewPositions)}`;
      if (allowMissing.has('ViewPosition')) {
        caveats.push({ code: 'missing-view-position', text: `${text} — accepted, check the view` });
      }
      else reasons.push(text);
    } else if (!includes(use.viewPositions, view)) {
      reasons.push(`view position ${view} is not in the model's intended use (${list(use.viewPositions)})`);
    }
  }

  const rows = frameInfo.rows ?? numberValue(dataset.Rows);
  const columns = frameInfo.columns ?? numberValue(dataset.Columns);
  if (rows === undefined || columns === undefined) {
    reasons.push('the image has no Rows/Columns, so its size cannot be checked');
  } else {
    if (rows < use.minRows) {
      reasons.push(`the image has ${rows} rows; the model needs at least ${use.minRows}`);
    }
    if (columns < use.minColumns) {
      reasons.push(`the image has ${columns} columns; the model needs at least ${use.minColumns}`);
    }
  }

  const bits = frameInfo.bitsStored ?? numberValue(dataset.BitsStored);
  const { min, max } = use.bitsStored;
  if (bits === undefined) {
    reasons.push('the image has no Bits Stored');
  } else if (bits < min || bits > max) {
    reasons.push(`bits stored ${bits} is outside the model's intended range (${min}–${max})`);
  }

  const photometric = frameInfo.photometricInterpretation ?? codeString(dataset.PhotometricInterpretation);
  if (photometric === undefined) {
    reasons.push('the image has no Photometric Interpretation');
  } else if (!includes(use.photometric, photometric)) {
    reasons.push(
      `photometric interpretation ${photometric} is not in the model's intended use (${list(use.photometric)})`,
    );
  }

  return reasons.length > 0 ? { ok: false, reasons } : { ok: true, caveats };
}

/** A single code-string value, trimmed and upper-cased; dcmjs gives multi-valued CS as arrays. */
function codeString(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return undefined;
  const trimmed = first.trim().toUpperCase();
  return trimmed.length > 0 ? trimmed : undefined;
}

function numberValue(value: unknown): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number' && Number.isFinite(first)) return first;
  if (typeof first === 'string' && first.trim() !== '' && Number.isFinite(Number(first))) {
    return Number(first);
  }
  return undefined;
}

function includes(allowed: readonly string[], value: string): boolean {
  return allowed.some((a) => a.trim().toUpperCase() === value);
}

function list(values: readonly string[]): string {
  return values.join(', ');
}

/**
 * What the lung-field gate reads of a lung field (inference/lungField's LungField, declared
 * structurally so that models/ does not depend on it).
 */
export interface LungFieldVerdict {
  plausible: boolean;
  reasons: ReadonlyArray<{ code: string; text: string }>;
}

export type LungFieldUseResult =
  | { ok: true }
  | { ok: false; codes: string[]; reasons: string[] };

/**
 * The second half of the intended-use check for a classifier that declares a lung-field input
 * (manifest input.region, ADR 0161): a frontal chest radiograph has two lungs of plausible
 * size, confidence, shape and place. The header check (checkIntendedUse) runs first; this one
 * needs the segmentation model's output, so it runs after decoding. Each code is one of
 * LungFieldReasonCode; the sentence says what was found and what to check.
 */
export function checkLungFieldUse(
  manifest: ModelManifest,
  field: LungFieldVerdict,
): LungFieldUseResult {
  const region = manifest.input.region;
  if (region === undefined || field.plausible) return { ok: true };
  const lungs = `${region.model.id}@${region.model.version}`;
  return {
    ok: false,
    codes: field.reasons.map((r) => r.code),
    reasons: [
      `no plausible pair of lungs for a frontal chest radiograph (${lungs}: ${field.reasons
        .map((r) => `${r.code} ${r.text}`)
        .join('; ')}) — not scored: check it is a frontal (PA/AP) chest radiograph, not a lateral view or another body part, and that its grey scale is not inverted`,
    ],
  };
}
