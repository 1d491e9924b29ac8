/**
 * The site's labels CSV as fine-tuning reads it: image, the label column, the patient column,
 * every other column kept (so the split CSVs written for `radiolens validate` still carry
 * subgroup columns such as `finding`).
 */
import { dirname, relative, resolve, sep } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';

export interface SiteImage {
  /** As written in the CSV. */
  image: string;
  /** Resolved against the CSV's folder. */
  imagePath: string;
  patientId: string;
  truth: 0 | 1;
  /** Every column of the row, as read. */
  row: Readonly<Record<string, string>>;
}

export interface SiteTable {
  path: string;
  columns: readonly string[];
  images: SiteImage[];
}

export function readSiteLabels(
  csvPath: string,
  options: { label: string; patientColumn: string },
): SiteTable {
  const path = resolve(csvPath);
  const table = readCsvFile(path);
  requireColumns(table, ['image', options.label, options.patientColumn]);
  if (table.rows.length === 0) {
    throw new RadiolensError('E_BAD_INPUT', `${path} has no images — add one row per image`, {
      subject: path,
    });
  }
  const folder = dirname(path);
  const seen = new Set<string>();
  const images = table.rows.map((row, i): SiteImage => {
    const where = `${path} data row ${i + 1}`;
    const image = (row['image'] ?? '').trim();
    if (image === '')
      throw new RadiolensError('E_BAD_INPUT', `${where}: the image column is empty`, {
        subject: path,
      });
    if (seen.has(image)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${where}: image ${image} is listed twice — list each image once`,
        {
          subject: path,
        },
      );
    }
    seen.add(image);
    const raw = (row[options.label] ?? '').trim();
    if (raw !== '0' && raw !== '1') {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${where}: label "${options.label}" is "${raw}"; it must be 1 (present) or 0 (absent)`,
        { subject: path },
      );
    }
    const patientId = (row[options.patientColumn] ?? '').trim();
    if (patientId === '') {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${where}: column "${options.patientColumn}" is empty — every image needs its patient for a patient-level split`,
        { subject: path },
      );
    }
    return { image, imagePath: resolve(folder, image), patientId, truth: raw === '1' ? 1 : 0, row };
  });
  return { path, columns: table.columns, images };
}

/**
 * Write a subset as a labels CSV in `outPath`'s folder, image paths rewritten relative to it,
 * so `radiolens validate --labels <it>` reads exactly these images.
 */
export async function writeSiteLabels(
  outPath: string,
  columns: readonly string[],
  images: readonly SiteImage[],
): Promise<void> {
  const folder = dirname(resolve(outPath));
  const lines = [columns.map(csvField).join(',')];
  for (const image of images) {
    const rel = relative(folder, image.imagePath).split(sep).join('/');
    lines.push(columns.map((c) => csvField(c === 'image' ? rel : (image.row[c] ?? ''))).join(','));
  }
  await writeFileAtomic(outPath, `${lines.join('\n')}\n`);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
