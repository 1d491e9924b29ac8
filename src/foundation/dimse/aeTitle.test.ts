import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAeTitle, isAeTitle } from './aeTitle.js';

test('the AE title rule of PS3.5 (VR AE)', () => {
  for (const ok of [
    'RADIOLENS',
    'A',
    'SIXTEEN_CHARS_AE',
    ' PADDED ',
    'with space',
    'lower-case.1',
  ]) {
    assert.equal(isAeTitle(ok), true, ok);
  }
  for (const bad of [
    '',
    '    ',
    'SEVENTEEN_CHARS_A',
    'BACK\\SLASH',
    'TAB\tAE',
    'NEW\nLINE',
    'ESC\x1b',
    'ÄE',
  ]) {
    assert.equal(isAeTitle(bad), false, JSON.stringify(bad));
  }
  assert.throws(() => assertAeTitle('  ', 'AE title'), /E_DIMSE_CONFIG.*not all spaces/);
});
