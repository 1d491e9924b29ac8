import { RadiolensError, isValidUid } from '../../foundation/core/index.js';
import { repertoireOf, textByteLength, textValueMaxLength } from '../../foundation/dicom/index.js';
import { codeItem, DCM } from './codes.js';
import { dicomDate, dicomTime, UTC_OFFSET } from './dicomTime.js';
import { manufacturer, modelName, shortened, softwareVersion } from './fitting.js';
import type {
  AlgorithmIdentity,
  AnalysisRecord,
  ContributingAlgorithm,
  DicomDataset,
  SourceImage,
} from './types.js';

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

/**
 * The VR of each attribute the results copy from the source. A source value longer than its
 * VR allows (the encoder's own table, foundation/dicom textValueMaxLength; PN per component
 * group) cannot be written into a valid result, and truncating a patient's name would misfile
 * the result, so the source is refused instead (issue #16).
 */
const COPIED_VR: Readonly<Record<string, string>> = {
  PatientName: 'PN',
  ReferringPhysicianName: 'PN',
  PatientID: 'LO',
  IssuerOfPatientID: 'LO',
  StudyDescription: 'LO',
  PatientSex: 'CS',
  PatientAge: 'AS',
  PatientBirthDate: 'DA',
  StudyDate: 'DA',
  StudyTime: 'TM',
  StudyID: 'SH',
  AccessionNumber: 'SH',
};

/**
 * Every result is written in UTF-8 (sopCommonModule's Specific Character Set), whatever the
 * source's: a copied value's length is its UTF-8 byte count, as the encoder checks it.
 */
const RESULTS_CHARACTER_SET = 'ISO_IR 192';
const RESULTS_REPERTOIRE = repertoireOf(RESULTS_CHARACTER_SET);

function personNameText(value: unknown): string[] {
  if (typeof value === 'string') return value.split('=');
  if (value !== null && typeof value === 'object') {
    return Object.values(value as Record<string, unknown>).map((v) => String(v ?? ''));
  }
  return [];
}

/**
 * Throws E_BAD_INPUT naming the first attribute the results would copy from `source` whose
 * value is longer than its VR allows.
 */
export function checkCopiedAttributes(source: DicomDataset, name: string): void {
  for (const [key, vr] of Object.entries(COPIED_VR)) {
    const max = textValueMaxLength(vr);
    const raw = source[key];
    if (raw === undefined || raw === null) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      const pieces = vr === 'PN' ? personNameText(value) : [String(value)];
      // Counted as the encoder will count them: in bytes of the results' repertoire.
      const longest = Math.max(
        0,
        ...pieces.map((piece) => textByteLength(piece, RESULTS_REPERTOIRE)),
      );
      if (max !== undefined && longest > max) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `${name} has a ${key} of ${longest} bytes in UTF-8; ${vr} allows at most ${max}${vr === 'PN' ? ' per component group' : ''} — results that copy it could not be valid DICOM; fix the source`,
          { subject: name },
        );
      }
    }
  }
}

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

/**
 * General Equipment (C.7.5.1): the equipment that created *this* object is the model. Model
 * name as fitting.ts's modelName (display name shortened, id and version whole).
 */
export function generalEquipmentModule(algorithm: AlgorithmIdentity): DicomDataset {
  return {
    Manufacturer: manufacturer(algorithm),
    ManufacturerModelName: modelName(algorithm),
    SoftwareVersions: softwareVersion(algorithm),
  };
}

/**
 * Contributing Equipment Sequence (0018,A001): names the algorithm that produced the
 * content, as IHE AI Results asks, so a PACS or viewer can tell AI output from acquisition —
 * and after it every other model the content depends on (ADR 0145).
 */
export function contributingEquipment(
  algorithm: AlgorithmIdentity,
  at: Date,
  contributors: readonly ContributingAlgorithm[] = [],
): DicomDataset {
  return {
    ContributingEquipmentSequence: [
      equipmentItem(algorithm, at, 'AI inference'),
      ...contributors.map((each) => equipmentItem(each.algorithm, at, `AI ${each.role}`)),
    ],
  };
}

function equipmentItem(algorithm: AlgorithmIdentity, at: Date, what: string): DicomDataset {
  return {
    PurposeOfReferenceCodeSequence: [codeItem(DCM.processingEquipment)],
    Manufacturer: manufacturer(algorithm),
    ManufacturerModelName: modelName(algorithm),
    SoftwareVersions: softwareVersion(algorithm),
    DeviceSerialNumber: algorithm.manifestSha256.slice(0, 64),
    ContributionDateTime: `${dicomDate(at)}${dicomTime(at)}${UTC_OFFSET}`,
    // ST holds 1024: the name is shortened there, never the id, version or hash.
    ContributionDescription: `${shortened(what, 200)} by ${shortened(algorithm.name, 600)} (${algorithm.modelId} ${algorithm.version}, manifest sha256 ${algorithm.manifestSha256})`,
  };
}

/** SOP Common (C.12.1) and the creation/content times, all from the analysis time. */
export function sopCommonModule(
  sopClassUid: string,
  sopInstanceUid: string,
  at: Date,
): DicomDataset {
  return {
    SpecificCharacterSet: RESULTS_CHARACTER_SET,
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
