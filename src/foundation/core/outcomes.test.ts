import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from './errors.js';
import { DicomStatus, outcomeOf } from './outcomes.js';

test('input we cannot read is C000 to DIMSE and STOW-RS, 4xx to HTTP; never "out of resources"', () => {
  for (const code of ['E_NOT_DICOM', 'E_TRUNCATED', 'E_MALFORMED_DICOM', 'E_BAD_INPUT'] as const) {
    const outcome = outcomeOf(new RadiolensError(code, 'x'));
    assert.equal(outcome.dimseStatus, DicomStatus.CANNOT_UNDERSTAND, code);
    assert.equal(outcome.stowFailureReason, DicomStatus.CANNOT_UNDERSTAND, code);
    assert.equal(outcome.httpStatus, 400, code);
  }
  const limit = outcomeOf(new RadiolensError('E_LIMIT_EXCEEDED', 'deep'));
  assert.deepEqual(limit, { dimseStatus: 0xc000, stowFailureReason: 0xc000, httpStatus: 413 });
  const syntax = outcomeOf(new RadiolensError('E_UNSUPPORTED_TRANSFER_SYNTAX', 'mpeg'));
  assert.deepEqual(syntax, { dimseStatus: 0xc000, stowFailureReason: 0xc122, httpStatus: 415 });
});

test('our own trouble (disk, database) is A700 / 503: the sender retries later', () => {
  for (const code of ['E_STORE', 'E_IO', 'E_DISK_FULL'] as const) {
    assert.deepEqual(outcomeOf(new RadiolensError(code, 'full')), {
      dimseStatus: 0xa700,
      stowFailureReason: 0xa700,
      httpStatus: 503,
    });
  }
});

test('anything uncoded or unlisted is a processing failure (0110 / 500) to both protocols', () => {
  assert.deepEqual(outcomeOf(new TypeError('bug')), {
    dimseStatus: 0x0110,
    stowFailureReason: 0x0110,
    httpStatus: 500,
  });
  assert.equal(outcomeOf(new RadiolensError('E_QUEUE', 'q')).dimseStatus, 0x0110);
});
