/**
 * What the measuring commands (localisation, robustness, faithfulness) read the same way: the
 * label of a model package they measure, and the `image` (+ patient) rows of a labels CSV.
 */
import { resolve } from 'node:path';
import { RadiolensError } from '../foundation/core/index.js';
import { readCsvFile, requireColumns, type CsvTable } from '../foundation/csv/index.js';
import type { ModelPackage } from '../inference/models/index.js';
import { PATIENT_COLUMNS } from '../lifecycle/validation/index.js';

/** The label `--label` names (default the package's first), and its index in the outputs. */
export function packageLabel(
  pkg: ModelPackage,
  label: string | undefined,
): { readonly labelId: string; readonly labelIndex: number } {
  const labels = pkg.manifest.labels;
  const labelId = label ?? labels[0]!.id;
  const labelIndex = labels.findIndex((l) => l.id === labelId);
  if (labelIndex < 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${pkg.manifest.id} has no label "${labelId}" — its labels are ${labels.map((l) => l.id).join(', ')}`,
    );
  }
  return { labelId, labelIndex };
}

/** One row of a labels CSV: the image as written, where it is, and its patient (or null). */
export interface ImageRow {
  readonly image: string;
  readonly path: string;
  readonly patient: string | null;
}

/**
 * Reads a labels CSV with an `image` column (paths relative to the CSV). `patientColumn`:
 * a column name (must exist), `false` for none, or undefined for the first of
 * PATIENT_COLUMNS the CSV has.
 */
export function readImageRows(
  labelsCsv: string,
  patientColumn: string | false | undefined,
): {
  readonly table: CsvTable;
  readonly patientColumn: string | null;
  readonly imageRow: (row: Readonly<Record<string, string>>) => ImageRow;
} {
  const labelsPath = resolve(labelsCsv);
  const table = readCsvFile(labelsPath);
  requireColumns(table, ['image', ...(typeof patientColumn === 'string' ? [patientColumn] : [])]);
  const column =
    patientColumn === false
      ? null
      : (patientColumn ?? PATIENT_COLUMNS.find((c) => table.columns.includes(c)) ?? null);
  const imageRow = (row: Readonly<Record<string, string>>): ImageRow => {
    const image = (row['image'] ?? '').trim();
    return {
      image,
      path: resolve(labelsPath, '..', image),
      patient: column === null ? null : (row[column] ?? '').trim(),
    };
  };
  return { table, patientColumn: column, imageRow };
}
