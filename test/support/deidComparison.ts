/**
 * Compare our de-identification with Orthanc's /anonymize on the same files and explain
 * every difference by the standard (issue #4, item 7). Used by the comparison test and by
 * tools/compare-deid-orthanc.ts, which writes docs/deid-orthanc-comparison.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describeError } from '../../src/foundation/core/index.js';
import { resolveAction, type ResolvedAction } from '../../src/lifecycle/deid/actions.js';
import { deidentifyBytes, type DeidConfig } from '../../src/lifecycle/deid/deidentify.js';
import { readTaggedFile } from '../../src/lifecycle/deid/dicomIo.js';
import {
  dictionaryName,
  type TaggedDataset,
  type TaggedElement,
} from '../../src/foundation/dicom/index.js';
import { EMPTY_LIST, KEEP_LIST } from '../../src/lifecycle/deid/keepList.js';
import type { OrthancPeer } from './orthancPeer.js';
import { isPrivateTag, rowForTag } from '../../src/lifecycle/deid/rules.js';
import { TABLE_E1_1_EDITION } from '../../src/lifecycle/deid/rules.generated.js';

export type ValueClass = 'absent' | 'empty' | 'original' | 'changed';

export interface AttributeDifference {
  readonly tag: string;
  readonly name: string;
  readonly ours: ValueClass;
  readonly orthanc: ValueClass;
  readonly files: string[];
  /** Why, by the standard; undefined means the difference is not explained (a bug). */
  readonly reason: string | undefined;
}

export interface FileDifference {
  readonly file: string;
  readonly ours: string;
  readonly orthanc: string;
}

export interface OrthancComparison {
  readonly compared: number;
  readonly attributes: AttributeDifference[];
  readonly files: FileDifference[];
}

function valueKey(element: TaggedElement): string {
  return JSON.stringify(element.Value ?? [], (_k, v: unknown) =>
    v instanceof ArrayBuffer ? createHash('sha1').update(new Uint8Array(v)).digest('hex') : v,
  );
}

export function classify(
  original: TaggedElement | undefined,
  out: TaggedElement | undefined,
): ValueClass {
  if (out === undefined) return 'absent';
  const values = out.Value ?? [];
  if (values.length === 0 || (values.length === 1 && (values[0] === '' || values[0] === null))) {
    return 'empty';
  }
  if (original !== undefined && valueKey(original) === valueKey(out)) return 'original';
  return 'changed';
}

/** What our action should produce; sequences may legitimately come out either way. */
function expectedClasses(action: ResolvedAction, vr: string): ValueClass[] {
  if (vr === 'SQ' && action !== 'X' && action !== 'Z') return ['original', 'changed', 'empty'];
  switch (action) {
    case 'X':
      return ['absent'];
    case 'Z':
      return ['empty'];
    case 'K':
      return ['original'];
    case 'D':
    case 'U':
      // An empty UID has nothing to replace; every other value must change.
      return vr === 'UI' ? ['changed', 'empty'] : ['changed'];
    case 'C':
      return ['changed', 'original', 'absent', 'empty'];
  }
}

const ACTION_WORDS: Record<ResolvedAction, string> = {
  X: 'remove',
  Z: 'empty',
  D: 'replace with a dummy',
  K: 'keep',
  C: 'clean',
  U: 'replace the UID (keyed, consistent)',
};

const RECORDS: Record<string, string> = {
  '00120064':
    'De-identification Method Code Sequence: PS3.15 E.1.1 (8) asks for the CID 7050 codes of the profile and options; Orthanc 1.10.1 writes only the text (0012,0063).',
  '00280303':
    'Longitudinal Temporal Information Modified: PS3.15 E.3.6 asks for it to say whether dates were kept, shifted or removed; Orthanc does not write it.',
  '00120063':
    'De-identification Method: both write it; the texts differ by design (ours names the Table E.1-1 edition and every option).',
  '00080005':
    'Specific Character Set: not a standard difference — dcmjs writes text as UTF-8 and declares ISO_IR 192; the characters are the same.',
};

/** The standard's reason for one difference, or undefined when it contradicts our own rules. */
export function explainDifference(
  tag: string,
  vr: string,
  ours: ValueClass,
  orthanc: ValueClass,
  options: DeidConfig['options'],
): string | undefined {
  const record = RECORDS[tag];
  if (record !== undefined) return record;
  if (isPrivateTag(tag)) {
    return ours === 'absent'
      ? 'Private attribute: Table E.1-1 row "(GGGG,EEEE) where GGGG is odd" is X (Retain Safe Private keeps only Table E.3.10-1 entries).'
      : undefined;
  }
  const edition = TABLE_E1_1_EDITION.split(' ')[0];
  const row = rowForTag(tag);
  if (row === undefined) {
    if (EMPTY_LIST[tag] !== undefined) {
      return ours === 'empty'
        ? `Not in Table E.1-1 ${edition}; free text but Type 2 in common IODs, so emptied rather than removed (ADR 0063). Orthanc keeps it.`
        : undefined;
    }
    if (KEEP_LIST[tag] !== undefined) {
      if (vr === 'SQ' && ours === 'changed') {
        return `Not in Table E.1-1 ${edition}; on our keep list (${KEEP_LIST[tag]}), but its items go through the same rules at every depth, so UIDs inside are replaced and unlisted attributes removed. Orthanc keeps the sequence as it was.`;
      }
      return ours === 'original'
        ? `Not in Table E.1-1 ${edition}; on our keep list (${KEEP_LIST[tag]}); Orthanc ${orthanc === 'absent' ? 'removes' : 'alters'} it by its own rules.`
        : undefined;
    }
    return ours === 'absent'
      ? `Not in Table E.1-1 ${edition} and not on our keep list: removed by our safe rule for unlisted attributes (ADR 0063; E.1.1 allows removing more than the table lists). Orthanc keeps attributes its table does not name.`
      : undefined;
  }
  const { action, by } = resolveAction(row, options);
  if (!expectedClasses(action, vr).includes(ours)) return undefined;
  const compound = row.basic.includes('/')
    ? ` The compound action ${row.basic} is resolved to ${action} without per-IOD type tables (ADR 0062: D satisfies Type 1, Z Type 2).`
    : '';
  const option = by === 'basic' ? '' : ` (option ${by})`;
  return `Table E.1-1 ${edition}: ${row.name} is ${row.basic}; we ${ACTION_WORDS[action]}${option}.${compound} Orthanc 1.10.1 (its 2021b profile) leaves it ${orthanc}.`;
}

/** De-identify each file both ways and collect every attribute-level difference. */
export async function compareWithOrthanc(
  files: readonly string[],
  config: DeidConfig,
  peer: OrthancPeer,
): Promise<OrthancComparison> {
  const byKey = new Map<string, AttributeDifference>();
  const fileDiffs: FileDifference[] = [];
  let compared = 0;
  for (const file of files) {
    const label = `${basename(dirname(file))}/${basename(file)}`;
    const bytes = await readFile(file);
    let ours: ReturnType<typeof deidentifyBytes> | Error;
    try {
      ours = deidentifyBytes(bytes, config, label);
    } catch (error) {
      ours = error as Error;
    }
    const id = await peer.upload(bytes);
    let theirs: Uint8Array | Error;
    try {
      theirs =
        id === undefined ? new Error('rejected by Orthanc on upload') : await peer.anonymize(id);
    } catch (error) {
      theirs = error as Error;
    }
    if (ours instanceof Error || ours.kind === 'quarantined' || theirs instanceof Error) {
      const describe = (x: unknown): string =>
        x instanceof Error
          ? `error: ${describeError(x)}`
          : x instanceof Uint8Array
            ? 'anonymized'
            : 'quarantined';
      fileDiffs.push({
        file: label,
        ours:
          ours instanceof Error
            ? `error: ${describeError(ours)}`
            : ours.kind === 'quarantined'
              ? `quarantined: ${ours.reason}`
              : 'de-identified',
        orthanc: describe(theirs),
      });
      continue;
    }
    compared += 1;
    const original = readTaggedFile(bytes, label).dict;
    const ourDict = readTaggedFile(ours.bytes, 'ours').dict;
    const theirDict: TaggedDataset = readTaggedFile(theirs, 'orthanc').dict;
    const tags = new Set([
      ...Object.keys(original),
      ...Object.keys(ourDict),
      ...Object.keys(theirDict),
    ]);
    for (const tag of tags) {
      if (tag.endsWith('0000')) continue; // group lengths: encoding detail
      const a = classify(original[tag], ourDict[tag]);
      const b = classify(original[tag], theirDict[tag]);
      if (a === b) continue;
      const key = `${tag}|${a}|${b}`;
      const vr = (original[tag] ?? ourDict[tag] ?? theirDict[tag])!.vr;
      const existing = byKey.get(key);
      if (existing !== undefined) existing.files.push(label);
      else
        byKey.set(key, {
          tag,
          name: isPrivateTag(tag)
            ? 'private'
            : (rowForTag(tag)?.name ?? dictionaryName(tag) ?? 'unknown'),
          ours: a,
          orthanc: b,
          files: [label],
          reason: explainDifference(tag, vr, a, b, config.options),
        });
    }
  }
  const attributes = [...byKey.values()].sort((x, y) => x.tag.localeCompare(y.tag));
  return { compared, attributes, files: fileDiffs };
}
