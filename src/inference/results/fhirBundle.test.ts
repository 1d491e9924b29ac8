import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { repoRoot } from '../../../test/support/index.js';
import { syntheticRecord } from '../../../test/support/results.js';
import { buildFhirBundle, COMPREHENSIVE_SR_STORAGE, writeMeasurementReport } from './index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

before(() => {
  // The R4 StructureDefinitions medplum's validator checks against (about 1 s to index).
  const dir = join(repoRoot, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');
  for (const file of ['profiles-types.json', 'profiles-resources.json']) {
    indexStructureDefinitionBundle(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  }
});

/**
 * Validate with medplum. Errors throw. The only warnings accepted are medplum's "Invalid
 * reference" for urn:uuid references, which it cannot type-check (it expects Type/id); our own
 * resolution check below proves those references point at the right resource types.
 */
function validate(resource: Json): void {
  const issues = validateResource(resource as never);
  for (const issue of issues) {
    assert.notEqual(issue.severity, 'error', JSON.stringify(issue));
    assert.match(
      String(issue.details?.text),
      /^Invalid reference: got "urn:uuid:/,
      JSON.stringify(issue),
    );
  }
}

function bundle(): Json {
  const record = syntheticRecord();
  const sr = writeMeasurementReport(record);
  return buildFhirBundle(record, { srSopInstanceUid: sr.sopInstanceUid }) as Json;
}

test('the Bundle and every resource in it are valid FHIR R4', () => {
  const b = bundle();
  validate(b);
  for (const entry of b['entry']) validate(entry.resource);
  const types = b['entry'].map((e: Json) => e.resource.resourceType).sort();
  assert.deepEqual(types, [
    'Device',
    'DiagnosticReport',
    'ImagingStudy',
    'Observation',
    'Observation',
    'Patient',
  ]);
});

test('the validator is real: a broken Observation fails', () => {
  const observation = bundle()['entry'].find(
    (e: Json) => e.resource.resourceType === 'Observation',
  ).resource;
  const broken = { ...observation, code: undefined, valueQuantity: 'high' };
  assert.throws(() => validateResource(broken as never));
});

test('every reference resolves inside the Bundle, to the right resource type', () => {
  const b = bundle();
  const byUrl = new Map<string, Json>(b['entry'].map((e: Json) => [e.fullUrl, e.resource]));
  const expected: Record<string, string> = {
    subject: 'Patient',
    device: 'Device',
    result: 'Observation',
    imagingStudy: 'ImagingStudy',
    derivedFrom: 'ImagingStudy',
  };
  let count = 0;
  const walk = (node: unknown, key: string): void => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, key));
    else if (node !== null && typeof node === 'object') {
      const obj = node as Json;
      if (typeof obj['reference'] === 'string') {
        const target = byUrl.get(obj['reference']);
        assert.ok(target, `unresolved reference ${obj['reference']} at ${key}`);
        if (expected[key] !== undefined) assert.equal(target['resourceType'], expected[key], key);
        count++;
      }
      for (const [k, v] of Object.entries(obj)) walk(v, k);
    }
  };
  for (const entry of b['entry']) walk(entry.resource, '');
  assert.ok(count >= 10, `${count} references checked`);
});

test('content: preliminary report on the imaging study, findings coded with probability', () => {
  const record = syntheticRecord();
  const sr = writeMeasurementReport(record);
  const b = buildFhirBundle(record, { srSopInstanceUid: sr.sopInstanceUid }) as Json;
  const of = (type: string): Json[] =>
    b['entry'].map((e: Json) => e.resource).filter((r: Json) => r.resourceType === type);
  const report = of('DiagnosticReport')[0]!;
  assert.equal(report['status'], 'preliminary');
  assert.equal(report['category'][0].coding[0].code, 'RAD');
  assert.equal(report['identifier'][0].value, `urn:oid:${sr.sopInstanceUid}`);
  const [pneumonia, pneumothorax] = of('Observation');
  assert.deepEqual(pneumonia!['code'].coding[0], {
    system: 'http://snomed.info/sct',
    code: '233604007',
    display: 'Pneumonia',
  });
  assert.equal(pneumonia!['valueCodeableConcept'].coding[0].code, '52101004');
  assert.equal(pneumothorax!['valueCodeableConcept'].coding[0].code, '2667000');
  assert.deepEqual(pneumonia!['component'][0].valueQuantity, {
    value: 87.31,
    unit: '%',
    system: 'http://unitsofmeasure.org',
    code: '%',
  });
  const study = of('ImagingStudy')[0]!;
  assert.deepEqual(study['identifier'][0], {
    system: 'urn:dicom:uid',
    value: `urn:oid:${record.studyInstanceUid}`,
  });
  assert.equal(study['status'], 'available');
  const srSeries = study['series'].find((s: Json) => s.modality.code === 'SR');
  assert.equal(srSeries.uid, sr.seriesInstanceUid);
  assert.equal(srSeries.instance[0].sopClass.code, `urn:oid:${COMPREHENSIVE_SR_STORAGE}`);
  const device = of('Device')[0]!;
  assert.equal(device['identifier'][0].value, record.algorithm.manifestSha256);
  assert.equal(device['version'][0].value, '1.2.0');
  const patient = of('Patient')[0]!;
  assert.equal(patient['identifier'][0].value, 'RL-000123');
  assert.deepEqual(patient['name'][0], { text: 'Müller Anna', family: 'Müller', given: ['Anna'] });
  assert.equal(patient['birthDate'], '1957-04-12');
  assert.equal(patient['gender'], 'female');
});

test('deterministic: same input, same Bundle; new model version, new ids', () => {
  assert.deepEqual(bundle(), bundle());
  const a = buildFhirBundle(syntheticRecord(), {}) as Json;
  const b = buildFhirBundle(syntheticRecord({ version: '9.9.9' }), {}) as Json;
  assert.notEqual(a['id'], b['id']);
  assert.match(
    a['entry'][0].fullUrl,
    /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
});
