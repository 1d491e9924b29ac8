import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInputSpec } from '../models/index.js';
import { acquisitionFacts, patientKey, pixelStatistics } from './index.js';

test('acquisition facts: trimmed, upper-cased code strings, numbers, either pixel spacing; null when absent', () => {
  assert.deepEqual(
    acquisitionFacts({
      Modality: 'dx',
      Manufacturer: ' Agfa ',
      ManufacturerModelName: 'DX-D 300',
      ViewPosition: 'pa',
      BodyPartExamined: 'CHEST',
      PhotometricInterpretation: 'MONOCHROME1',
      BitsStored: 12,
      ImagerPixelSpacing: [0.1395, 0.1395],
      KVP: '125',
      Rows: 2500,
      Columns: 2048,
    }),
    {
      modality: 'DX',
      manufacturer: 'Agfa',
      manufacturerModelName: 'DX-D 300',
      viewPosition: 'PA',
      bodyPartExamined: 'CHEST',
      photometricInterpretation: 'MONOCHROME1',
      bitsStored: 12,
      pixelSpacing: '0.140\\0.140',
      kvp: 125,
      rows: 2500,
      columns: 2048,
    },
  );
  const bare = acquisitionFacts({ Modality: 'CR', PixelSpacing: '0.2\\0.25', KVP: '' });
  assert.equal(bare.pixelSpacing, '0.200\\0.250');
  assert.equal(bare.kvp, null);
  assert.equal(bare.manufacturer, null);
});

test('pixel statistics undo the model normalisation and match a direct computation', () => {
  const spec: ModelInputSpec = {
    width: 20,
    height: 10,
    channels: 1,
    resize: 'stretch',
    normalisation: { kind: 'meanStd', mean: [0.5], std: [0.25] },
    inputName: 'x',
  };
  const display = Array.from({ length: 200 }, (_, i) => (i % 100) / 100 + 0.003);
  const input = Float32Array.from(display, (v) => (v - 0.5) / 0.25);
  const stats = pixelStatistics(input, spec);
  const mean = display.reduce((a, b) => a + b, 0) / display.length;
  const std = Math.sqrt(display.reduce((a, b) => a + (b - mean) ** 2, 0) / display.length);
  assert.ok(Math.abs(stats.mean - mean) < 1e-6);
  assert.ok(Math.abs(stats.std - std) < 1e-6);
  const sorted = [...display].sort((a, b) => a - b);
  // The histogram percentile lies within one bin (0.001) of the sample's own.
  assert.ok(Math.abs(stats.p05 - sorted[9]!) <= 0.0015, `${stats.p05} vs ${sorted[9]}`);
  assert.ok(Math.abs(stats.p50 - sorted[99]!) <= 0.0015, `${stats.p50} vs ${sorted[99]}`);
  assert.ok(Math.abs(stats.p95 - sorted[189]!) <= 0.0015, `${stats.p95} vs ${sorted[189]}`);
  const unit = pixelStatistics(Float32Array.from(display), {
    ...spec,
    normalisation: { kind: 'unit' },
  });
  assert.ok(Math.abs(unit.mean - mean) < 1e-6);
});

test('the patient key groups a patient’s images without carrying the ID', () => {
  const key = patientKey({ PatientID: 'PID-42', IssuerOfPatientID: 'HOSP' });
  assert.match(key!, /^[0-9a-f]{16}$/);
  assert.equal(patientKey({ PatientID: ' PID-42 ', IssuerOfPatientID: 'HOSP' }), key);
  assert.notEqual(patientKey({ PatientID: 'PID-42', IssuerOfPatientID: 'OTHER' }), key);
  assert.equal(patientKey({ PatientID: '' }), null);
});
