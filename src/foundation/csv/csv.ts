/**
 * A small RFC 4180 CSV reader: quoted fields, doubled quotes inside them, CRLF or LF line
 * ends, line breaks inside quoted fields, an optional UTF-8 byte-order mark. Statistics input
 * is small tabular data, so a full-featured dependency would buy nothing (ADR 0050).
 */
import { readFileSync } from 'node:fs';
import { RadiolensError } from '../core/index.js';

/** A parsed CSV: the header's column names and one record per data row, keyed by column. */
export interface CsvTable {
  readonly columns: readonly string[];
  readonly rows: readonly Readonly<Record<string, string>>[];
  /** Where the data came from, for error messages. */
  readonly source: string;
}

/** Splits CSV text into records of fields (RFC 4180). */
export function parseCsvRecords(text: string, source = 'CSV text'): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let inQuotes = false;
  let fieldWasQuoted = false;
  let line = 1;
  let quoteOpenedAtLine = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endField = (): void => {
    record.push(field);
    field = '';
    fieldWasQuoted = false;
  };
  const endRecord = (): void => {
    // A blank line (one empty, unquoted field) is not a record.
    const blank = record.length === 0 && field === '' && !fieldWasQuoted;
    endField();
    if (!blank) records.push(record);
    record = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field !== '' || fieldWasQuoted) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `${source} line ${line}: a quote inside an unquoted field — quote the whole field and double the inner quotes ("")`,
          { subject: source },
        );
      }
      inQuotes = true;
      fieldWasQuoted = true;
      quoteOpenedAtLine = line;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\r' && text[i + 1] === '\n') {
      // CRLF: the \n ends the record on the next turn.
    } else if (ch === '\n' || ch === '\r') {
      endRecord();
      line++;
    } else {
      if (fieldWasQuoted) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `${source} line ${line}: text after a closing quote — put a comma after the quoted field`,
          { subject: source },
        );
      }
      field += ch;
    }
  }
  if (inQuotes) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: the quote opened on line ${quoteOpenedAtLine} is never closed — fix the quoting`,
      { subject: source },
    );
  }
  if (field !== '' || fieldWasQuoted || record.length > 0) endRecord();
  return records;
}

/** Parses CSV text whose first record is a header into a table keyed by column name. */
export function parseCsv(text: string, source = 'CSV text'): CsvTable {
  const records = parseCsvRecords(text, source);
  const header = records[0];
  if (header === undefined) {
    throw new RadiolensError('E_BAD_INPUT', `${source} is empty — it needs a header row`, {
      subject: source,
    });
  }
  const columns = header.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${source}: column "${name}" appears twice in the header — rename one`,
        { subject: source },
      );
    }
    seen.add(name);
  }
  const rows = records.slice(1).map((record, index) => {
    if (record.length !== columns.length) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${source} data row ${index + 1}: ${record.length} fields but the header has ${columns.length} — every row needs one value per column`,
        { subject: source },
      );
    }
    const row: Record<string, string> = {};
    columns.forEach((name, c) => (row[name] = record[c]!));
    return row;
  });
  return { columns, rows, source };
}

/** Reads and parses a CSV file. */
export function readCsvFile(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new RadiolensError('E_IO', `cannot read ${path} — check the path`, {
      subject: path,
      cause,
    });
  }
  return parseCsv(text, path);
}

/** Throws E_BAD_INPUT naming the missing columns and the ones that exist. */
export function requireColumns(table: CsvTable, names: readonly string[]): void {
  const missing = names.filter((name) => !table.columns.includes(name));
  if (missing.length > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${table.source}: no column ${missing.map((m) => `"${m}"`).join(', ')} — the columns are ${table.columns.map((c) => `"${c}"`).join(', ')}`,
      { subject: table.source },
    );
  }
}
