import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRadiolensError } from '../core/index.js';
import {
  decidePresentationContext,
  isCallerAllowed,
  isStorageSopClass,
  validateCallerPolicy,
  VERIFICATION_SOP_CLASS,
} from './index.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const HTJ2K = '1.2.840.10008.1.2.4.201';

test('storage SOP classes: the 5.1.4.1.1 arc and listed others; private ones refused', () => {
  assert.equal(isStorageSopClass(CT), true);
  assert.equal(isStorageSopClass('1.2.840.10008.5.1.4.1.1.88.33'), true); // Comprehensive SR
  assert.equal(isStorageSopClass('1.2.840.10008.5.1.4.38.1'), true); // Hanging Protocol
  assert.equal(isStorageSopClass('1.2.840.10008.5.1.4.1.2.2.1'), false); // Q/R FIND
  assert.equal(isStorageSopClass('1.3.46.670589.11.0.0.12.1'), false); // private
});

test('the first proposed transfer syntax the store can keep is chosen', () => {
  assert.deepEqual(decidePresentationContext(CT, ['1.2.840.10008.1.2.4.100', HTJ2K]), {
    accept: true,
    transferSyntaxUid: HTJ2K,
  });
  assert.deepEqual(decidePresentationContext(CT, ['1.2.840.10008.1.2.4.100']), {
    accept: false,
    reason: 'transfer-syntax',
  });
  assert.deepEqual(decidePresentationContext('1.2.3.4', ['1.2.840.10008.1.2']), {
    accept: false,
    reason: 'abstract-syntax',
  });
  assert.deepEqual(
    decidePresentationContext(VERIFICATION_SOP_CLASS, [HTJ2K, '1.2.840.10008.1.2']),
    {
      accept: true,
      transferSyntaxUid: '1.2.840.10008.1.2',
    },
  );
});

test('caller allow-list: AE title, optional addresses, IPv4-mapped IPv6', () => {
  const policy = [{ aeTitle: 'CT1', addresses: ['10.0.0.5'] }, { aeTitle: 'PACS' }];
  assert.equal(isCallerAllowed(policy, 'CT1 ', '10.0.0.5'), true);
  assert.equal(isCallerAllowed(policy, 'CT1', '::ffff:10.0.0.5'), true);
  assert.equal(isCallerAllowed(policy, 'CT1', '10.0.0.6'), false);
  assert.equal(isCallerAllowed(policy, 'PACS', '192.168.1.1'), true);
  assert.equal(isCallerAllowed(policy, 'OTHER', '10.0.0.5'), false);
  assert.equal(isCallerAllowed('any', 'OTHER', undefined), true);
});

test('an entry with AE title * admits any title, from its addresses only', () => {
  const local = [{ aeTitle: '*', addresses: ['127.0.0.1', '::1'] }];
  assert.equal(isCallerAllowed(local, 'WHOEVER', '127.0.0.1'), true);
  assert.equal(isCallerAllowed(local, 'WHOEVER', '::ffff:127.0.0.1'), true);
  assert.equal(isCallerAllowed(local, 'WHOEVER', '::1'), true);
  assert.equal(isCallerAllowed(local, 'WHOEVER', '10.0.0.5'), false);
  validateCallerPolicy(local);
});

test('a bad allow-list is refused with E_DIMSE_CONFIG', () => {
  assert.throws(
    () => validateCallerPolicy([{ aeTitle: 'CT1', addresses: ['ct1.hospital'] }]),
    (e: unknown) => isRadiolensError(e) && e.code === 'E_DIMSE_CONFIG',
  );
  assert.throws(
    () => validateCallerPolicy([{ aeTitle: 'A_TITLE_THAT_IS_TOO_LONG' }]),
    (e: unknown) => isRadiolensError(e) && e.code === 'E_DIMSE_CONFIG',
  );
});
