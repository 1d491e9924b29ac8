import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { isRadiolensError } from '../../foundation/core/index.js';
import { dciodvfy, runOnDicom } from '../../../test/support/dicomTools.js';
import {
  syntheticDisplay,
  syntheticHeatmap,
  syntheticRecord,
  syntheticSource,
} from '../../../test/support/results.js';
import { renderOverlayRgb, writeSecondaryCapture } from './index.js';

function input(version?: string) {
  const record = syntheticRecord(version === undefined ? {} : { version });
  return {
    record,
    image: record.sources[0]!,
    display: syntheticDisplay(),
    heatmap: syntheticHeatmap(),
    findings: record.findings,
  };
}

interface ParsedDicom {
  [key: string]: unknown;
}
function parse(bytes: Uint8Array): ParsedDicom {
  const dcmjs = createRequire(import.meta.url)('dcmjs') as {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown> } };
      DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): ParsedDicom };
    };
  };
  const buffer = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(
    dcmjs.data.DicomMessage.readFile(buffer).dict,
  );
}

test('the Secondary Capture passes dciodvfy with no errors and no warnings', () => {
  const result = dciodvfy(writeSecondaryCapture(input()).bytes);
  assert.match(result.text, /SCImage/);
  assert.deepEqual(result.errors, [], result.text);
  assert.deepEqual(result.warnings, [], result.text);
});

test('it is a new series in the source study, says it is AI output, and is truthful about burned-in text', () => {
  const sc = writeSecondaryCapture(input());
  const ds = parse(sc.bytes);
  const source = syntheticSource();
  assert.equal(ds['StudyInstanceUID'], source.dataset['StudyInstanceUID']);
  assert.equal(ds['SeriesInstanceUID'], sc.seriesInstanceUid);
  assert.notEqual(sc.seriesInstanceUid, source.seriesInstanceUid);
  assert.equal(ds['SeriesDescription'], 'AI cxr-densenet121 1.2.0 heatmap NOT FOR DIAGNOSIS');
  // Our banner, legend and labels name neither patient nor date; the source does not say YES.
  assert.equal(ds['BurnedInAnnotation'], 'NO');
  assert.equal(ds['ConversionType'], 'WSD');
  assert.equal(ds['PhotometricInterpretation'], 'RGB');
  assert.deepEqual(ds['ImageType'], ['DERIVED', 'SECONDARY']);
  assert.equal(ds['PatientID'], source.dataset['PatientID']);
  const ref = (ds['SourceImageSequence'] as ParsedDicom[])[0]!;
  assert.equal(ref['ReferencedSOPInstanceUID'], source.sopInstanceUid);
  assert.equal(ref['ReferencedSOPClassUID'], source.sopClassUid);
  const dump = runOnDicom('dcmdump', [], sc.bytes);
  assert.equal(dump.status, 0, dump.stderr);
});

test('the file carries exactly the rendered overlay pixels', () => {
  const sc = writeSecondaryCapture(input());
  const ds = parse(sc.bytes);
  const { findings, display, heatmap } = input();
  const overlay = renderOverlayRgb({
    display,
    heatmap,
    findings,
    sourceGrid: { rows: 256, columns: 256 },
  });
  assert.equal(ds['Rows'], overlay.height);
  assert.equal(ds['Columns'], overlay.width);
  const pixels = new Uint8Array((ds['PixelData'] as ArrayBuffer[])[0]!);
  assert.deepEqual(pixels.subarray(0, overlay.rgb.length), overlay.rgb);
});

test('deterministic UIDs: a retry is byte-identical, a new model version is not', () => {
  const a = writeSecondaryCapture(input());
  assert.deepEqual(writeSecondaryCapture(input()).bytes, a.bytes);
  const b = writeSecondaryCapture(input('2.0.0'));
  assert.notEqual(b.sopInstanceUid, a.sopInstanceUid);
  assert.notEqual(b.seriesInstanceUid, a.seriesInstanceUid);
});

test('an image that is not among the analysed sources is refused', () => {
  const bad = { ...input(), image: syntheticSource({ sopInstanceUid: '1.2.3.4.5' }) };
  assert.throws(
    () => writeSecondaryCapture(bad),
    (e: unknown) => isRadiolensError(e) && e.code === 'E_BAD_INPUT',
  );
});

test("the SC has the source's grid and geometry, whatever the display size", () => {
  const base = input();
  const source = {
    ...base.image,
    dataset: {
      ...base.image.dataset,
      Rows: 512,
      Columns: 384,
      PixelSpacing: [0.2, 0.2],
      PixelSpacingCalibrationType: 'GEOMETRY',
      PixelSpacingCalibrationDescription: 'magnification corrected at the detector',
      FrameOfReferenceUID: '1.2.826.0.1.3680043.8.498.10001.9',
      BurnedInAnnotation: 'YES',
    },
  };
  const record = { ...base.record, sources: [source] };
  const sc = writeSecondaryCapture({ ...base, record, image: source });
  const ds = parse(sc.bytes);
  // The source's pixels, and the identifying text in them, are copied: YES as the source says.
  assert.equal(ds['BurnedInAnnotation'], 'YES');
  assert.equal(ds['Rows'], 512);
  assert.equal(ds['Columns'], 384);
  assert.deepEqual(ds['PixelSpacing'], [0.2, 0.2]);
  assert.equal(ds['PixelSpacingCalibrationType'], 'GEOMETRY');
  assert.equal(ds['FrameOfReferenceUID'], '1.2.826.0.1.3680043.8.498.10001.9');
  assert.equal((ds['PixelData'] as ArrayBuffer[])[0]!.byteLength, 512 * 384 * 3);
  const result = dciodvfy(sc.bytes);
  assert.deepEqual(result.errors, [], result.text);
  // The SC IOD has no Frame of Reference Module: dciodvfy notes the attributes it does not
  // expect there, and nothing else (ADR 0142).
  for (const warning of result.warnings) {
    assert.match(
      warning,
      /not present in standard DICOM IOD - \(0x0020,0x(0052|1040)\)|Standard Extended SOP Class/,
      result.text,
    );
  }
});
