import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathInside, uidPathSegment } from './safePaths.js';

test('only a valid UID becomes a path segment', () => {
  assert.equal(uidPathSegment('1.2.840.10008.1', 'Study Instance UID', 'a.dcm'), '1.2.840.10008.1');
  for (const bad of [
    '..',
    '../..',
    '',
    '.',
    '1..2',
    '1.02',
    '/etc',
    `1.${'2'.repeat(70)}`,
    '1.2\0',
  ]) {
    assert.throws(
      () => uidPathSegment(bad, 'Study Instance UID', 'a.dcm'),
      /E_BAD_INPUT: a\.dcm has an invalid Study Instance UID/,
      JSON.stringify(bad),
    );
  }
});

test('a path built under a root stays strictly inside it', () => {
  assert.equal(pathInside('/out', '1.2.3', 'analysis.json'), '/out/1.2.3/analysis.json');
  for (const segments of [['..'], ['../..', 'x'], ['a', '../../b'], [''], ['/etc/passwd']]) {
    if (segments[0] === '/etc/passwd') {
      // join() keeps an absolute segment under the root: it is inside.
      assert.equal(pathInside('/out', ...segments), '/out/etc/passwd');
      continue;
    }
    assert.throws(() => pathInside('/out', ...segments), /E_BAD_INPUT: the path .* would leave/);
  }
});
