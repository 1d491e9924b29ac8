/**
 * Value-level helpers for the actions: dummy values (D), date shifting (Modified Dates, C)
 * and text cleaning (C for descriptors, structured content and graphics comments).
 */

const TEXT_VRS = new Set(['AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'UR', 'AS']);
const NUMBER_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV', 'AT']);

export function isTextVr(vr: string): boolean {
  return TEXT_VRS.has(vr);
}

/**
 * A non-identifying value of the right VR (the D action). The word "ANONYMIZED" fits every
 * short string VR (≤ 16 characters) and is a valid Code String (upper case, no blanks).
 */
export function dummyValues(vr: string): unknown[] {
  switch (vr) {
    case 'PN':
      return [{ Alphabetic: 'ANONYMIZED' }];
    case 'DA':
      return ['19000101'];
    case 'TM':
      return ['000000'];
    case 'DT':
      return ['19000101000000'];
    case 'AS':
      return ['000D'];
    case 'IS':
    case 'DS':
      return ['0'];
    case 'UR':
      return ['urn:anonymized'];
    case 'OB':
    case 'OW':
    case 'OF':
    case 'OD':
    case 'OL':
    case 'OV':
    case 'UN':
      return [new ArrayBuffer(2)];
    default:
      if (NUMBER_VRS.has(vr)) return [0];
      return ['ANONYMIZED'];
  }
}

const DAY_MS = 86_400_000;

function shiftYmd(ymd: string, days: number): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(ymd);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * DAY_MS;
  if (Number.isNaN(t)) return undefined;
  return new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
}

/**
 * Shift a DA or DT value by whole days. Times of day are unchanged (a whole-day shift keeps
 * them), so TM values need no shift. A date with less than day precision (YYYY, YYYYMM) is
 * shifted as its first day and cut back to the same precision. Unparseable values become
 * the dummy, never left as they were.
 */
export function shiftDateValue(vr: 'DA' | 'DT', value: string, days: number): string {
  const v = value.trim();
  if (v === '') return v;
  const date = v.slice(0, 8);
  const padded = date.length === 4 ? `${date}0101` : date.length === 6 ? `${date}01` : date;
  const shifted = shiftYmd(padded, days);
  if (shifted === undefined || !/^\d+$/.test(date))
    return vr === 'DA' ? '19000101' : '19000101000000';
  return shifted.slice(0, date.length) + v.slice(8);
}

/**
 * Clean free text (the C action on text): remove every occurrence of the identifying values
 * found in this dataset (names, IDs, accession numbers, addresses … — everything the Basic
 * Profile removes), plus anything shaped like a date. Conservative by construction: it can
 * only take text away.
 */
export function cleanText(value: string, identifying: readonly RegExp[]): string {
  let out = value;
  for (const pattern of identifying) out = out.replace(pattern, '');
  out = out.replace(/\b(19|20)\d{2}[-./]?\d{2}[-./]?\d{2}\b/g, '');
  return out.replace(/\s{2,}/g, ' ').trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Build cleaning patterns from identifying strings: whole values and PN components ≥ 3 chars. */
export function identifyingPatterns(values: Iterable<string>): RegExp[] {
  const parts = new Set<string>();
  for (const value of values) {
    const v = value.trim();
    if (v.length >= 3) parts.add(v);
    for (const part of v.split(/[\^=\s,]+/)) if (part.length >= 3) parts.add(part);
  }
  // Longest first so a full name goes before its components.
  return [...parts]
    .sort((a, b) => b.length - a.length)
    .map((p) => new RegExp(escapeRegExp(p), 'gi'));
}
