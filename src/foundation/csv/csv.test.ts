import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { sharedDir } from '../../../test/support/index.js';
import { parseCsv, parseCsvRecords, readCsvFile, requireColumns } from './index.js';

describe('CSV (RFC 4180)', () => {
  it('reads quoted fields, doubled quotes, CRLF and embedded line breaks', () => {
    const text = '\ufeffa,"b, c",d\r\n1,"say ""hi""","two\nlines"\r\n,"",x\r\n';
    assert.deepEqual(parseCsvRecords(text), [
      ['a', 'b, c', 'd'],
      ['1', 'say "hi"', 'two\nlines'],
      ['', '', 'x'],
    ]);
  });

  it('accepts a last line without a line end and skips blank lines', () => {
    assert.deepEqual(parseCsvRecords('a,b\n\n1,2'), [
      ['a', 'b'],
      ['1', '2'],
    ]);
    assert.deepEqual(parseCsvRecords('a\n""'), [['a'], ['']]);
  });

  it('keys rows by header column', () => {
    const table = parseCsv('id,score\nx,0.5\ny,0.25\n', 'mem.csv');
    assert.deepEqual(table.columns, ['id', 'score']);
    assert.deepEqual(table.rows[1], { id: 'y', score: '0.25' });
  });

  it('reads the pROC aSAH file', () => {
    const table = readCsvFile(join(sharedDir, 'data', 'reference-stats', 'aSAH.csv'));
    assert.equal(table.rows.length, 113);
    assert.equal(table.rows[0]!.outcome, 'Good');
    assert.equal(table.rows[0]!.s100b, '0.13');
  });

  it('says where malformed CSV is wrong', () => {
    assert.throws(
      () => parseCsv('a,b\n1,2,3\n', 'f.csv'),
      /E_BAD_INPUT: f\.csv data row 1: 3 fields but the header has 2/,
    );
    assert.throws(
      () => parseCsvRecords('a,"b\n1,2\n', 'f.csv'),
      /quote opened on line 1 is never closed/,
    );
    assert.throws(
      () => parseCsvRecords('a,b"c"\n', 'f.csv'),
      /line 1: a quote inside an unquoted field/,
    );
    assert.throws(() => parseCsvRecords('"a"b\n', 'f.csv'), /text after a closing quote/);
    assert.throws(() => parseCsv('a,a\n1,2\n', 'f.csv'), /column "a" appears twice/);
    assert.throws(() => parseCsv('', 'f.csv'), /f\.csv is empty/);
    assert.throws(
      () => readCsvFile('/nonexistent/x.csv'),
      /E_IO: cannot read \/nonexistent\/x\.csv/,
    );
  });

  it('names missing columns and lists the ones there are', () => {
    const table = parseCsv('a,b\n1,2\n', 'f.csv');
    assert.throws(
      () => requireColumns(table, ['a', 'zz']),
      /f\.csv: no column "zz" — the columns are "a", "b"/,
    );
  });
});
