import { createHash } from 'node:crypto';
import { DCM, LN, RADIOLENS, SCT } from './codes.js';
import { assertValidRecord, primarySource } from './commonModules.js';
import { COMPREHENSIVE_SR_STORAGE } from './measurementReport.js';
import { resultSeriesUid } from './resultUids.js';
import type { AnalysisRecord, CodedConcept, FindingResult, SourceImage } from './types.js';

/**
 * FHIR R4 view of an analysis: a `collection` Bundle with the DiagnosticReport (status
 * preliminary — AI output awaiting a radiologist), one Observation per finding, the Device
 * (the model), the ImagingStudy and the Patient. Every entry's fullUrl is a urn:uuid derived
 * from the same inputs as the DICOM UIDs, so a retry produces the same Bundle. A sender that
 * wants server-side idempotency turns this into a transaction (ADR 0044).
 */
type Json = Record<string, unknown>;

const SYSTEMS: Record<string, string> = {
  SCT: 'http://snomed.info/sct',
  LN: 'http://loinc.org',
  DCM: 'http://dicom.nema.org/resources/ontology/DCM',
  RADLEX: 'http://radlex.org',
  UCUM: 'http://unitsofmeasure.org',
};

/** Our private DICOM scheme, and any scheme FHIR has no URI for, as a URN. */
function systemFor(scheme: string): string {
  return SYSTEMS[scheme] ?? `urn:radiolens:coding-scheme:${scheme.toLowerCase()}`;
}

function coding(concept: CodedConcept): Json {
  return { system: systemFor(concept.scheme), code: concept.value, display: concept.meaning };
}

function codeable(concept: CodedConcept, text?: string): Json {
  return { coding: [coding(concept)], ...(text === undefined ? {} : { text }) };
}

/** Name-based UUID (version 5 layout over SHA-1) from the parts, length-prefixed. */
export function deriveUuid(...parts: readonly string[]): string {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(`${Buffer.byteLength(part)}:${part};`);
  const b = hash.digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const oid = (uid: string): string => `urn:oid:${uid}`;

export function buildFhirBundle(record: AnalysisRecord, refs: { srSopInstanceUid?: string }): Json {
  assertValidRecord(record);
  const { algorithm } = record;
  const key = [
    record.studyInstanceUid,
    ...record.sources.map((s) => s.sopInstanceUid).sort(),
    algorithm.modelId,
    algorithm.version,
    algorithm.manifestSha256,
  ];
  const id = (...what: string[]): string => deriveUuid('radiolens-fhir', ...what, ...key);
  const patientId = deriveUuid('radiolens-fhir-patient', record.studyInstanceUid);
  const studyId = deriveUuid('radiolens-fhir-imagingstudy', record.studyInstanceUid);
  const deviceId = deriveUuid(
    'radiolens-fhir-device',
    algorithm.modelId,
    algorithm.version,
    algorithm.manifestSha256,
  );
  const reportId = id('DiagnosticReport');
  const observationIds = record.findings.map((f) =>
    id('Observation', f.labelId, f.image.sopInstanceUid),
  );
  const ref = (uuid: string): Json => ({ reference: `urn:uuid:${uuid}` });
  const effective = record.performedAt.toISOString();

  const patient = patientResource(record, patientId);
  const device: Json = {
    resourceType: 'Device',
    id: deviceId,
    identifier: [
      { system: 'urn:radiolens:model-manifest-sha256', value: algorithm.manifestSha256 },
      { system: 'urn:radiolens:model-id', value: `${algorithm.modelId}@${algorithm.version}` },
    ],
    status: 'active',
    manufacturer: algorithm.manufacturer,
    deviceName: [
      { name: algorithm.name, type: 'manufacturer-name' },
      { name: algorithm.modelId, type: 'model-name' },
    ],
    modelNumber: algorithm.modelId,
    version: [{ value: algorithm.version }],
  };
  const imagingStudy = imagingStudyResource(record, studyId, ref(patientId), refs);
  const observations = record.findings.map((finding, i) =>
    observationResource(finding, observationIds[i]!, {
      subject: ref(patientId),
      device: ref(deviceId),
      study: ref(studyId),
      effective,
    }),
  );
  const report: Json = {
    resourceType: 'DiagnosticReport',
    id: reportId,
    ...(refs.srSopInstanceUid === undefined
      ? {}
      : { identifier: [{ system: 'urn:dicom:uid', value: oid(refs.srSopInstanceUid) }] }),
    status: 'preliminary',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v2-0074',
            code: 'RAD',
            display: 'Radiology',
          },
        ],
      },
    ],
    code: codeable(
      LN.diagnosticImagingStudy,
      `AI analysis by ${algorithm.name} ${algorithm.version}`,
    ),
    subject: ref(patientId),
    effectiveDateTime: effective,
    issued: effective,
    result: observationIds.map(ref),
    imagingStudy: [ref(studyId)],
    conclusion: conclusion(record),
  };

  const entries = [report, ...observations, device, imagingStudy, patient];
  return {
    resourceType: 'Bundle',
    id: id('Bundle'),
    type: 'collection',
    timestamp: effective,
    entry: entries.map((resource) => ({ fullUrl: `urn:uuid:${String(resource['id'])}`, resource })),
  };
}

function observationResource(
  finding: FindingResult,
  id: string,
  refs: { subject: Json; device: Json; study: Json; effective: string },
): Json {
  const percent = (p: number): number => Math.round(p * 10000) / 100;
  const ucumPercent = { unit: '%', system: 'http://unitsofmeasure.org', code: '%' };
  return {
    resourceType: 'Observation',
    id,
    status: 'preliminary',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'imaging',
            display: 'Imaging',
          },
        ],
      },
    ],
    code: codeable(finding.finding),
    subject: refs.subject,
    effectiveDateTime: refs.effective,
    // Presence at the operating point is the answer; probability and threshold qualify it.
    valueCodeableConcept: codeable(finding.present ? SCT.present : SCT.absent),
    component: [
      {
        code: codeable(DCM.certaintyOfFinding, 'Model probability'),
        valueQuantity: { value: percent(finding.probability), ...ucumPercent },
      },
      {
        code: codeable(RADIOLENS.operatingThreshold),
        valueQuantity: { value: percent(finding.threshold), ...ucumPercent },
      },
    ],
    device: refs.device,
    derivedFrom: [refs.study],
    note: [
      {
        text: `AI output for review by a radiologist, not a diagnosis. Image ${finding.image.sopInstanceUid}.`,
      },
    ],
  };
}

function patientResource(record: AnalysisRecord, id: string): Json {
  const source = primarySource(record).dataset;
  const patientId = stringValue(source['PatientID']);
  const issuer = stringValue(source['IssuerOfPatientID']);
  const name = humanName(source['PatientName']);
  const gender = { M: 'male', F: 'female', O: 'other' }[stringValue(source['PatientSex']) ?? ''];
  const birthDate = fhirDate(stringValue(source['PatientBirthDate']));
  return {
    resourceType: 'Patient',
    id,
    ...(patientId === undefined
      ? {}
      : {
          identifier: [
            {
              use: 'usual',
              // DICOM's Issuer of Patient ID is free text, not a URI: name it as the assigner.
              ...(issuer === undefined ? {} : { assigner: { display: issuer } }),
              value: patientId,
            },
          ],
        }),
    ...(name === undefined ? {} : { name: [name] }),
    ...(gender === undefined ? {} : { gender }),
    ...(birthDate === undefined ? {} : { birthDate }),
  };
}

function imagingStudyResource(
  record: AnalysisRecord,
  id: string,
  subject: Json,
  refs: { srSopInstanceUid?: string },
): Json {
  const source = primarySource(record).dataset;
  const bySeries = new Map<string, SourceImage[]>();
  for (const image of record.sources) {
    const list = bySeries.get(image.seriesInstanceUid) ?? [];
    if (!list.some((s) => s.sopInstanceUid === image.sopInstanceUid)) list.push(image);
    bySeries.set(image.seriesInstanceUid, list);
  }
  const dcmModality = (code: string): Json => ({ system: systemFor('DCM'), code });
  const series: Json[] = [...bySeries].map(([uid, images]) => ({
    uid,
    modality: dcmModality(stringValue(images[0]!.dataset['Modality']) ?? 'OT'),
    numberOfInstances: images.length,
    instance: images.map((image) => ({
      uid: image.sopInstanceUid,
      sopClass: { system: 'urn:ietf:rfc:3986', code: oid(image.sopClassUid) },
    })),
  }));
  if (refs.srSopInstanceUid !== undefined) {
    series.push({
      uid: resultSeriesUid(record, 'sr'),
      modality: dcmModality('SR'),
      description: 'AI findings (DICOM SR, TID 1500)',
      numberOfInstances: 1,
      instance: [
        {
          uid: refs.srSopInstanceUid,
          sopClass: { system: 'urn:ietf:rfc:3986', code: oid(COMPREHENSIVE_SR_STORAGE) },
        },
      ],
    });
  }
  const accession = stringValue(source['AccessionNumber']);
  const started = fhirDateTime(
    stringValue(source['StudyDate']),
    stringValue(source['StudyTime']),
    stringValue(source['TimezoneOffsetFromUTC']),
  );
  const description = stringValue(source['StudyDescription']);
  return {
    resourceType: 'ImagingStudy',
    id,
    identifier: [
      { system: 'urn:dicom:uid', value: oid(record.studyInstanceUid) },
      ...(accession === undefined
        ? []
        : [
            {
              type: {
                coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }],
              },
              value: accession,
            },
          ]),
    ],
    status: 'available',
    subject,
    ...(started === undefined ? {} : { started }),
    ...(description === undefined ? {} : { description }),
    numberOfSeries: series.length,
    numberOfInstances: series.reduce((n, s) => n + (s['numberOfInstances'] as number), 0),
    series,
  };
}

function conclusion(record: AnalysisRecord): string {
  const parts = record.findings.map(
    (f) =>
      `${f.finding.meaning}: ${f.present ? 'present' : 'absent'} (probability ${Math.round(f.probability * 1000) / 10}%, threshold ${Math.round(f.threshold * 1000) / 10}%)`,
  );
  const skipped = record.notAnalysed.map(
    (n) => `${n.image.sopInstanceUid} not analysed: ${n.reason}`,
  );
  return [
    `Preliminary AI output from ${record.algorithm.name} ${record.algorithm.version}, for review by a radiologist; not a diagnosis.`,
    ...parts,
    ...skipped,
  ].join(' ');
}

function stringValue(value: unknown): string | undefined {
  if (Array.isArray(value)) return stringValue(value[0]);
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** DICOM PN (string "Family^Given^Middle^Prefix^Suffix" or dcmjs {Alphabetic}) → HumanName. */
function humanName(value: unknown): Json | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  const alphabetic =
    typeof first === 'string'
      ? first
      : typeof first === 'object' && first !== null
        ? stringValue((first as Json)['Alphabetic'])
        : undefined;
  if (alphabetic === undefined || alphabetic.trim() === '') return undefined;
  const [family, given, middle, prefix, suffix] = alphabetic
    .split('=')[0]!
    .split('^')
    .map((p) => p.trim());
  const givenNames = [given, middle].filter((p): p is string => p !== undefined && p !== '');
  return {
    text: alphabetic.split('=')[0]!.replace(/\^+/g, ' ').trim(),
    ...(family ? { family } : {}),
    ...(givenNames.length > 0 ? { given: givenNames } : {}),
    ...(prefix ? { prefix: [prefix] } : {}),
    ...(suffix ? { suffix: [suffix] } : {}),
  };
}

function fhirDate(da: string | undefined): string | undefined {
  if (da === undefined || !/^\d{8}$/.test(da)) return undefined;
  return `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}`;
}

/**
 * DICOM DA + TM → FHIR dateTime. FHIR requires a zone when a time is given; DICOM times are
 * local with no zone unless Timezone Offset From UTC is present. Without one, guessing would
 * shift the study, so only the date is given.
 */
function fhirDateTime(
  da: string | undefined,
  tm: string | undefined,
  offset: string | undefined,
): string | undefined {
  const date = fhirDate(da);
  if (date === undefined || tm === undefined || offset === undefined) return date;
  const time = /^(\d{2})(\d{2})(\d{2})?/.exec(tm);
  const zone = /^([+-])(\d{2})(\d{2})$/.exec(offset);
  if (time === null || zone === null) return date;
  return `${date}T${time[1]}:${time[2]}:${time[3] ?? '00'}${zone[1]}${zone[2]}:${zone[3]}`;
}
