import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSemver, isPrerelease, isSemver } from './semver.js';

test('semver precedence follows semver.org §11', () => {
  const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0', '2.0.0'];
  const shuffled = [...ordered].reverse();
  assert.deepEqual(shuffled.sort(compareSemver), ordered);
  assert.equal(compareSemver('1.0.0+build.1', '1.0.0+build.2'), 0);
});

test('isSemver and isPrerelease', () => {
  assert.equal(isSemver('1.2'), false);
  assert.equal(isSemver('01.2.3'), false);
  assert.equal(isSemver('1.2.3-rc.1+sha.abc'), true);
  assert.equal(isPrerelease('1.2.3-rc.1'), true);
  assert.equal(isPrerelease('1.2.3+build-7'), false);
});
