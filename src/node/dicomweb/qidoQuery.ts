/**
 * QIDO-RS query parameters (PS3.18 §8.3.4) turned into a typed query once, at the edge:
 * matching keys by keyword or tag, with the matching PS3.4 §C.2.2.2 defines — single value,
 * wildcard (`*`, `?`), UID list, and date/time range — plus limit, offset, includefield and
 * fuzzymatching. A key the node cannot match on is refused (400), never silently ignored,
 * because ignoring it would return studies the user did not ask for.
 */
import { DicomWebProblem } from './problem.js';

export type QueryLevel = 'study' | 'series' | 'instance';

interface MatchingKey {
  readonly keyword: string;
  readonly tag: string;
  readonly vr: string;
  /** SQL column; `i.` is the instances table, `d.` the DICOMweb attributes. */
  readonly column: string;
}

/** The matching keys the node supports: those of PS3.18 Table 10.6.1-5 a viewer uses. */
export const MATCHING_KEYS: readonly MatchingKey[] = [
  { keyword: 'StudyDate', tag: '00080020', vr: 'DA', column: 'd.study_date' },
  { keyword: 'StudyTime', tag: '00080030', vr: 'TM', column: 'd.study_time' },
  { keyword: 'AccessionNumber', tag: '00080050', vr: 'SH', column: 'd.accession_number' },
  {
    keyword: 'ReferringPhysicianName',
    tag: '00080090',
    vr: 'PN',
    column: 'd.referring_physician_name',
  },
  { keyword: 'StudyDescription', tag: '00081030', vr: 'LO', column: 'd.study_description' },
  { keyword: 'PatientName', tag: '00100010', vr: 'PN', column: 'd.patient_name' },
  { keyword: 'PatientID', tag: '00100020', vr: 'LO', column: 'i.patient_id' },
  { keyword: 'PatientBirthDate', tag: '00100030', vr: 'DA', column: 'd.patient_birth_date' },
  { keyword: 'PatientSex', tag: '00100040', vr: 'CS', column: 'd.patient_sex' },
  { keyword: 'StudyInstanceUID', tag: '0020000D', vr: 'UI', column: 'i.study_instance_uid' },
  { keyword: 'StudyID', tag: '00200010', vr: 'SH', column: 'd.study_id' },
  { keyword: 'Modality', tag: '00080060', vr: 'CS', column: 'i.modality' },
  { keyword: 'SeriesInstanceUID', tag: '0020000E', vr: 'UI', column: 'i.series_instance_uid' },
  { keyword: 'SeriesNumber', tag: '00200011', vr: 'IS', column: 'd.series_number' },
  { keyword: 'SeriesDescription', tag: '0008103E', vr: 'LO', column: 'd.series_description' },
  { keyword: 'SOPClassUID', tag: '00080016', vr: 'UI', column: 'i.sop_class_uid' },
  { keyword: 'SOPInstanceUID', tag: '00080018', vr: 'UI', column: 'i.sop_instance_uid' },
  { keyword: 'InstanceNumber', tag: '00200013', vr: 'IS', column: 'd.instance_number' },
];

const MODALITIES_IN_STUDY = { keyword: 'ModalitiesInStudy', tag: '00080061' };

/** Keyword → tag for includefield, which may name any attribute. */
export type TagResolver = (keyword: string) => string | undefined;

export interface QidoQuery {
  readonly level: QueryLevel;
  /** SQL conditions joined with AND, and their parameters in order. */
  readonly where: readonly string[];
  readonly parameters: readonly (string | number)[];
  readonly limit: number | undefined;
  readonly offset: number;
  /** Tags to return besides the level's defaults; 'all' returns every attribute held. */
  readonly includeFields: ReadonlySet<string> | 'all';
  /** True when the request asked for fuzzy matching, which the node does not do. */
  readonly fuzzyRequested: boolean;
}

function keyFor(name: string): MatchingKey | 'modalities' | undefined {
  const upper = name.toUpperCase();
  if (name === MODALITIES_IN_STUDY.keyword || upper === MODALITIES_IN_STUDY.tag)
    return 'modalities';
  return MATCHING_KEYS.find((k) => k.keyword === name || k.tag === upper);
}

/** A wildcard value as an SQLite GLOB pattern: `*` and `?` kept, `[` escaped. */
function globPattern(value: string): string {
  return value.replace(/\[/g, '[[]');
}

function nonNegativeInteger(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new DicomWebProblem(
      400,
      `${name}=${value.slice(0, 40)} is not a non-negative integer — send e.g. ${name}=25`,
    );
  }
  return Number(value);
}

const DATE = /^\d{8}$/;
const TIME = /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/;

function rangeBound(key: MatchingKey, value: string): string {
  const v = key.vr === 'TM' ? value.replace(/:/g, '') : value.replace(/[.-]/g, '');
  const ok = key.vr === 'TM' ? TIME.test(v) : DATE.test(v);
  if (!ok) {
    throw new DicomWebProblem(
      400,
      `${key.keyword} range bound "${value.slice(0, 40)}" is not a ${key.vr === 'TM' ? 'time HHMMSS' : 'date YYYYMMDD'} — send e.g. ${key.keyword}=${key.vr === 'TM' ? '080000-120000' : '20240101-20241231'}`,
    );
  }
  return v;
}

/** One matching condition for a key and its (non-empty) value. */
function condition(key: MatchingKey, value: string): { sql: string; parameters: string[] } {
  const column = key.column;
  if (key.vr === 'UI') {
    const uids = value
      .split(/[,\\]/)
      .map((u) => u.trim())
      .filter((u) => u !== '');
    if (uids.some((u) => !/^[0-9.]{1,64}$/.test(u))) {
      throw new DicomWebProblem(
        400,
        `${key.keyword} must be a UID or a comma-separated list of UIDs`,
      );
    }
    return { sql: `${column} IN (${uids.map(() => '?').join(', ')})`, parameters: uids };
  }
  if ((key.vr === 'DA' || key.vr === 'TM') && value.includes('-')) {
    const dash = value.indexOf('-');
    const from = value.slice(0, dash).trim();
    const to = value.slice(dash + 1).trim();
    const parts: string[] = [`${column} <> ''`];
    const parameters: string[] = [];
    if (from !== '') {
      parts.push(`${column} >= ?`);
      parameters.push(rangeBound(key, from));
    }
    if (to !== '') {
      // A time bound without seconds covers the whole minute/hour it names.
      parts.push(`${column} <= ?`);
      const bound = rangeBound(key, to);
      parameters.push(key.vr === 'TM' ? `${bound}\uffff` : bound);
    }
    return { sql: parts.join(' AND '), parameters };
  }
  // PN matching ignores case, as Orthanc and most PACS do (PS3.4 leaves it to the SCP).
  const fold = key.vr === 'PN';
  const target = fold ? `lower(${column})` : column;
  if (/[*?]/.test(value)) {
    return {
      sql: `${target} GLOB ?`,
      parameters: [globPattern(fold ? value.toLowerCase() : value)],
    };
  }
  if (key.vr === 'DA' || key.vr === 'TM') rangeBound(key, value);
  return { sql: `${target} = ?`, parameters: [fold ? value.toLowerCase() : value] };
}

/** Parses the query string of a QIDO-RS request at `level`. Throws DicomWebProblem (400). */
export function parseQidoQuery(
  level: QueryLevel,
  search: URLSearchParams,
  resolveTag: TagResolver,
): QidoQuery {
  const where: string[] = [];
  const parameters: (string | number)[] = [];
  const includeFields = new Set<string>();
  let all = false;
  let limit: number | undefined;
  let offset = 0;
  let fuzzyRequested = false;
  for (const [name, raw] of search) {
    const value = raw.trim();
    switch (name) {
      case 'limit':
        limit = nonNegativeInteger(name, value);
        continue;
      case 'offset':
        offset = nonNegativeInteger(name, value);
        continue;
      case 'fuzzymatching':
        if (value !== 'true' && value !== 'false') {
          throw new DicomWebProblem(400, 'fuzzymatching must be true or false');
        }
        fuzzyRequested = value === 'true';
        continue;
      case 'includefield':
        for (const field of value
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '')) {
          if (field === 'all') {
            all = true;
            continue;
          }
          const tag = /^[0-9A-Fa-f]{8}$/.test(field) ? field.toUpperCase() : resolveTag(field);
          if (tag === undefined) {
            throw new DicomWebProblem(
              400,
              `includefield ${field.slice(0, 64)} is neither a DICOM keyword nor a tag (8 hex digits)`,
            );
          }
          includeFields.add(tag);
        }
        continue;
    }
    const key = keyFor(name);
    if (key === undefined) {
      throw new DicomWebProblem(
        400,
        `cannot match on ${name.slice(0, 64)}: the node matches on ${[MODALITIES_IN_STUDY.keyword, ...MATCHING_KEYS.map((k) => k.keyword)].join(', ')}, limit, offset, includefield and fuzzymatching`,
      );
    }
    if (key === 'modalities') {
      includeFields.add(MODALITIES_IN_STUDY.tag);
      const modalities = value
        .split(/[,\\]/)
        .map((m) => m.trim())
        .filter((m) => m !== '');
      if (modalities.length === 0) continue;
      where.push(
        `i.study_instance_uid IN (SELECT study_instance_uid FROM instances WHERE modality IN (${modalities.map(() => '?').join(', ')}))`,
      );
      parameters.push(...modalities);
      continue;
    }
    // A matching key is also returned (PS3.18 §8.3.4.2); an empty value matches everything.
    includeFields.add(key.tag);
    if (value === '' || value === '*') continue;
    const matched = condition(key, value);
    where.push(`(${matched.sql})`);
    parameters.push(...matched.parameters);
  }
  return {
    level,
    where,
    parameters,
    limit,
    offset,
    includeFields: all ? 'all' : includeFields,
    fuzzyRequested,
  };
}
