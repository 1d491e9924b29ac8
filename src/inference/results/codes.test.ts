import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RADIOLENS_SCHEME, probabilityOf } from './codes.js';

const pneumonia = { scheme: 'SCT', value: '233604007', meaning: 'Pneumonia' };

test('"Probability of <finding>" names the finding and is one code per finding code', () => {
  const concept = probabilityOf(pneumonia);
  assert.equal(concept.scheme, RADIOLENS_SCHEME);
  assert.equal(concept.meaning, 'Probability of Pneumonia');
  assert.match(concept.value, /^PROB[0-9A-F]{12}$/); // SH: 16 characters
  // The code follows the finding's code, not its wording or the model reporting it.
  assert.equal(
    probabilityOf({ ...pneumonia, meaning: 'Pneumonia (disorder)' }).value,
    concept.value,
  );
  assert.notEqual(probabilityOf({ ...pneumonia, value: '60046008' }).value, concept.value);
  assert.notEqual(probabilityOf({ ...pneumonia, scheme: '99LOCAL' }).value, concept.value);
});

test('a long or non-ASCII finding meaning is fitted to LO (64 bytes) by the free-text rule', () => {
  const long = probabilityOf({
    ...pneumonia,
    meaning: 'Community-acquired pneumonia with parapneumonic effusion of the left lower lobe',
  });
  assert.ok(Buffer.byteLength(long.meaning, 'utf8') <= 64, long.meaning);
  assert.match(long.meaning, /^Probability of Community-acquired pneumonia .*\.\.\.$/);
  const accented = probabilityOf({ ...pneumonia, meaning: 'Épanchement pleural '.repeat(4) });
  assert.ok(Buffer.byteLength(accented.meaning, 'utf8') <= 64, accented.meaning);
});
