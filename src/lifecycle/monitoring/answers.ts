/**
 * The radiologists' final answers, imported as a CSV keyed by study: a column
 * `study_instance_uid` or `accession_number` (or both), one 0/1 column per model label (empty:
 * not answered yet), and any other columns as subgroups (2 to 20 distinct values, as
 * `validate` reads them). The reading room's recorded answers (issue #13) export to this shape.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { readCsvFile } from '../../foundation/csv/index.js';

export interface StudyAnswer {
  readonly studyInstanceUid: string | null;
  readonly accessionNumber: string | null;
  /** Per label: 1, 0, or null when not answered. */
  readonly truth: Readonly<Record<string, 0 | 1 | null>>;
  readonly subgroups: Readonly<Record<string, string>>;
}

export interface RadiologistAnswers {
  /** The answer for a study, by its UID first, then by its accession number. */
  find(studyInstanceUid: string, accessionNumber: string | null): StudyAnswer | undefined;
  readonly size: number;
  readonly subgroupColumns: readonly string[];
}

export const STUDY_COLUMN = 'study_instance_uid';
export const ACCESSION_COLUMN = 'accession_number';

export function readRadiologistAnswers(
  csvPath: string,
  labels: readonly string[],
): RadiologistAnswers {
  const table = readCsvFile(csvPath);
  const byStudy = table.columns.includes(STUDY_COLUMN);
  const byAccession = table.columns.includes(ACCESSION_COLUMN);
  const bad = (message: string): RadiolensError =>
    new RadiolensError('E_BAD_INPUT', `${csvPath}: ${message}`, { subject: csvPath });
  if (!byStudy && !byAccession) {
    throw bad(
      `needs a column "${STUDY_COLUMN}" or "${ACCESSION_COLUMN}" to match answers to analysed studies`,
    );
  }
  const present = labels.filter((label) => table.columns.includes(label));
  if (present.length === 0) {
    throw bad(
      `has no column for the model's label(s) ${labels.join(', ')} — add one with 1 (present), 0 (absent) or empty (not answered)`,
    );
  }
  const subgroupColumns = table.columns.filter((column) => {
    if (column === STUDY_COLUMN || column === ACCESSION_COLUMN || labels.includes(column))
      return false;
    const distinct = new Set(table.rows.map((row) => (row[column] ?? '').trim())).size;
    return distinct >= 2 && distinct <= 20;
  });
  const studies = new Map<string, StudyAnswer>();
  const accessions = new Map<string, StudyAnswer>();
  table.rows.forEach((row, i) => {
    const line = i + 2;
    const study = (row[STUDY_COLUMN] ?? '').trim() || null;
    const accession = (row[ACCESSION_COLUMN] ?? '').trim() || null;
    if (study === null && accession === null)
      throw bad(`line ${line} names no study (both key columns empty)`);
    const truth: Record<string, 0 | 1 | null> = {};
    for (const label of present) {
      const raw = (row[label] ?? '').trim();
      if (raw !== '' && raw !== '0' && raw !== '1') {
        throw bad(
          `line ${line}: ${label} is "${raw}"; write 1 (present), 0 (absent) or leave it empty (not answered)`,
        );
      }
      truth[label] = raw === '' ? null : raw === '1' ? 1 : 0;
    }
    const answer: StudyAnswer = {
      studyInstanceUid: study,
      accessionNumber: accession,
      truth,
      subgroups: Object.fromEntries(
        subgroupColumns.map((column) => [column, (row[column] ?? '').trim()]),
      ),
    };
    for (const [key, map, what] of [
      [study, studies, 'study'],
      [accession, accessions, 'accession number'],
    ] as const) {
      if (key === null) continue;
      if (map.has(key))
        throw bad(`line ${line}: the ${what} ${key} is answered twice — keep one answer per study`);
      map.set(key, answer);
    }
  });
  return {
    find: (studyInstanceUid, accessionNumber) =>
      studies.get(studyInstanceUid) ??
      (accessionNumber === null ? undefined : accessions.get(accessionNumber)),
    size: table.rows.length,
    subgroupColumns,
  };
}
