import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { conformanceDir } from '../../../test/support/index.js';
import { dciodvfy, runOnDicom } from '../../../test/support/dicomTools.js';
import {
  syntheticHeatmap,
  syntheticRecord,
  syntheticSource,
} from '../../../test/support/results.js';
import { heatmapRegion } from './findingRegion.js';
import { COMPREHENSIVE_SR_STORAGE, writeMeasurementReport } from './index.js';

/** The one warning we accept: dciodvfy does not know private coding schemes (ADR 0041). */
const PRIVATE_SCHEME_WARNING =
  /^Warning - Unrecognized defined term <99RADIOLENS> for value 1 of attribute <Coding Scheme Designator>$/;

test('the TID 1500 report passes dciodvfy with no errors', () => {
  const { bytes } = writeMeasurementReport(syntheticRecord());
  const result = dciodvfy(bytes);
  assert.match(result.text, /ComprehensiveSR/);
  assert.deepEqual(result.errors, [], result.text);
  for (const warning of result.warnings) assert.match(warning, PRIVATE_SCHEME_WARNING);
});

test('dsrdump reads it: findings, probabilities, presence, tracking and the device observer', () => {
  const { bytes } = writeMeasurementReport(syntheticRecord());
  const run = runOnDicom('dsrdump', ['+Pc'], bytes);
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout;
  assert.match(out, /Comprehensive SR Document/);
  assert.match(out, /Verification Flag\s+: UNVERIFIED/);
  assert.match(out, /Completion Flag\s+: COMPLETE/);
  assert.match(out, /<CONTAINER:\(126000,DCM,"Imaging Measurement Report"\)=SEPARATE>/);
  assert.match(out, /CODE:\(121071,DCM,"Finding"\)=\(233604007,SCT,"Pneumonia"\)/);
  assert.match(out, /NUM:\(111012,DCM,"Certainty of Finding"\)="87\.31" \(%,UCUM,"Percent"\)/);
  // The same probability under a concept naming the finding, what OHIF draws (ADR 0144).
  assert.match(
    out,
    /NUM:\(PROB[0-9A-F]{12},99RADIOLENS,"Probability of Pneumonia"\)="87\.31" \(%,UCUM,"Percent"\)/,
  );
  assert.match(out, /NUM:\(PROB[0-9A-F]{12},99RADIOLENS,"Probability of Pneumothorax"\)=/);
  assert.match(out, /CODE:\(233604007,SCT,"Pneumonia"\)=\(52101004,SCT,"Present"\)/);
  assert.match(out, /CODE:\(36118008,SCT,"Pneumothorax"\)=\(2667000,SCT,"Absent"\)/);
  assert.match(out, /NUM:\(OPTHRESH,99RADIOLENS,"Operating point threshold"\)="50"/);
  assert.equal(out.match(/\(112040,DCM,"Tracking Unique Identifier"\)/g)?.length, 2);
  assert.match(out, /\(121005,DCM,"Observer Type"\)=\(121007,DCM,"Device"\)/);
  assert.match(out, /\(111001,DCM,"Algorithm Name"\)="Radiolens CXR classifier"/);
  assert.match(out, /\(111003,DCM,"Algorithm Version"\)="1\.2\.0"/);
  assert.match(out, /\(121058,DCM,"Procedure reported"\)=\(363679005,SCT,"Imaging procedure"\)/);
  assert.match(out, /inferred from IMAGE:\(121112,DCM,"Source of Measurement"\)/);
});

test('the report is in the source study, a new SR series, with the patient copied', () => {
  const record = syntheticRecord();
  const { dataset, seriesInstanceUid, sopInstanceUid } = writeMeasurementReport(record);
  const source = record.sources[0]!;
  assert.equal(dataset['SOPClassUID'], COMPREHENSIVE_SR_STORAGE);
  assert.equal(dataset['StudyInstanceUID'], source.dataset['StudyInstanceUID']);
  assert.equal(dataset['SOPInstanceUID'], sopInstanceUid);
  assert.equal(dataset['SeriesInstanceUID'], seriesInstanceUid);
  assert.notEqual(seriesInstanceUid, source.seriesInstanceUid);
  assert.equal(dataset['Modality'], 'SR');
  assert.match(String(dataset['SeriesDescription']), /^AI /);
  for (const key of [
    'PatientName',
    'PatientID',
    'PatientBirthDate',
    'PatientSex',
    'AccessionNumber',
  ]) {
    assert.deepEqual(dataset[key], source.dataset[key], key);
  }
  const dump = runOnDicom('dcmdump', [], writeMeasurementReport(record).bytes).stdout;
  assert.match(dump, /\(0018,a001\) SQ/); // Contributing Equipment Sequence
  assert.match(dump, /\(0008,0100\) SH \[109102\]/);
  assert.match(dump, /\(0040,a375\) SQ/); // Current Requested Procedure Evidence Sequence
});

test('UIDs are deterministic: a retry is byte-identical, a new model version is a new series', () => {
  const first = writeMeasurementReport(syntheticRecord());
  const retry = writeMeasurementReport(syntheticRecord());
  assert.deepEqual(retry.bytes, first.bytes);
  const newVersion = writeMeasurementReport(syntheticRecord({ version: '1.3.0' }));
  assert.notEqual(newVersion.sopInstanceUid, first.sopInstanceUid);
  assert.notEqual(newVersion.seriesInstanceUid, first.seriesInstanceUid);
  const newPackage = writeMeasurementReport(syntheticRecord({ sha: 'b'.repeat(64) }));
  assert.notEqual(newPackage.sopInstanceUid, first.sopInstanceUid);
  // Tracking UIDs identify one finding across report versions of the same model only.
  const tracking = (r: typeof first): string[] =>
    JSON.stringify(r.dataset).match(/"UID":"([0-9.]+)"/g) ?? [];
  assert.equal(new Set(tracking(first)).size, tracking(first).length);
  assert.deepEqual(tracking(retry), tracking(first));
});

test('source order does not change the UIDs', () => {
  const record = syntheticRecord();
  const second = syntheticSource({ sopInstanceUid: '1.2.826.0.1.3680043.8.498.10001.1.2' });
  const a = writeMeasurementReport({ ...record, sources: [record.sources[0]!, second] });
  const b = writeMeasurementReport({ ...record, sources: [second, record.sources[0]!] });
  assert.equal(a.sopInstanceUid, b.sopInstanceUid);
  assert.equal(a.seriesInstanceUid, b.seriesInstanceUid);
});

test('refuses records that would file wrong or mislead', () => {
  const record = syntheticRecord();
  const badProbability = {
    ...record,
    findings: [{ ...record.findings[0]!, probability: 1.2 }],
  };
  const otherStudy = {
    ...record,
    sources: [
      {
        ...record.sources[0]!,
        dataset: { ...record.sources[0]!.dataset, StudyInstanceUID: '1.2.3' },
      },
    ],
  };
  const noSources = { ...record, sources: [], findings: [] };
  for (const bad of [badProbability, otherStudy, noSources]) {
    assert.throws(
      () => writeMeasurementReport(bad),
      (e: unknown) => isRadiolensError(e) && e.code === 'E_BAD_INPUT',
    );
  }
});

test('a real chest CR header (pydicom-data RG1_J2KI) as source gives a valid report', (t) => {
  const path = join(conformanceDir, 'pydicom-data', 'RG1_J2KI.dcm');
  if (!existsSync(path)) {
    t.skip(`${path} not present`);
    return;
  }
  const dcmjs = createRequire(import.meta.url)('dcmjs') as {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown> } };
      DicomMetaDictionary: {
        naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown>;
      };
    };
  };
  const file = readFileSync(path);
  const parsed = dcmjs.data.DicomMessage.readFile(
    file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength),
  );
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict);
  delete dataset['PixelData'];
  const image = {
    sopClassUid: String(dataset['SOPClassUID']),
    sopInstanceUid: String(dataset['SOPInstanceUID']),
    seriesInstanceUid: String(dataset['SeriesInstanceUID']),
    dataset,
  };
  const record = syntheticRecord();
  const real = {
    ...record,
    studyInstanceUid: String(dataset['StudyInstanceUID']),
    sources: [image],
    findings: record.findings.map((f) => ({ ...f, image })),
  };
  const report = writeMeasurementReport(real);
  assert.equal(report.dataset['StudyInstanceUID'], dataset['StudyInstanceUID']);
  const result = dciodvfy(report.bytes);
  assert.deepEqual(result.errors, [], result.text);
  assert.equal(runOnDicom('dsrdump', [], report.bytes).status, 0);
});

test('each finding carries an image region on its source image, and the SR links the heatmap objects', () => {
  const record = syntheticRecord();
  const [pneumonia, pneumothorax] = record.findings;
  pneumonia!.explanation = {
    region: heatmapRegion(syntheticHeatmap(), record.sources[0]!),
    secondaryCapture: { sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '2.25.777' },
  };
  const { bytes, dataset } = writeMeasurementReport(record);
  const result = dciodvfy(bytes);
  assert.deepEqual(result.errors, [], result.text);
  const out = runOnDicom('dsrdump', ['+Pc'], bytes).stdout;
  // One SCOORD per finding, each SELECTED FROM the source image.
  assert.equal(out.match(/SCOORD:\(111030,DCM,"Image Region"\)=\(POLYLINE,/g)?.length, 2, out);
  assert.equal(out.match(/selected from IMAGE:=\(CR image,/g)?.length, 2, out);
  assert.match(out, /IMAGE:\(130401,DCM,"Visual Explanation"\)=\(SC image,/);
  assert.match(out, /\(112039,DCM,"Tracking Identifier"\)="Pneumonia \(cxr-densenet1/);
  assert.match(out, /\(111002,DCM,"Algorithm Parameters"\)="image region: whole image/);
  assert.equal(pneumothorax!.explanation, undefined);
  // The heatmap object is listed as pertinent other evidence (C.17.2.3).
  const other = (dataset['PertinentOtherEvidenceSequence'] as Record<string, unknown>[])[0]!;
  const series = (other['ReferencedSeriesSequence'] as Record<string, unknown>[])[0]!;
  const refs = series['ReferencedSOPSequence'] as Record<string, unknown>[];
  assert.equal(refs[0]!['ReferencedSOPInstanceUID'], '2.25.777');
});

test('a model the results depend on (the lung segmentation) is Contributing Equipment after the algorithm', () => {
  const record = {
    ...syntheticRecord(),
    contributors: [
      {
        role: 'lung field segmentation (input region)',
        algorithm: {
          modelId: 'cxr-lungs',
          version: '1.0.0',
          name: 'Radiolens CXR lungs (two-lung segmentation, compact U-Net)',
          manufacturer: 'Radiolens project',
          manifestSha256: 'c'.repeat(64),
        },
      },
    ],
  };
  const { dataset, bytes } = writeMeasurementReport(record);
  const items = dataset['ContributingEquipmentSequence'] as Record<string, unknown>[];
  assert.equal(items.length, 2);
  assert.match(String(items[0]!['ContributionDescription']), /^AI inference by /);
  const modelName = String(items[1]!['ManufacturerModelName']);
  assert.match(modelName, /^Radiolens CXR lungs .*\(cxr-lungs 1\.0\.0\)$/);
  assert.ok(Buffer.byteLength(modelName) <= 64, modelName);
  assert.equal(items[1]!['SoftwareVersions'], '1.0.0');
  assert.match(
    String(items[1]!['ContributionDescription']),
    /^AI lung field segmentation \(input region\) by Radiolens CXR lungs .*\(cxr-lungs 1\.0\.0, manifest sha256 c{64}\)$/,
  );
  const result = dciodvfy(bytes);
  assert.deepEqual(result.errors, [], result.text);
  // Without contributors, only the algorithm.
  const plain = writeMeasurementReport(syntheticRecord()).dataset;
  assert.equal((plain['ContributingEquipmentSequence'] as unknown[]).length, 1);
});
