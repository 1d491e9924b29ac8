import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDicom, readDicomFile } from './parse.js';
import { findTransferSyntax, supportedTransferSyntaxes } from './transferSyntax.js';
import { corpusPath } from '../../../test/support/dicom.js';

describe('parseDicom', () => {
  it('exposes identifying UIDs, frame count and the naturalized dataset without pixels', async () => {
    const instance = await readDicomFile(corpusPath('pydicom-data/emri_small.dcm'));
    assert.equal(instance.transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.equal(instance.numberOfFrames, 10);
    assert.equal(instance.hasPixelData, true);
    assert.match(instance.sopInstanceUid, /^[0-9.]+$/);
    assert.match(instance.studyInstanceUid, /^[0-9.]+$/);
    assert.match(instance.seriesInstanceUid, /^[0-9.]+$/);
    assert.equal(instance.sopClassUid, instance.dataset['SOPClassUID']);
    assert.equal(instance.dataset['Rows'], 64);
    assert.equal(instance.dataset['PixelData'], undefined);
    assert.equal(instance.meta['TransferSyntaxUID'], '1.2.840.10008.1.2.1');
    assert.deepEqual(instance.warnings, []);
  });

  it('reads the same attributes from every encoding of one CT', async () => {
    const variants = [
      'CTImage.dcm',
      'CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
      'CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
      'CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm',
    ];
    const instances = await Promise.all(
      variants.map((v) => readDicomFile(corpusPath(`cornerstone3D/${v}`))),
    );
    for (const instance of instances) {
      assert.equal(instance.sopInstanceUid, instances[0]!.sopInstanceUid);
      assert.equal(instance.dataset['PatientName'] !== undefined, true);
      assert.equal(instance.dataset['Rows'], 512);
      assert.equal(instance.dataset['PixelRepresentation'], 1);
    }
  });

  it('accepts File Meta Information without preamble or group length', async () => {
    const instance = await readDicomFile(corpusPath('pydicom-data/JLSL_RGB_ILV0.dcm'));
    assert.equal(instance.transferSyntaxUid, '1.2.840.10008.1.2.4.80');
    assert.equal(instance.sopInstanceUid, '', 'this fixture has no SOP Instance UID');
    assert.equal(instance.hasPixelData, true);
  });

  it('accepts a bare implicit VR dataset with no File Meta Information', async () => {
    const instance = await readDicomFile(corpusPath('pydicom-data/OT-PAL-8-face.dcm'));
    assert.equal(instance.transferSyntaxUid, '1.2.840.10008.1.2');
    assert.equal(instance.dataset['PhotometricInterpretation'], 'PALETTE COLOR');
  });

  it('reads a dataset whose character sets dcmjs refuses (ISO 2022 code extensions), with a warning', () => {
    const path = corpusPath('pydicom-data/MR2_UNCR.dcm');
    const bytes = new Uint8Array(readFileSync(path));
    const at = Buffer.from(bytes).indexOf(Buffer.from('ISO_IR 100'));
    assert.ok(at > 0);
    bytes.set(Buffer.from('\\ISO_IR 87'), at); // same length: ["", "ISO_IR 87"], as Japanese files do
    const instance = parseDicom(bytes, 'japanese.dcm');
    assert.equal(instance.dataset['Rows'], 1024);
    assert.match(instance.warnings.join('\n'), /character set/);
  });

  it('parses from a Buffer view into a larger buffer (no reliance on byteOffset 0)', () => {
    const file = readFileSync(corpusPath('pydicom-data/SC_rgb.dcm'));
    const padded = new Uint8Array(file.byteLength + 64);
    padded.set(file, 32);
    const instance = parseDicom(padded.subarray(32, 32 + file.byteLength), 'view');
    assert.equal(instance.dataset['Columns'], 100);
  });
});

describe('transfer syntaxes', () => {
  it('covers every syntax the brief requires', () => {
    const required = [
      '1.2.840.10008.1.2',
      '1.2.840.10008.1.2.1',
      '1.2.840.10008.1.2.2',
      '1.2.840.10008.1.2.1.99',
      '1.2.840.10008.1.2.5',
      '1.2.840.10008.1.2.4.50',
      '1.2.840.10008.1.2.4.51',
      '1.2.840.10008.1.2.4.57',
      '1.2.840.10008.1.2.4.70',
      '1.2.840.10008.1.2.4.80',
      '1.2.840.10008.1.2.4.81',
      '1.2.840.10008.1.2.4.90',
      '1.2.840.10008.1.2.4.91',
      '1.2.840.10008.1.2.4.201',
      '1.2.840.10008.1.2.4.202',
      '1.2.840.10008.1.2.4.203',
    ];
    for (const uid of required) assert.ok(findTransferSyntax(uid), uid);
    assert.equal(findTransferSyntax('1.2.840.10008.1.2.4.100'), undefined, 'MPEG2 is not decoded');
    assert.equal(
      new Set(supportedTransferSyntaxes().map((t) => t.uid)).size,
      supportedTransferSyntaxes().length,
    );
  });
});
