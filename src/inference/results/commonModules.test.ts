import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRadiolensError } from '../../foundation/core/index.js';
import { encodeDicomPart10 } from '../../foundation/dicom/index.js';
import { checkCopiedAttributes, sopCommonModule } from './commonModules.js';

/** What the encoder says of a result carrying the value: the oracle the check must agree with. */
function encoderAccepts(patientName: string): boolean {
  try {
    encodeDicomPart10({
      ...sopCommonModule('1.2.840.10008.5.1.4.1.1.7', '2.25.7', new Date('2026-01-01T00:00:00Z')),
      PatientName: patientName,
    });
    return true;
  } catch (error) {
    if (isRadiolensError(error)) return false;
    throw error;
  }
}

function checkAccepts(patientName: string): boolean {
  try {
    checkCopiedAttributes({ PatientName: patientName }, 'source.dcm');
    return true;
  } catch (error) {
    if (isRadiolensError(error) && error.code === 'E_BAD_INPUT') return false;
    throw error;
  }
}

test('a copied value is measured in UTF-8 bytes, as the encoder of the results measures it', () => {
  // "Å" is one character and two bytes in UTF-8: 32 of them fill a PN group of 64 bytes.
  for (const [name, accepted] of [
    ['Å'.repeat(32), true],
    ['Å'.repeat(33), false],
    ['A'.repeat(64), true],
    ['A'.repeat(65), false],
    // 23 characters, 21 × 3 + 2 = 65 bytes: counting characters would let it through.
    [`${'山'.repeat(21)}^A`, false],
  ] as const) {
    assert.equal(checkAccepts(name), accepted, name);
    assert.equal(encoderAccepts(name), accepted, `the encoder, ${name}`);
  }
});
