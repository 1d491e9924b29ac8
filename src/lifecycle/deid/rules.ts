/**
 * Looks up the Table E.1-1 row that governs a tag, including the repeating-group patterns
 * (curves 50xx, overlays 60xx) and the private-attribute row (odd groups).
 */
import type { ProfileRow, SafePrivateRow } from './profileTypes.js';
import { TABLE_E1_1, TABLE_E3_10_1 } from './rules.generated.js';

const EXACT = new Map<string, ProfileRow>();
const PATTERNS: ProfileRow[] = [];
let privateRow: ProfileRow | undefined;
for (const row of TABLE_E1_1) {
  if (row.tag === 'odd-group') privateRow = row;
  else if (row.tag.includes('x')) PATTERNS.push(row);
  else EXACT.set(row.tag, row);
}
if (privateRow === undefined) throw new Error('rules.generated.ts lacks the private row');
/** The "(GGGG,EEEE) where GGGG is odd" row. */
export const PRIVATE_ATTRIBUTES_ROW: ProfileRow = privateRow;

const OVERLAY_DATA_ROW = PATTERNS.find((r) => r.tag === '60xx3000');
if (OVERLAY_DATA_ROW === undefined) throw new Error('rules.generated.ts lacks (60xx,3000)');

function matchesPattern(pattern: string, tag: string): boolean {
  for (let i = 0; i < 8; i++) {
    const p = pattern[i];
    if (p !== 'x' && p !== tag[i]) return false;
  }
  return true;
}

/**
 * The row for a standard (even-group) tag, or undefined when the table does not list it.
 * Repeating groups 50xx and 60xx are only those with an even second byte (PS3.5 7.6).
 * The other attributes of an overlay plane (rows, columns, origin …) follow Overlay Data:
 * an overlay without its data is not a valid plane, and with it they are harmless.
 */
export function rowForTag(tag: string): ProfileRow | undefined {
  const exact = EXACT.get(tag);
  if (exact !== undefined) return exact;
  const group = tag.slice(0, 4);
  const repeating =
    (group.startsWith('50') || group.startsWith('60')) && parseInt(group, 16) % 2 === 0;
  if (!repeating) return undefined;
  for (const row of PATTERNS) if (matchesPattern(row.tag, tag)) return row;
  if (group.startsWith('60')) return OVERLAY_DATA_ROW;
  return undefined;
}

const SAFE_PRIVATE = new Map<string, SafePrivateRow>();
for (const row of TABLE_E3_10_1) {
  SAFE_PRIVATE.set(`${row.group}|${row.element}|${row.creator.toUpperCase()}`, row);
}

/** Table E.3.10-1 lookup: group, element low byte (xxEE) and Private Creator value. */
export function safePrivateRow(
  group: string,
  elementLow: string,
  creator: string,
): SafePrivateRow | undefined {
  return SAFE_PRIVATE.get(`${group}|${elementLow}|${creator.trim().toUpperCase()}`);
}

export function isPrivateTag(tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1;
}
