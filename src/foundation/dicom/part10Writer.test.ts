import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { isRadiolensError } from '../core/index.js';
import { BytesFilledInPlace, decimalString } from './part10Writer.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  encodeDicomPart10,
} from './write.js';

/** dcmjs' writer, which encodeDicomPart10 used before (ADR 0025): the reference output. */
function encodeWithDcmjs(dataset: Record<string, unknown>): Uint8Array {
  const { data } = createRequire(import.meta.url)('dcmjs') as {
    data: {
      DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer };
      DicomMetaDictionary: { denaturalizeDataset(d: Record<string, unknown>): unknown };
    };
  };
  const meta = data.DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset['SOPClassUID'],
    MediaStorageSOPInstanceUID: dataset['SOPInstanceUID'],
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
    _vrMap: { FileMetaInformationVersion: 'OB' },
  });
  const dict = new data.DicomDict(meta);
  const pixels = dataset['PixelData'] as Uint8Array | undefined;
  dict.dict = data.DicomMetaDictionary.denaturalizeDataset(
    pixels ? { ...dataset, PixelData: [pixels.slice().buffer] } : dataset,
  );
  return new Uint8Array(dict.write());
}

const dataset = {
  SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.34',
  SOPInstanceUID: '2.25.4242',
  SpecificCharacterSet: 'ISO_IR 192',
  PatientName: [{ Alphabetic: 'Müller^Anna' }],
  PatientID: 'P-7',
  PatientBirthDate: '',
  PatientSex: 'F',
  ImageType: ['DERIVED', 'SECONDARY'],
  InstanceNumber: 3,
  SeriesNumber: 9001,
  Rows: 2,
  Columns: 2,
  SamplesPerPixel: 3,
  PhotometricInterpretation: 'RGB',
  BitsAllocated: 8,
  BitsStored: 8,
  HighBit: 7,
  PixelRepresentation: 0,
  PlanarConfiguration: 0,
  ContentSequence: [
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'NUM',
      ConceptNameCodeSequence: [
        {
          CodeValue: '111047',
          CodingSchemeDesignator: 'DCM',
          CodeMeaning: 'Probability of cancer',
        },
      ],
      MeasuredValueSequence: [
        {
          NumericValue: '0.8731',
          MeasurementUnitsCodeSequence: [
            { CodeValue: '1', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'no units' },
          ],
        },
      ],
    },
    { RelationshipType: 'CONTAINS', ValueType: 'TEXT', TextValue: 'odd' },
  ],
  PixelData: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
  _vrMap: { PixelData: 'OB' },
};

test('the fast writer produces the same bytes dcmjs wrote, sequences, UTF-8 and pixels included', () => {
  assert.deepEqual(encodeDicomPart10(dataset), encodeWithDcmjs(dataset));
});

test('Decimal Strings from numbers fit in 16 characters', () => {
  assert.equal(decimalString(0.5), '0.5');
  assert.equal(decimalString(-12), '-12');
  for (const value of [0.1 + 0.2, 1 / 3, -2 / 3, 98765.4321 / 7, 1e-20, 6.02214076e23]) {
    const text = decimalString(value);
    assert.ok(text.length <= 16, `${value} → ${text}`);
    assert.ok(Math.abs(Number(text) - value) <= Math.abs(value) * 1e-9, `${value} → ${text}`);
  }
});

test('a keyword that is not in the DICOM dictionary is refused, not dropped', () => {
  assert.throws(
    () => encodeDicomPart10({ ...dataset, PatientNmae: 'typo' }),
    (e: unknown) =>
      isRadiolensError(e) && e.code === 'E_BAD_INPUT' && /PatientNmae/.test(e.message),
  );
});

test('Pixel Data drawn in place encodes to the same file as the bytes passed in; an odd length is refused', () => {
  const pixels = Uint8Array.from({ length: 5 * 5 * 3 + 1 }, (_, i) => (i * 37) % 251);
  pixels[pixels.length - 1] = 0; // the pad byte of an odd RGB picture
  const dataset = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: '2.25.42',
    Rows: 5,
    Columns: 5,
    SamplesPerPixel: 3,
    BitsAllocated: 8,
    _vrMap: { PixelData: 'OB' },
  };
  const given = encodeDicomPart10({ ...dataset, PixelData: pixels });
  let calls = 0;
  const drawn = encodeDicomPart10({
    ...dataset,
    PixelData: new BytesFilledInPlace(pixels.length, (into) => {
      calls += 1;
      assert.equal(into.length, pixels.length);
      into.set(pixels.subarray(0, pixels.length - 1));
    }),
  });
  assert.equal(calls, 1);
  assert.deepEqual(drawn, given);
  assert.throws(
    () => new BytesFilledInPlace(75, () => undefined),
    (error: unknown) => isRadiolensError(error) && error.code === 'E_BAD_INPUT',
  );
});
