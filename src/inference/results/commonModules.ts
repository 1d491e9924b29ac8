import { RadiolensError, isValidUid } from '../../foundation/core/index.js';
import { codeItem, DCM } from './codes.js';
import { dicomDate, dicomTime, UTC_OFFSET } from './dicomTime.js';
import type { AlgorithmIdentity, AnalysisRecord, DicomDataset, SourceImage } from './types.js';

/**
 * The modules every Radiolens result object shares. Results live in the source study
 * (ARCHITECTURE.md "Outputs"), so Patient and General Study are copied from the source, never
 * invented; a PACS files the object under the same patient and study.
 */

/** Patient Module (PS3.3 C.7.1.1) attributes copied; Type 2 ones present even when empty. */
const PATIENT_TYPE2 = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex'] as const;
const PATIENT_OPTIONAL = ['IssuerOfPatientID', 'OtherPatientIDsSequence', 'PatientAge'] as const;
/** General Study Module (PS3.3 C.7.2.1). */
const STUDY_TYPE2 = [
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
] as const;
const STUDY_OPTIONAL = ['StudyDescription', 'IssuerOfAccessionNumberSequence'] as const;

export function patientAndStudyModules(record: AnalysisRecord): DicomDataset {
  const source = primarySource(record).dataset;
  const out: DicomDataset = {};
  for (const key of [...PATIENT_TYPE2, ...STUDY_TYPE2]) out[key] = source[key] ?? '';
  for (const key of [...PATIENT_OPTIONAL, ...STUDY_OPTIONAL]) {
    if (source[key] !== undefined && source[key] !== '') out[key] = source[key];
  }
  out['StudyInstanceUID'] = record.studyInstanceUid;
  return out;
}

/** General Equipment (C.7.5.1): the equipment that created *this* object is Radiolens. */
export function generalEquipmentModule(algorithm: AlgorithmIdentity): DicomDataset {
  return {
    Manufacturer: algorithm.manufacturer,
    ManufacturerModelName: algorithm.modelId,
    SoftwareVersions: algorithm.version,
  };
}

/**
 * Contributing Equipment Sequence (0018,A001): names the algorithm that produced the
 * content, as IHE AI Results asks, so a PACS or viewer can tell AI output from acquisition.
 */
export function contributingEquipment(algorithm: AlgorithmIdentity, at: Date): DicomDataset {
  return {
    ContributingEquipmentSequence: [
      {
        PurposeOfReferenceCodeSequence: [codeItem(DCM.processingEquipment)],
        Manufacturer: algorithm.manufacturer,
        // The model's name may be longer than LO allows (cxr-pneumonia 1.2.0's is 67).
        ManufacturerModelName: longString(algorithm.name),
        SoftwareVersions: algorithm.version,
        DeviceSerialNumber: algorithm.manifestSha256.slice(0, 64),
        ContributionDateTime: `${dicomDate(at)}${dicomTime(at)}${UTC_OFFSET}`,
        ContributionDescription: `AI inference by ${algorithm.modelId} ${algorithm.version} (manifest sha256 ${algorithm.manifestSha256})`,
      },
    ],
  };
}

/** SOP Common (C.12.1) and the creation/content times, all from the analysis time. */
export function sopCommonModule(
  sopClassUid: string,
  sopInstanceUid: string,
  at: Date,
): DicomDataset {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: dicomDate(at),
    InstanceCreationTime: dicomTime(at),
    TimezoneOffsetFromUTC: UTC_OFFSET,
  };
}

export function primarySource(record: AnalysisRecord): SourceImage {
  const first = record.sources[0];
  if (first === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `analysis record for study ${record.studyInstanceUid} has no source images: results must reference the images they were computed from`,
    );
  }
  return first;
}

/**
 * Check the record before writing: a result object with a wrong study UID or a probability
 * outside 0…1 would be filed under the wrong patient or mislead a reader.
 */
export function assertValidRecord(record: AnalysisRecord): void {
  const fail = (message: string): never => {
    throw new RadiolensError('E_BAD_INPUT', `analysis record: ${message}`, {
      subject: record.studyInstanceUid,
    });
  };
  if (!isValidUid(record.studyInstanceUid)) {
    fail(`StudyInstanceUID "${record.studyInstanceUid}" is not a valid UID`);
  }
  primarySource(record);
  for (const source of record.sources) {
    const studyUid = source.dataset['StudyInstanceUID'];
    if (studyUid !== undefined && studyUid !== record.studyInstanceUid) {
      fail(
        `source ${source.sopInstanceUid} belongs to study ${String(studyUid)}, not ${record.studyInstanceUid}: results are written into one study — split the record per study`,
      );
    }
    for (const uid of [source.sopClassUid, source.sopInstanceUid, source.seriesInstanceUid]) {
      if (!isValidUid(uid)) fail(`source image UID "${uid}" is not a valid UID`);
    }
  }
  const sourceUids = new Set(record.sources.map((s) => s.sopInstanceUid));
  for (const finding of record.findings) {
    for (const [name, value] of [
      ['probability', finding.probability],
      ['threshold', finding.threshold],
    ] as const) {
      if (!(Number.isFinite(value) && value >= 0 && value <= 1)) {
        fail(`finding ${finding.labelId} has ${name} ${value}, outside 0…1`);
      }
    }
    if (!sourceUids.has(finding.image.sopInstanceUid)) {
      fail(
        `finding ${finding.labelId} refers to image ${finding.image.sopInstanceUid}, which is not among the record's sources — add it to sources`,
      );
    }
  }
  if (Number.isNaN(record.performedAt.getTime())) fail('performedAt is not a valid date');
}

/**
 * LO is at most 64 characters; validators count bytes, so with UTF-8 (ISO_IR 192) a
 * non-ASCII character costs more than one. Truncate by encoded length and mark it with an
 * ASCII "...", keeping the start (a Series Description's "AI" prefix must survive).
 */
export function longString(value: string): string {
  const limit = 64;
  if (Buffer.byteLength(value, 'utf8') <= limit) return value;
  let kept = '';
  for (const char of value) {
    if (Buffer.byteLength(kept + char, 'utf8') > limit - 3) break;
    kept += char;
  }
  return `${kept}...`;
}
