/**
 * Reading a validation labels file and writing the report: the file-system edges of
 * `radiolens validate`, kept apart from the statistics so those stay pure. The labels CSV has
 * a column `image` (path relative to the CSV), one 0/1 column per label id, and any subgroup
 * columns (as ../shared/data/cxr-site-nih/labels.csv).
 */
import { dirname, join, resolve } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';
import type { ValidationReportJson } from './report.js';

/** One labelled image, before inference has scored it. */
export interface LabelledImage {
  /** The image as written in the CSV (portable; goes into report.json). */
  readonly image: string;
  /** The image resolved against the CSV's folder, for reading it. */
  readonly imagePath: string;
  readonly truth: Readonly<Record<string, 0 | 1>>;
  readonly subgroups: Readonly<Record<string, string>>;
  /** The patient the image belongs to, when the CSV has a patient column (clustering). */
  readonly patient?: string;
}

/** The patient column `validate` uses when none is named: the first of these the CSV has. */
export const PATIENT_COLUMNS = ['patient_id', 'PatientID', 'patient'] as const;

/** Most distinct values a column may have to be taken as a subgroup without being named. */
export const MAX_AUTOMATIC_SUBGROUP_VALUES = 20;

/**
 * Reads a labels CSV. Without `subgroups`, every other column with 2 to 20 distinct values is
 * a subgroup, except one that merely restates a label (each of its values has a single truth,
 * like `finding` beside `pneumonia`): per-image ids and such duplicates would only add noise.
 */
export function readValidationLabels(
  csvPath: string,
  options: {
    labels: readonly string[];
    subgroups?: readonly string[];
    /** The patient column; default the first of PATIENT_COLUMNS present; null for none. */
    patientColumn?: string | null;
  },
): LabelledImage[] {
  const table = readCsvFile(csvPath);
  requireColumns(table, [
    'image',
    ...options.labels,
    ...(options.subgroups ?? []),
    ...(typeof options.patientColumn === 'string' ? [options.patientColumn] : []),
  ]);
  const patientColumn =
    options.patientColumn === undefined
      ? PATIENT_COLUMNS.find((c) => table.columns.includes(c))
      : (options.patientColumn ?? undefined);
  if (table.rows.length === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${csvPath} has a header but no images — add one row per image`,
      {
        subject: csvPath,
      },
    );
  }
  const truthOf = (label: string): (0 | 1)[] =>
    table.rows.map((row, i) => {
      const raw = (row[label] ?? '').trim();
      if (raw === '1') return 1;
      if (raw === '0') return 0;
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${csvPath} data row ${i + 1}: label "${label}" is ${raw === '' ? 'empty' : `"${raw}"`}; it must be 1 (present) or 0 (absent)`,
        { subject: csvPath },
      );
    });
  const truths = Object.fromEntries(options.labels.map((label) => [label, truthOf(label)]));
  const restatesALabel = (column: string): boolean =>
    options.labels.some((label) => {
      const seen = new Map<string, 0 | 1>();
      return table.rows.every((row, i) => {
        const value = row[column] ?? '';
        const known = seen.get(value);
        seen.set(value, truths[label]![i]!);
        return known === undefined || known === truths[label]![i];
      });
    });
  const subgroups =
    options.subgroups ??
    table.columns.filter((column) => {
      if (column === 'image' || column === patientColumn || options.labels.includes(column)) {
        return false;
      }
      const distinct = new Set(table.rows.map((row) => (row[column] ?? '').trim())).size;
      return distinct >= 2 && distinct <= MAX_AUTOMATIC_SUBGROUP_VALUES && !restatesALabel(column);
    });
  const folder = dirname(resolve(csvPath));
  return table.rows.map((row, i) => {
    const image = (row.image ?? '').trim();
    if (image === '') {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${csvPath} data row ${i + 1}: the image column is empty`,
        {
          subject: csvPath,
        },
      );
    }
    return {
      image,
      imagePath: resolve(folder, image),
      truth: Object.fromEntries(options.labels.map((label) => [label, truths[label]![i]!])),
      subgroups: Object.fromEntries(
        subgroups.map((column) => [column, (row[column] ?? '').trim()]),
      ),
      ...(patientColumn === undefined ? {} : { patient: (row[patientColumn] ?? '').trim() }),
    };
  });
}

/** Writes report.json and report.html into `outDir` (each atomically); returns their paths. */
export async function writeValidationReport(
  outDir: string,
  report: { json: ValidationReportJson; html: string },
): Promise<{ json: string; html: string }> {
  const paths = { json: join(outDir, 'report.json'), html: join(outDir, 'report.html') };
  await writeFileAtomic(paths.json, `${JSON.stringify(report.json, null, 2)}\n`);
  await writeFileAtomic(paths.html, report.html);
  return paths;
}
