import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { repoRoot, validateFhirR4Schema } from '../../../test/support/index.js';
import {
  syntheticDisplay,
  syntheticHeatmap,
  syntheticRecord,
} from '../../../test/support/results.js';
import { isRadiolensError } from '../../foundation/core/index.js';
import {
  buildFhirBundle,
  COMPREHENSIVE_SR_STORAGE,
  SECONDARY_CAPTURE_IMAGE_STORAGE,
  writeMeasurementReport,
  writeSecondaryCapture,
  type AnalysisRecord,
  type ResultArtifact,
} from './index.js';

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

/** What analyze hands the bundle: the SR, the SC and one heatmap PNG, as typed artifacts. */
function artifactsFor(record: AnalysisRecord): ResultArtifact[] {
  const sr = writeMeasurementReport(record);
  const image = record.sources[0]!;
  const sc = writeSecondaryCapture({
    record,
    image,
    display: syntheticDisplay(64, 64),
    heatmap: syntheticHeatmap(),
    findings: record.findings,
  });
  return [
    {
      kind: 'sr',
      path: `SR_${sr.sopInstanceUid}.dcm`,
      mediaType: 'application/dicom',
      dicom: {
        sopClassUid: COMPREHENSIVE_SR_STORAGE,
        sopInstanceUid: sr.sopInstanceUid,
        seriesInstanceUid: sr.seriesInstanceUid,
        modality: 'SR',
        seriesNumber: 9001,
      },
    },
    {
      kind: 'sc',
      path: `SC_${sc.sopInstanceUid}.dcm`,
      mediaType: 'application/dicom',
      dicom: {
        sopClassUid: SECONDARY_CAPTURE_IMAGE_STORAGE,
        sopInstanceUid: sc.sopInstanceUid,
        seriesInstanceUid: sc.seriesInstanceUid,
        modality: 'OT',
        seriesNumber: 9002,
      },
      sourceSopInstanceUid: image.sopInstanceUid,
    },
    {
      kind: 'heatmap-png',
      path: `heatmaps/${image.sopInstanceUid}_pneumonia.png`,
      mediaType: 'image/png',
      sourceSopInstanceUid: image.sopInstanceUid,
      heatmap: {
        labelId: 'pneumonia',
        method: 'grad-cam',
        width: 2048,
        height: 2500,
        bitDepth: 16,
        maxRaw: 3.25,
        grid: { width: 7, height: 7 },
        sha256: 'b'.repeat(64),
        size: 123456,
        peak: { x: 10, y: 20 },
      },
    },
  ];
}

function bundle(options: { patientIdentifierSystem?: string } = {}): Json {
  const record = syntheticRecord();
  const sr = writeMeasurementReport(record);
  return buildFhirBundle(record, {
    srSopInstanceUid: sr.sopInstanceUid,
    artifacts: artifactsFor(record),
    ...options,
  }) as Json;
}

const resources = (b: Json, type: string): Json[] =>
  b['entry'].map((e: Json) => e.resource).filter((r: Json) => r.resourceType === type);

test('the Bundle and every resource in it are valid FHIR R4 (medplum, and the R4 JSON schema)', () => {
  for (const b of [bundle(), bundle({ patientIdentifierSystem: 'urn:oid:1.2.3.4' })]) {
    validate(b);
    for (const entry of b['entry']) validate(entry.resource);
    const errors = validateFhirR4Schema(b);
    assert.deepEqual(errors.slice(0, 20), [], `${errors.length} schema errors`);
  }
  const entries: Json[] = bundle()['entry'];
  const types = entries.map((e) => e.resource.resourceType).sort();
  assert.deepEqual(types, [
    'Device',
    'DiagnosticReport',
    'ImagingStudy',
    'Media',
    'Media',
    'Observation',
    'Observation',
    'Patient',
  ]);
});

test('the JSON schema check is real: an unknown element and a bad code fail it', () => {
  const b = bundle();
  const observation = resources(b, 'Observation')[0]!;
  observation['status'] = 'guessed';
  observation['probabilityPercent'] = 87;
  assert.ok(validateFhirR4Schema(b).length > 0);
});

test('the analysed image and the heatmap are referenced as data, not only in text', () => {
  const record = syntheticRecord();
  const image = record.sources[0]!;
  const b = bundle();
  const byUrl = new Map<string, Json>(b['entry'].map((e: Json) => [e.fullUrl, e.resource]));
  const [pneumonia, pneumothorax] = resources(b, 'Observation');
  const derived = (o: Json): Json[] => o['derivedFrom'].map((r: Json) => byUrl.get(r.reference)!);
  // Pneumonia: the study, the image (Media identified by its SOP Instance UID) and its heatmap.
  const [study, imageMedia, heatmap] = derived(pneumonia!);
  assert.equal(study!['resourceType'], 'ImagingStudy');
  assert.equal(imageMedia!['resourceType'], 'Media');
  assert.deepEqual(imageMedia!['identifier'][0], {
    system: 'urn:dicom:uid',
    value: `urn:oid:${image.sopInstanceUid}`,
  });
  assert.equal(heatmap!['content'].url, `heatmaps/${image.sopInstanceUid}_pneumonia.png`);
  assert.equal(heatmap!['content'].contentType, 'image/png');
  assert.deepEqual([heatmap!['width'], heatmap!['height']], [2048, 2500]);
  // Pneumothorax has no heatmap PNG here: the study and the image only.
  assert.deepEqual(
    derived(pneumothorax!).map((r) => r['resourceType']),
    ['ImagingStudy', 'Media'],
  );
  const report = resources(b, 'DiagnosticReport')[0]!;
  assert.equal(byUrl.get(report['media'][0].link.reference), heatmap);
  // bodySite: SNOMED CT thoracic structure, from Body Part Examined CHEST.
  assert.deepEqual(pneumonia!['bodySite'].coding[0], {
    system: 'http://snomed.info/sct',
    code: '51185008',
    display: 'Thoracic structure',
  });
  const device = resources(b, 'Device')[0]!;
  assert.equal(device['type'].coding[0].code, '706689003');
  assert.equal(device['version'][0].value, '1.2.0');
});

test('ImagingStudy lists what the PACS holds: the source series and every DICOM series written', () => {
  const record = syntheticRecord();
  const artifacts = artifactsFor(record);
  const study = resources(bundle(), 'ImagingStudy')[0]!;
  const series = study['series'] as Json[];
  assert.equal(series.length, 3);
  assert.equal(study['numberOfSeries'], 3);
  assert.equal(study['numberOfInstances'], 3);
  for (const artifact of artifacts.filter((a) => a.dicom)) {
    const listed = series.find((s) => s['uid'] === artifact.dicom!.seriesInstanceUid)!;
    assert.ok(listed, `series of the ${artifact.kind}`);
    assert.equal(listed['number'], artifact.dicom!.seriesNumber);
    assert.equal(listed['modality'].code, artifact.dicom!.modality);
    assert.deepEqual(listed['instance'], [
      {
        uid: artifact.dicom!.sopInstanceUid,
        sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${artifact.dicom!.sopClassUid}` },
      },
    ]);
  }
  const source = series.find((s) => s['uid'] === record.sources[0]!.seriesInstanceUid)!;
  assert.equal(source['bodySite'].code, '51185008');
});

test("Observation.identifier is the SR finding's Tracking Unique Identifier", () => {
  const record = syntheticRecord();
  const sr = writeMeasurementReport(record);
  // Read the SR's content tree: each measurement group's UIDREF 112040.
  const tracking: string[] = [];
  const walk = (items: unknown): void => {
    for (const item of (items as Json[] | undefined) ?? []) {
      if (item['ConceptNameCodeSequence']?.[0]?.CodeValue === '112040') tracking.push(item['UID']);
      walk(item['ContentSequence']);
    }
  };
  walk(sr.dataset['ContentSequence']);
  assert.equal(tracking.length, 2);
  const observations = resources(bundle(), 'Observation');
  assert.deepEqual(
    observations.map((o) => o['identifier'][0].value),
    tracking.map((uid) => `urn:oid:${uid}`),
  );
  assert.equal(observations[0]!['identifier'][0].system, 'urn:dicom:uid');
});

test('Patient.identifier.system: the issuer qualifiers first, else the configured site system', () => {
  const withQualifiers = (type: string, id: string): Json => {
    const record = syntheticRecord();
    record.sources[0]!.dataset['IssuerOfPatientIDQualifiersSequence'] = [
      { UniversalEntityID: id, UniversalEntityIDType: type },
    ];
    return resources(
      buildFhirBundle(record, { patientIdentifierSystem: 'https://site.example/mrn' }) as Json,
      'Patient',
    )[0]!['identifier'][0];
  };
  assert.equal(withQualifiers('ISO', '1.2.840.99999.1')['system'], 'urn:oid:1.2.840.99999.1');
  assert.equal(
    withQualifiers('UUID', 'A1B2C3D4-0000-4000-8000-000000000001')['system'],
    'urn:uuid:a1b2c3d4-0000-4000-8000-000000000001',
  );
  assert.equal(withQualifiers('URI', 'https://pas.example/id')['system'], 'https://pas.example/id');
  // A type FHIR has no URI form for, or a malformed OID: the site's system.
  assert.equal(withQualifiers('DNS', 'pas.example')['system'], 'https://site.example/mrn');
  assert.equal(withQualifiers('ISO', 'not-an-oid')['system'], 'https://site.example/mrn');
  const configured = resources(bundle({ patientIdentifierSystem: 'urn:oid:1.2.3.4' }), 'Patient');
  assert.equal(configured[0]!['identifier'][0].system, 'urn:oid:1.2.3.4');
  assert.equal(configured[0]!['identifier'][0].type.coding[0].code, 'MR');
  const unconfigured = resources(bundle(), 'Patient');
  assert.equal(unconfigured[0]!['identifier'][0].system, undefined);
  assert.throws(
    () => bundle({ patientIdentifierSystem: 'hospital mrn' }),
    (error: unknown) => isRadiolensError(error) && error.code === 'E_BAD_INPUT',
  );
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
    link: 'Media',
  };
  const allowed: Record<string, string[]> = { derivedFrom: ['ImagingStudy', 'Media'] };
  let count = 0;
  const walk = (node: unknown, key: string): void => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, key));
    else if (node !== null && typeof node === 'object') {
      const obj = node as Json;
      if (typeof obj['reference'] === 'string') {
        const target = byUrl.get(obj['reference']);
        assert.ok(target, `unresolved reference ${obj['reference']} at ${key}`);
        if (expected[key] !== undefined) assert.equal(target['resourceType'], expected[key], key);
        if (allowed[key] !== undefined) assert.ok(allowed[key].includes(target['resourceType']));
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
