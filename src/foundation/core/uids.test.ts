import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveUid, isValidUid, randomUid } from './uids.js';

test('derived UIDs are deterministic, valid and distinct per input', () => {
  const a = deriveUid('study', 'model@1');
  assert.equal(a, deriveUid('study', 'model@1'));
  assert.notEqual(a, deriveUid('study', 'model@2'));
  assert.notEqual(deriveUid('ab', 'c'), deriveUid('a', 'bc'));
  assert.ok(isValidUid(a), a);
  assert.ok(a.length <= 64);
});

test('random UIDs are valid and differ', () => {
  const a = randomUid();
  assert.ok(isValidUid(a));
  assert.notEqual(a, randomUid());
});

test('isValidUid rejects leading zeros and non-digits', () => {
  assert.equal(isValidUid('1.02.3'), false);
  assert.equal(isValidUid('1.2.a'), false);
  assert.equal(isValidUid('1.2.840.10008.1.2'), true);
});
