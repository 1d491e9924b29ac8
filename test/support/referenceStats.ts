/**
 * The reference data sets with published results (../shared/data/reference-stats/SOURCE.md),
 * read once for the statistics tests.
 */
import { join } from 'node:path';
import { readCsvFile } from '../../src/foundation/csv/index.js';
import { sharedDir } from './paths.js';

/** pROC's aSAH data (113 patients, one row each): outcome Poor is the positive class. */
export function aSAH(): { truth: (0 | 1)[]; column: (name: string) => number[] } {
  const table = readCsvFile(join(sharedDir, 'data', 'reference-stats', 'aSAH.csv'));
  return {
    truth: table.rows.map((row) => (row.outcome === 'Poor' ? 1 : 0)),
    column: (name) => table.rows.map((row) => Number(row[name])),
  };
}
