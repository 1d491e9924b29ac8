/** CSV reading (RFC 4180 with the quirks of spreadsheet exports; ADR 0050): one reader for every command. */
export { parseCsv, parseCsvRecords, readCsvFile, requireColumns, type CsvTable } from './csv.js';
