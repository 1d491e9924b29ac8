import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskFull } from './index.js';

test('a full disk is told from other errors, through causes and across the analysis thread', () => {
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
  });
  assert.equal(diskFull(full), true);
  assert.equal(diskFull(new Error('wrapped', { cause: full })), true);
  assert.equal(diskFull(new Error('ENOSPC: no space left on device, write')), true, 'thread');
  assert.equal(diskFull(Object.assign(new Error('quota'), { code: 'EDQUOT' })), true);
  assert.equal(diskFull(Object.assign(new Error('gone'), { code: 'ENOENT' })), false);
  assert.equal(diskFull(new Error('the model wrote ENOSPC: in its log')), false);
  assert.equal(diskFull('ENOSPC'), false);
});
