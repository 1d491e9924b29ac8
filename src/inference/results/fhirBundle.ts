import { createHash } from 'node:crypto';
import { RadiolensError } from '../../foundation/core/index.js';
import { dicomArtifacts, type ResultArtifact } from './artifacts.js';
import { DCM, LN, RADIOLENS, SCT } from './codes.js';
import { assertValidRecord, primarySource } from './commonModules.js';
import { COMPREHENSIVE_SR_STORAGE } from './measurementReport.js';
import { resultSeriesUid, trackingUid } from './resultUids.js';
import type { AnalysisRecord, CodedConcept, FindingResult, SourceImage } from './types.js';

export interface FhirBundleOptions {
  /** The SR's SOP Instance UID: the DiagnosticReport's identifier. */
  srSopInstanceUid?: string;
  /**
   * Every artifact written for the study (ADR 0150), paths relative to the folder the bundle
   * is written in and '/'-separated: each DICOM one becomes an instance of its series in the
   * ImagingStudy, each heatmap PNG a Media resource whose content.url is that path. Without
   * it only the SR named by `srSopInstanceUid` is listed.
   */
  artifacts?: readonly ResultArtifact[];
  /**
   * The site's patient identifier system (an absolute URI, e.g. urn:oid:1.2.3 or
   * https://hospital.example/mrn), used when the source names no issuer as a URI, OID or UUID
   * in Issuer of Patient ID Qualifiers (ADR 0152).
   */
  patientIdentifierSystem?: string;
}

/** An absolute URI, as FHIR's Identifier.system must be (RFC 3986 scheme, then anything). */
export function isAbsoluteUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value);
}

/** SNOMED CT body structures for DICOM Body Part Examined (CID 4031) values we know. */
const BODY_SITES: Record<string, CodedConcept> = {
  CHEST: { scheme: 'SCT', value: '51185008', meaning: 'Thoracic structure' },
};

/** Device.type: the model is software (SNOMED CT 706689003 |Application program software|). */
const SOFTWARE_DEVICE: CodedConcept = {
  scheme: 'SCT',
  value: '706689003',
  meaning: 'Application program software',
};

const TRACKING_UID_TYPE: CodedConcept = {
  scheme: 'DCM',
  value: '112040',
  meaning: 'Tracking Unique Identifier',
};

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

export function buildFhirBundle(record: AnalysisRecord, refs: FhirBundleOptions): Json {
  assertValidRecord(record);
  if (refs.patientIdentifierSystem !== undefined && !isAbsoluteUri(refs.patientIdentifierSystem)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `patient identifier system "${refs.patientIdentifierSystem}" is not an absolute URI — give one such as urn:oid:1.2.3.4 or https://hospital.example/patient-id`,
    );
  }
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

  const patient = patientResource(record, patientId, refs.patientIdentifierSystem);
  const bodySite = bodySiteOf(primarySource(record));
  // Each analysed image as data: a Media resource identified by its SOP Instance UID (R4 has
  // no instance-level reference into an ImagingStudy; ImagingSelection is R5).
  const imageMedia = new Map(
    uniqueSources(record).map((image) => [
      image.sopInstanceUid,
      sourceImageMedia(image, id('Media', image.sopInstanceUid), ref(patientId)),
    ]),
  );
  const heatmapMedia = (refs.artifacts ?? [])
    .filter((artifact) => artifact.kind === 'heatmap-png' && artifact.heatmap !== undefined)
    .map((artifact) =>
      heatmapMediaResource(record, artifact, {
        id: id('Media', 'heatmap', artifact.sourceSopInstanceUid ?? '', artifact.heatmap!.labelId),
        subject: ref(patientId),
        device: ref(deviceId),
        bodySite,
      }),
    );
  const heatmapFor = (finding: FindingResult): Json | undefined =>
    heatmapMedia.find(
      (media) => media.source === finding.image.sopInstanceUid && media.labelId === finding.labelId,
    )?.resource;
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
    type: codeable(SOFTWARE_DEVICE, 'AI algorithm (software)'),
    version: [{ value: algorithm.version }],
  };
  const imagingStudy = imagingStudyResource(record, studyId, ref(patientId), refs);
  const observations = record.findings.map((finding, i) => {
    const heatmap = heatmapFor(finding);
    const image = imageMedia.get(finding.image.sopInstanceUid)!;
    return observationResource(finding, observationIds[i]!, {
      subject: ref(patientId),
      device: ref(deviceId),
      derivedFrom: [
        ref(studyId),
        ref(String(image['id'])),
        ...(heatmap === undefined ? [] : [ref(String(heatmap['id']))]),
      ],
      trackingUid: trackingUid(record, finding.labelId, finding.image),
      bodySite,
      effective,
    });
  });
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
    ...(heatmapMedia.length === 0
      ? {}
      : {
          media: heatmapMedia.map((media) => ({
            comment: media.title,
            link: ref(String(media.resource['id'])),
          })),
        }),
    conclusion: conclusion(record),
  };

  const entries = [
    report,
    ...observations,
    device,
    imagingStudy,
    patient,
    ...imageMedia.values(),
    ...heatmapMedia.map((media) => media.resource),
  ];
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
  refs: {
    subject: Json;
    device: Json;
    derivedFrom: Json[];
    trackingUid: string;
    bodySite: CodedConcept | undefined;
    effective: string;
  },
): Json {
  const percent = (p: number): number => Math.round(p * 10000) / 100;
  const ucumPercent = { unit: '%', system: 'http://unitsofmeasure.org', code: '%' };
  return {
    resourceType: 'Observation',
    id,
    // The finding's Tracking Unique Identifier in the SR (TID 1501): the same finding in both.
    identifier: [
      {
        type: codeable(TRACKING_UID_TYPE),
        system: 'urn:dicom:uid',
        value: oid(refs.trackingUid),
      },
    ],
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
    ...(refs.bodySite === undefined ? {} : { bodySite: codeable(refs.bodySite) }),
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
    // The study, the analysed image (Media) and the finding's heatmap (Media), as data.
    derivedFrom: refs.derivedFrom,
    note: [
      {
        text: `AI output for review by a radiologist, not a diagnosis. Image ${finding.image.sopInstanceUid}.`,
      },
    ],
  };
}

function patientResource(record: AnalysisRecord, id: string, siteSystem: string | undefined): Json {
  const source = primarySource(record).dataset;
  const patientId = stringValue(source['PatientID']);
  const issuer = stringValue(source['IssuerOfPatientID']);
  const system = issuerSystem(source) ?? siteSystem;
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
              type: {
                coding: [
                  {
                    system: 'http://terminology.hl7.org/CodeSystem/v2-0203',
                    code: 'MR',
                    display: 'Medical record number',
                  },
                ],
              },
              // Matching needs a system: the issuer's universal id, else the site's (ADR 0152).
              ...(system === undefined ? {} : { system }),
              value: patientId,
              // DICOM's Issuer of Patient ID is free text, not a URI: name it as the assigner.
              ...(issuer === undefined ? {} : { assigner: { display: issuer } }),
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
  refs: FhirBundleOptions,
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
    ...seriesNumber(images[0]!.dataset['SeriesNumber']),
    modality: dcmModality(stringValue(images[0]!.dataset['Modality']) ?? 'OT'),
    ...(stringValue(images[0]!.dataset['SeriesDescription']) === undefined
      ? {}
      : { description: stringValue(images[0]!.dataset['SeriesDescription']) }),
    numberOfInstances: images.length,
    ...bodySiteCoding(images[0]!),
    instance: images.map((image) => ({
      uid: image.sopInstanceUid,
      sopClass: { system: 'urn:ietf:rfc:3986', code: oid(image.sopClassUid) },
    })),
  }));
  const written = dicomArtifacts(refs.artifacts ?? []);
  if (written.length > 0) {
    // Every DICOM object Radiolens wrote, by its series, as the PACS will hold them.
    const resultSeries = new Map<string, typeof written>();
    for (const artifact of written) {
      const list = resultSeries.get(artifact.dicom.seriesInstanceUid) ?? [];
      list.push(artifact);
      resultSeries.set(artifact.dicom.seriesInstanceUid, list);
    }
    for (const [uid, artifacts] of resultSeries) {
      const first = artifacts[0]!.dicom;
      series.push({
        uid,
        ...seriesNumber(first.seriesNumber),
        modality: dcmModality(first.modality),
        description:
          RESULT_SERIES_DESCRIPTION[artifacts[0]!.kind] ?? `AI results (${first.modality})`,
        numberOfInstances: artifacts.length,
        instance: artifacts.map((artifact) => ({
          uid: artifact.dicom.sopInstanceUid,
          sopClass: { system: 'urn:ietf:rfc:3986', code: oid(artifact.dicom.sopClassUid) },
        })),
      });
    }
  } else if (refs.srSopInstanceUid !== undefined) {
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

const RESULT_SERIES_DESCRIPTION: Partial<Record<ResultArtifact['kind'], string>> = {
  sr: 'AI findings (DICOM SR, TID 1500)',
  sc: 'AI heatmap overlay (Secondary Capture), not for diagnosis',
};

/**
 * The patient identifier's system from Issuer of Patient ID Qualifiers (0010,0024): its
 * Universal Entity ID (0040,0032) as a URI when its type (0040,0033) says how — ISO (an OID),
 * UUID or URI. Other types (DNS, EUI64, X400, X500) and free text give none.
 */
export function issuerSystem(dataset: Record<string, unknown>): string | undefined {
  const sequence = dataset['IssuerOfPatientIDQualifiersSequence'];
  const item = (Array.isArray(sequence) ? sequence[0] : undefined) as Json | undefined;
  if (item === undefined) return undefined;
  const id = stringValue(item['UniversalEntityID']);
  const type = stringValue(item['UniversalEntityIDType'])?.toUpperCase();
  if (id === undefined) return undefined;
  if (type === 'ISO' && /^[0-2](\.(0|[1-9][0-9]*))+$/.test(id)) return oid(id);
  if (
    type === 'UUID' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
  ) {
    return `urn:uuid:${id.toLowerCase()}`;
  }
  if (type === 'URI' && isAbsoluteUri(id)) return id;
  return undefined;
}

function seriesNumber(value: unknown): Json {
  const number = Number(Array.isArray(value) ? value[0] : value);
  return Number.isInteger(number) && number >= 0 ? { number } : {};
}

function bodySiteOf(image: SourceImage): CodedConcept | undefined {
  const part = stringValue(image.dataset['BodyPartExamined'])?.toUpperCase();
  return part === undefined ? undefined : BODY_SITES[part];
}

function bodySiteCoding(image: SourceImage): Json {
  const site = bodySiteOf(image);
  return site === undefined ? {} : { bodySite: coding(site) };
}

/** Each analysed image once, in the record's order. */
function uniqueSources(record: AnalysisRecord): SourceImage[] {
  const seen = new Set<string>();
  return record.sources.filter((image) => {
    if (seen.has(image.sopInstanceUid)) return false;
    seen.add(image.sopInstanceUid);
    return true;
  });
}

function sourceImageMedia(image: SourceImage, id: string, subject: Json): Json {
  const rows = Number(image.dataset['Rows']);
  const columns = Number(image.dataset['Columns']);
  const modality = stringValue(image.dataset['Modality']);
  const site = bodySiteOf(image);
  return {
    resourceType: 'Media',
    id,
    identifier: [
      { system: 'urn:dicom:uid', value: oid(image.sopInstanceUid) },
      { system: 'urn:dicom:uid', value: oid(image.seriesInstanceUid), use: 'secondary' },
    ],
    status: 'completed',
    type: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/media-type',
          code: 'image',
          display: 'Image',
        },
      ],
    },
    ...(modality === undefined
      ? {}
      : { modality: { coding: [{ system: systemFor('DCM'), code: modality }] } }),
    subject,
    ...(site === undefined ? {} : { bodySite: codeable(site) }),
    ...(Number.isInteger(rows) && rows > 0 ? { height: rows } : {}),
    ...(Number.isInteger(columns) && columns > 0 ? { width: columns } : {}),
    content: {
      contentType: 'application/dicom',
      title: `Analysed image, SOP Instance UID ${image.sopInstanceUid}`,
    },
  };
}

function heatmapMediaResource(
  record: AnalysisRecord,
  artifact: ResultArtifact,
  refs: { id: string; subject: Json; device: Json; bodySite: CodedConcept | undefined },
): { resource: Json; source: string; labelId: string; title: string } {
  const info = artifact.heatmap!;
  const finding = record.findings.find(
    (f) => f.labelId === info.labelId && f.image.sopInstanceUid === artifact.sourceSopInstanceUid,
  );
  const what = finding?.finding.meaning ?? info.labelId;
  const title = `AI heatmap (${info.method}) for ${what} on image ${artifact.sourceSopInstanceUid ?? ''}`;
  return {
    source: artifact.sourceSopInstanceUid ?? '',
    labelId: info.labelId,
    title,
    resource: {
      resourceType: 'Media',
      id: refs.id,
      status: 'completed',
      type: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/media-type',
            code: 'image',
            display: 'Image',
          },
        ],
      },
      subject: refs.subject,
      device: refs.device,
      ...(refs.bodySite === undefined ? {} : { bodySite: codeable(refs.bodySite) }),
      height: info.height,
      width: info.width,
      content: {
        contentType: artifact.mediaType,
        url: artifact.path,
        ...(info.size === undefined ? {} : { size: info.size }),
        title,
      },
      note: [
        {
          text: `16-bit greyscale PNG at the image's size, linear in the heatmap with its maximum (${info.maxRaw}) at 65535; SHA-256 ${info.sha256}. AI output, not a diagnosis.`,
        },
      ],
    },
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
