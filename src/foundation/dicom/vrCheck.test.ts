import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRadiolensError } from '../core/index.js';
import { encodeDicomPart10 } from './write.js';

/** A minimal object Radiolens could write; each test changes one attribute. */
function dataset(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33',
    SOPInstanceUID: '2.25.4242',
    PatientName: [{ Alphabetic: 'Müller^Anna' }],
    PatientID: 'P-7',
    StudyDate: '20260301',
    StudyTime: '081500.25',
    Modality: 'SR',
    SeriesNumber: 100123,
    ManufacturerModelName: 'Radiolens CXR pneumonia (cxr-pneumonia 1.2.0)',
    ...overrides,
  };
}

function rejects(overrides: Record<string, unknown>, message: RegExp): void {
  assert.throws(
    () => encodeDicomPart10(dataset(overrides)),
    (e: unknown) => isRadiolensError(e) && e.code === 'E_VR_INVALID' && message.test(e.message),
  );
}

test('a valid dataset encodes', () => {
  assert.ok(encodeDicomPart10(dataset({})).byteLength > 132);
});

test('LO longer than 64 bytes is refused, naming the attribute (the 67-character model name)', () => {
  const name = 'Radiolens CXR pneumonia (compact CNN), head adapted to cxr-site-nih';
  assert.equal(name.length, 67);
  rejects({ ManufacturerModelName: name }, /ManufacturerModelName \(LO\) is 67 bytes/);
});

test('length counts UTF-8 bytes: 40 × "é" is 80 bytes, too long for LO', () => {
  rejects({ ManufacturerModelName: 'é'.repeat(40) }, /is 80 bytes/);
  assert.ok(encodeDicomPart10(dataset({ ManufacturerModelName: 'é'.repeat(32) })));
});

test('non-ASCII text needs a declared character set', () => {
  rejects({ SpecificCharacterSet: undefined, PatientID: 'Zoë' }, /outside the default \(ASCII\)/);
  rejects({ SpecificCharacterSet: 'ISO_IR 100', PatientID: 'Ω' }, /ISO_IR 100/);
  assert.ok(encodeDicomPart10(dataset({ SpecificCharacterSet: 'ISO_IR 100', PatientID: 'Zoë' })));
});

test('code-like VRs are ASCII whatever the character set', () => {
  rejects({ Modality: 'sr' }, /Modality \(CS\) "sr" is not upper-case/);
  rejects({ Modality: 'É' }, /Modality \(CS\) holds "É"/);
});

test('dates, times, integers and UIDs are checked for format', () => {
  rejects({ StudyDate: '2026-03-01' }, /StudyDate \(DA\)/);
  rejects({ StudyDate: '20260230' }, /not a calendar date/);
  rejects({ StudyTime: '256000' }, /not a time of day/);
  rejects({ SeriesNumber: 2 ** 31 }, /SeriesNumber \(IS\)/);
  rejects({ StudyInstanceUID: '1.2.03' }, /StudyInstanceUID \(UI\)/);
  rejects({ Rows: -1 }, /Rows \(US\)/);
});

test('values inside sequences are checked and named by their path', () => {
  rejects(
    { ContributingEquipmentSequence: [{ Manufacturer: 'x'.repeat(65) }] },
    /ContributingEquipmentSequence\[0\]\.Manufacturer \(LO\)/,
  );
});

test('a backslash in a single value and control characters are refused', () => {
  rejects({ PatientID: 'A\\B' }, /backslash/);
  rejects({ PatientID: 'A\nB' }, /control character U\+000a/);
  assert.ok(encodeDicomPart10(dataset({ DerivationDescription: 'line one\r\nline two' })));
});

test('person names: at most three groups of 64 bytes and five components', () => {
  rejects({ PatientName: 'A^B^C^D^E^F' }, /more than five components/);
  rejects({ PatientName: 'x'.repeat(65) }, /longer than 64 bytes/);
});
