import { RadiolensError } from '../../foundation/core/index.js';
import type { AlgorithmIdentity } from './types.js';

/**
 * How long values are made to fit their VR (ADR 0140). The encoder rejects anything too long
 * (foundation/dicom/vrCheck.ts); these rules decide, per attribute, what is kept and what is
 * shortened before that. Identity is never shortened: a model id or version that cannot be
 * kept intact is an E_VR_INVALID, because a shortened id could name another model.
 *
 * Lengths are in UTF-8 bytes, the count validators use with ISO_IR 192.
 */

/** LO, the VR of names, descriptions and versions in the equipment modules. */
export const LO_MAX = 64;

const ELLIPSIS = '...';

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest prefix of `text` within `limit` bytes, never splitting a character. */
function prefixWithin(text: string, limit: number): string {
  let kept = '';
  for (const char of text) {
    if (bytes(kept + char) > limit) break;
    kept += char;
  }
  return kept;
}

/**
 * Free text shortened to `limit` bytes: cut at the last word boundary that leaves room for
 * "..." (or mid-word when the first word alone is too long), trailing punctuation dropped.
 */
export function shortened(text: string, limit: number = LO_MAX): string {
  if (bytes(text) <= limit) return text;
  const room = prefixWithin(text, limit - ELLIPSIS.length);
  const atWord = room.replace(/\s+\S*$/, '');
  const kept = (atWord.length >= room.length / 2 ? atWord : room).replace(/[\s,;:.(-]+$/, '');
  return `${kept}${ELLIPSIS}`;
}

/**
 * A display text followed by an identity that must stay whole: "<display> (<kept>)", the
 * display shortened by `shortened` when the whole does not fit; just the identity when not
 * even a shortened display fits.
 */
export function withIntactSuffix(
  attribute: string,
  display: string,
  kept: string,
  limit: number = LO_MAX,
): string {
  const suffix = ` (${kept})`;
  if (bytes(kept) > limit) {
    throw new RadiolensError(
      'E_VR_INVALID',
      `${attribute}: "${kept}" is ${bytes(kept)} bytes, more than the ${limit} the attribute holds, and an identity is never shortened — use a shorter model id`,
      { subject: attribute },
    );
  }
  if (display.trim() === '' || display === kept) return kept;
  const whole = `${display}${suffix}`;
  if (bytes(whole) <= limit) return whole;
  const room = limit - bytes(suffix);
  if (room < ELLIPSIS.length + 8) return kept;
  return `${shortened(display, room)}${suffix}`;
}

/** An identity that must fit whole, or a coded error naming the attribute. */
export function intact(attribute: string, value: string, limit: number = LO_MAX): string {
  if (bytes(value) > limit) {
    throw new RadiolensError(
      'E_VR_INVALID',
      `${attribute}: "${value}" is ${bytes(value)} bytes, more than the ${limit} it may hold, and it is an identity that is never shortened — use a shorter model id or version`,
      { subject: attribute },
    );
  }
  return value;
}

/**
 * Manufacturer's Model Name (0008,1090) and the device model names of the equipment modules:
 * the model's display name, shortened, then its id and version whole — "Radiolens CXR
 * pneumonia (compact CNN), head... (cxr-pneumonia 1.2.0)".
 */
export function modelName(algorithm: AlgorithmIdentity): string {
  return withIntactSuffix(
    'ManufacturerModelName',
    algorithm.name,
    `${algorithm.modelId} ${algorithm.version}`,
  );
}

/** Manufacturer (0008,0070): the manifest's manufacturer, shortened. */
export function manufacturer(algorithm: AlgorithmIdentity): string {
  return shortened(algorithm.manufacturer);
}

/** Software Versions (0018,1020): the model version, whole. */
export function softwareVersion(algorithm: AlgorithmIdentity): string {
  return intact('SoftwareVersions', algorithm.version);
}
