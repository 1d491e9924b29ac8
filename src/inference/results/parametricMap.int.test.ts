import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dciodvfy, runOnDicom } from '../../../test/support/dicomTools.js';
import { syntheticHeatmap, syntheticRecord } from '../../../test/support/results.js';
import { PARAMETRIC_MAP_STORAGE, writeParametricMap } from './index.js';

function input(version?: string) {
  const record = syntheticRecord(version === undefined ? {} : { version });
  return {
    record,
    image: record.sources[0]!,
    heatmap: syntheticHeatmap(),
    finding: record.findings[0]!,
  };
}

type Parsed = Record<string, unknown>;
function parse(bytes: Uint8Array): Parsed {
  const { data } = createRequire(import.meta.url)('dcmjs') as {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown> } };
      DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): Parsed };
    };
  };
  const buffer = bytes.slice().buffer;
  return data.DicomMetaDictionary.naturalizeDataset(data.DicomMessage.readFile(buffer).dict);
}

test('the Parametric Map passes dciodvfy: no errors, only the explained defined terms', () => {
  const result = dciodvfy(writeParametricMap(input()).bytes);
  assert.match(result.text, /ParametricMap/);
  assert.deepEqual(result.errors, [], result.text);
  for (const warning of result.warnings) {
    assert.match(
      warning,
      /<99RADIOLENS> for value 1 of attribute <Coding Scheme Designator>|<HEATMAP> for value 3 of attribute <(Image|Frame) Type>/,
    );
  }
  assert.equal(runOnDicom('dcmdump', [], writeParametricMap(input()).bytes).status, 0);
});

test('float values are the heatmap over its maximum, mapped to real-world values 0…1', () => {
  const { heatmap } = input();
  const pm = writeParametricMap(input());
  const ds = parse(pm.bytes);
  assert.equal(ds['SOPClassUID'], PARAMETRIC_MAP_STORAGE);
  assert.equal(ds['Rows'], heatmap.height);
  assert.equal(ds['Columns'], heatmap.width);
  assert.equal(ds['BitsAllocated'], 32);
  const raw = (ds['FloatPixelData'] as ArrayBuffer[])[0]!;
  const values = new Float32Array(raw);
  assert.equal(values.length, heatmap.width * heatmap.height);
  for (let i = 0; i < values.length; i++) {
    assert.ok(Math.abs(values[i]! - heatmap.data[i]! / heatmap.max) < 1e-6);
  }
  assert.equal(Math.max(...values), 1);
  const shared = (ds['SharedFunctionalGroupsSequence'] as Parsed[])[0]!;
  const rwvm = (shared['RealWorldValueMappingSequence'] as Parsed[])[0]!;
  assert.equal(rwvm['LUTLabel'], 'GRADCAM');
  assert.equal(rwvm['RealWorldValueSlope'], 1);
  // 16×16 cells over a 256×256 image without spacing: nominal 1 mm pixels → 16 mm cells.
  const measures = (shared['PixelMeasuresSequence'] as Parsed[])[0]!;
  assert.deepEqual(measures['PixelSpacing'], [16, 16]);
});

test('it derives from the analysed image and lives in its study with a frame of reference', () => {
  const { record, image } = input();
  const ds = parse(writeParametricMap(input()).bytes);
  assert.equal(ds['StudyInstanceUID'], record.studyInstanceUid);
  assert.match(String(ds['FrameOfReferenceUID']), /^2\.25\./);
  assert.equal(ds['SeriesDescription'], 'AI cxr-densenet121 1.2.0 parametric map');
  const shared = (ds['SharedFunctionalGroupsSequence'] as Parsed[])[0]!;
  const derivation = (shared['DerivationImageSequence'] as Parsed[])[0]!;
  const src = (derivation['SourceImageSequence'] as Parsed[])[0]!;
  assert.equal(src['ReferencedSOPInstanceUID'], image.sopInstanceUid);
  const series = (ds['ReferencedSeriesSequence'] as Parsed[])[0]!;
  assert.equal(series['SeriesInstanceUID'], image.seriesInstanceUid);
  // With the source's own frame of reference and plane, the map uses them.
  const withFrame = {
    ...image,
    dataset: {
      ...image.dataset,
      FrameOfReferenceUID: '1.2.826.0.1.3680043.8.498.7',
      ImagePositionPatient: [-100, -120, 30],
      ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
      PixelSpacing: [0.5, 0.5],
    },
  };
  const framed = parse(
    writeParametricMap({
      ...input(),
      record: { ...record, sources: [withFrame] },
      image: withFrame,
    }).bytes,
  );
  assert.equal(framed['FrameOfReferenceUID'], '1.2.826.0.1.3680043.8.498.7');
  const perFrame = (framed['PerFrameFunctionalGroupsSequence'] as Parsed[])[0]!;
  const position = (perFrame['PlanePositionSequence'] as Parsed[])[0]!;
  // 16×16 cells over 256 pixels of 0.5 mm: cells of 8 mm, the first centred 3.75 mm further.
  assert.deepEqual(position['ImagePositionPatient'], [-96.25, -116.25, 30]);
});

test('a retry is byte-identical; a new model version is a new series', () => {
  const a = writeParametricMap(input());
  assert.deepEqual(writeParametricMap(input()).bytes, a.bytes);
  const b = writeParametricMap(input('2.0.0'));
  assert.notEqual(b.seriesInstanceUid, a.seriesInstanceUid);
});
