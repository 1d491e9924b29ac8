/**
 * The DICOM JSON Model (PS3.18 Annex F.2) of a stored instance's dataset, from dcmjs' tagged
 * ("denaturalized") dictionary. Binary values larger than INLINE_BINARY_LIMIT, and Pixel Data
 * always, become a BulkDataURI; it is kept relative here (`bulk/7FE00010`, or a path through
 * sequence items such as `bulk/00880200/0/7FE00010`) and made absolute per response, because
 * the node's public address is only known from the request.
 */

/** One attribute in the DICOM JSON Model. */
export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

/** dcmjs' element shape (its reader has no type declarations). */
export interface TaggedValue {
  vr?: string;
  Value?: unknown;
}

/** Binary values up to this size are sent inline (base64); larger ones by reference. */
export const INLINE_BINARY_LIMIT = 1024;

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const NUMBER_VRS = new Set(['DS', 'IS', 'FL', 'FD', 'SL', 'SS', 'UL', 'US', 'SV', 'UV']);
const PIXEL_DATA = '7FE00010';

function binaryBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

function concat(values: readonly unknown[]): Uint8Array {
  const parts = values.map(binaryBytes).filter((p): p is Uint8Array => p !== undefined);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function stringValue(vr: string, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (vr === 'PN') {
    if (typeof value === 'object') {
      const pn = value as Record<string, unknown>;
      const out: Record<string, string> = {};
      for (const group of ['Alphabetic', 'Ideographic', 'Phonetic']) {
        const text = pn[group];
        if (typeof text === 'string' && text !== '') out[group] = text;
      }
      return Object.keys(out).length === 0 ? null : out;
    }
    return value === '' ? null : { Alphabetic: String(value) };
  }
  if (NUMBER_VRS.has(vr)) {
    if (typeof value === 'number') return Number.isFinite(value) ? value : null;
    if (typeof value === 'bigint') return Number(value);
    const text = String(value).trim();
    if (text === '') return null;
    const n = Number(text);
    return Number.isFinite(n) ? n : null;
  }
  if (vr === 'AT') {
    return typeof value === 'number'
      ? value.toString(16).padStart(8, '0').toUpperCase()
      : String(value).toUpperCase();
  }
  const text = String(value).replace(/\0+$/, '');
  // DICOM pads with spaces; the JSON model carries the value without padding.
  const trimmed = vr === 'LT' || vr === 'ST' || vr === 'UT' ? text.replace(/ +$/, '') : text.trim();
  return trimmed === '' ? null : trimmed;
}

/**
 * Encodes a tagged dataset. File Meta (group 0002) and group lengths are left out, as PS3.18
 * F.2 asks; `path` is where this dataset sits (sequence tag and item index pairs).
 */
export function encodeDicomJson(
  dict: Readonly<Record<string, TaggedValue>>,
  path: readonly string[] = [],
): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const tag of Object.keys(dict).sort()) {
    const upper = tag.toUpperCase();
    if (!/^[0-9A-F]{8}$/.test(upper)) continue;
    if (upper.startsWith('0002') || upper.endsWith('0000')) continue;
    const element = dict[tag]!;
    const vr = element.vr ?? 'UN';
    const values = Array.isArray(element.Value)
      ? (element.Value as unknown[])
      : element.Value === undefined
        ? []
        : [element.Value];
    if (vr === 'SQ') {
      const items = values.map((item, index) =>
        encodeDicomJson(item as Record<string, TaggedValue>, [...path, upper, String(index)]),
      );
      out[upper] = items.length === 0 ? { vr } : { vr, Value: items };
      continue;
    }
    if (BINARY_VRS.has(vr) || upper === PIXEL_DATA) {
      const bytes = concat(values);
      if (bytes.byteLength === 0) out[upper] = { vr };
      else if (bytes.byteLength <= INLINE_BINARY_LIMIT && upper !== PIXEL_DATA)
        out[upper] = { vr, InlineBinary: Buffer.from(bytes).toString('base64') };
      else out[upper] = { vr, BulkDataURI: ['bulk', ...path, upper].join('/') };
      continue;
    }
    const encoded = values.map((v) => stringValue(vr, v));
    out[upper] = encoded.every((v) => v === null) ? { vr } : { vr, Value: encoded };
  }
  return out;
}

/**
 * A copy of a stored metadata dataset with each relative BulkDataURI resolved against the
 * instance's WADO-RS URL.
 */
export function resolveBulkDataUris(
  dataset: DicomJsonDataset,
  instanceUrl: string,
): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const [tag, attribute] of Object.entries(dataset)) {
    if (attribute.BulkDataURI !== undefined) {
      out[tag] = { ...attribute, BulkDataURI: `${instanceUrl}/${attribute.BulkDataURI}` };
    } else if (attribute.vr === 'SQ' && attribute.Value !== undefined) {
      out[tag] = {
        vr: 'SQ',
        Value: attribute.Value.map((item) =>
          resolveBulkDataUris(item as DicomJsonDataset, instanceUrl),
        ),
      };
    } else out[tag] = attribute;
  }
  return out;
}

/** The first value of an attribute as text ('' when absent); PN gives its Alphabetic group. */
export function firstText(dataset: DicomJsonDataset, tag: string): string {
  const value = dataset[tag]?.Value?.[0];
  if (value === undefined || value === null) return '';
  if (typeof value === 'object')
    return String((value as { Alphabetic?: unknown }).Alphabetic ?? '');
  return String(value);
}
