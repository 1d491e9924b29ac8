import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRadiolensError } from '../core/index.js';
import {
  encodeDicomPart10,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
} from './write.js';

function dcmdump(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-write-'));
  const path = join(dir, 'x.dcm');
  writeFileSync(path, bytes);
  return execFileSync('dcmdump', ['+L', path], { encoding: 'utf8' });
}

const base = {
  SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
  SOPInstanceUID: '2.25.123456789',
  PatientName: 'Müller^Jürgen',
  PatientID: 'P-1',
  SpecificCharacterSet: 'ISO_IR 192',
  Rows: 2,
  Columns: 2,
  SamplesPerPixel: 3,
  PhotometricInterpretation: 'RGB',
  BitsAllocated: 8,
  BitsStored: 8,
  HighBit: 7,
  PixelRepresentation: 0,
  PlanarConfiguration: 0,
  PixelData: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
  ContentSequence: [
    {
      ValueType: 'TEXT',
      TextValue: 'nested',
      ConceptNameCodeSequence: [
        { CodeValue: '121071', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Finding' },
      ],
    },
  ],
};

test('writes a Part 10 file with a correct File Meta Information that dcmdump reads', () => {
  const bytes = encodeDicomPart10(base);
  assert.equal(Buffer.from(bytes.subarray(128, 132)).toString('latin1'), 'DICM');
  const dump = dcmdump(bytes);
  assert.match(dump, /\(0002,0002\) UI =SecondaryCaptureImageStorage/);
  assert.match(dump, /\(0002,0003\) UI \[2\.25\.123456789\]/);
  assert.match(dump, /\(0002,0010\) UI =LittleEndianExplicit/);
  assert.ok(dump.includes(`(0002,0012) UI [${IMPLEMENTATION_CLASS_UID}]`), dump);
  assert.ok(dump.includes(`(0002,0013) SH [${IMPLEMENTATION_VERSION_NAME}]`), dump);
  assert.match(dump, /\(0010,0010\) PN \[Müller\^Jürgen\]/);
  assert.match(dump, /\(0040,a160\) UT \[nested\]/);
  assert.match(dump, /\(7fe0,0010\) OB 01\\02\\03/);
});

test('implicit VR little endian is written and declared', () => {
  const dump = dcmdump(encodeDicomPart10(base, '1.2.840.10008.1.2'));
  assert.match(dump, /\(0002,0010\) UI =LittleEndianImplicit/);
  assert.match(dump, /\(0010,0020\) LO \[P-1\]/);
});

test('rejects what would make an invalid file, with a code', () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ ...base, SOPInstanceUID: '1.02' }, '1.2.840.10008.1.2.1', 'E_BAD_INPUT'],
    [{ ...base, TransferSyntaxUID: '1.2' }, '1.2.840.10008.1.2.1', 'E_BAD_INPUT'],
    [base, '1.2.840.10008.1.2.4.50', 'E_UNSUPPORTED_TRANSFER_SYNTAX'],
    [{ ...base, PixelData: new Uint8Array(3) }, '1.2.840.10008.1.2.1', 'E_PIXEL_DATA'],
    [{ ...base, PixelData: 'x' }, '1.2.840.10008.1.2.1', 'E_PIXEL_DATA'],
  ];
  for (const [dataset, syntax, code] of cases) {
    assert.throws(
      () => encodeDicomPart10(dataset, syntax),
      (error: unknown) => isRadiolensError(error) && error.code === code,
    );
  }
});

test('output is deterministic', () => {
  assert.deepEqual(encodeDicomPart10(base), encodeDicomPart10(base));
});
