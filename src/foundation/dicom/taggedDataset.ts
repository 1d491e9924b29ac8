/**
 * The tag-keyed form of a dataset that the fast Part 10 reader and writer work on (the shape
 * dcmjs calls "denaturalized"): 8 upper-case hex digits → { vr, Value }. Sequences hold item
 * datasets in Value; binary values are ArrayBuffers or typed-array views.
 */
import { dictionaryEntry, dictionaryEntryByKeyword } from './dcmjs.js';

export interface TaggedElement {
  vr: string;
  Value?: unknown[];
  /** dcmjs' unformatted original value, when the element came from dcmjs. */
  _rawValue?: unknown;
}

export type TaggedDataset = Record<string, TaggedElement>;

export interface TaggedFile {
  /** File Meta Information (group 0002), without its group length. */
  meta: TaggedDataset;
  dict: TaggedDataset;
}

/** The VR the data dictionary gives a standard tag (first choice for "US or SS" style VRs). */
export function dictionaryVr(tag: string): string | undefined {
  return plainVr(dictionaryEntry(tag)?.vr);
}

/** Tag (8 hex digits) and dictionary VR of a keyword such as "PatientName". */
export function keywordEntry(keyword: string): { tag: string; vr: string } | undefined {
  const entry = dictionaryEntryByKeyword(keyword);
  if (entry === undefined) return undefined;
  return { tag: entry.tag.replace(/[(),]/g, ''), vr: plainVr(entry.vr) ?? 'UN' };
}

/** The dictionary keyword of a standard tag, for reports. */
export function dictionaryName(tag: string): string | undefined {
  return dictionaryEntry(tag)?.name;
}

/** dcmjs marks "US or SS" as xs and "OB or OW" as ox; take the first choice. */
function plainVr(vr: string | undefined): string | undefined {
  if (vr === 'xs') return 'US';
  if (vr === 'ox') return 'OW';
  return vr;
}
