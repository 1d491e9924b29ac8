import { createHash } from 'node:crypto';
import { shortened } from './fitting.js';
import type { CodedConcept } from './types.js';

/**
 * Every coded concept the writers emit, in one place so a reviewer can check them against
 * PS3.16 (DCM), SNOMED CT (SCT) and UCUM in one sitting. Names follow the code meaning.
 */
function code(scheme: string, value: string, meaning: string): CodedConcept {
  return { scheme, value, meaning };
}

/** Private coding scheme for concepts no standard terminology has (PS3.3 C.12.1.1.2). */
export const RADIOLENS_SCHEME = '99RADIOLENS';

export const DCM = {
  imagingMeasurementReport: code('DCM', '126000', 'Imaging Measurement Report'),
  languageOfContent: code('DCM', '121049', 'Language of Content Item and Descendants'),
  observerType: code('DCM', '121005', 'Observer Type'),
  device: code('DCM', '121007', 'Device'),
  deviceObserverUid: code('DCM', '121012', 'Device Observer UID'),
  deviceObserverName: code('DCM', '121013', 'Device Observer Name'),
  deviceObserverManufacturer: code('DCM', '121014', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('DCM', '121015', 'Device Observer Model Name'),
  procedureReported: code('DCM', '121058', 'Procedure reported'),
  imageLibrary: code('DCM', '111028', 'Image Library'),
  imageLibraryGroup: code('DCM', '126200', 'Image Library Group'),
  modality: code('DCM', '121139', 'Modality'),
  imagingMeasurements: code('DCM', '126010', 'Imaging Measurements'),
  measurementGroup: code('DCM', '125007', 'Measurement Group'),
  trackingIdentifier: code('DCM', '112039', 'Tracking Identifier'),
  trackingUniqueIdentifier: code('DCM', '112040', 'Tracking Unique Identifier'),
  finding: code('DCM', '121071', 'Finding'),
  algorithmName: code('DCM', '111001', 'Algorithm Name'),
  algorithmVersion: code('DCM', '111003', 'Algorithm Version'),
  algorithmParameters: code('DCM', '111002', 'Algorithm Parameters'),
  /** TID 4104 row 12 / CID 6048: CAD likelihood, UCUM % 0–100. */
  certaintyOfFinding: code('DCM', '111012', 'Certainty of Finding'),
  sourceOfMeasurement: code('DCM', '121112', 'Source of Measurement'),
  /**
   * CID 7005 Contributing Equipment Purposes of Reference. IHE AI Results (Trial
   * Implementation) asks for "Processing Algorithm" but only under a placeholder code
   * (Newcode1, 99IHE); 109103 is "Modifying Equipment", not it. See ADR 0041.
   */
  processingEquipment: code('DCM', '109102', 'Processing Equipment'),
  /** TID 1410 row "Image Region": where on the image the finding is. */
  imageRegion: code('DCM', '111030', 'Image Region'),
  /** TID 1410/1411 "Visual Explanation": an image that shows what drove the result. */
  visualExplanation: code('DCM', '130401', 'Visual Explanation'),
  /** CID 7202 Source Image Purposes of Reference. */
  sourceImageForProcessing: code('DCM', '121322', 'Source image for image processing operation'),
  /** CID 4031 Common Anatomic Regions. */
  chest: code('SCT', '51185008', 'Chest'),
  computedRadiography: code('DCM', 'CR', 'Computed Radiography'),
  digitalRadiography: code('DCM', 'DX', 'Digital Radiography'),
} as const;

export const SCT = {
  present: code('SCT', '52101004', 'Present'),
  absent: code('SCT', '2667000', 'Absent'),
  /** CID 100's generic member: the only one that fits a projection radiograph. */
  imagingProcedure: code('SCT', '363679005', 'Imaging procedure'),
} as const;

export const LN = {
  diagnosticImagingStudy: code('LN', '18748-4', 'Diagnostic imaging study'),
} as const;

export const UCUM = {
  percent: code('UCUM', '%', 'Percent'),
  noUnits: code('UCUM', '1', 'no units'),
} as const;

export const RFC5646 = {
  english: code('RFC5646', 'en', 'English'),
} as const;

export const RADIOLENS = {
  operatingThreshold: code(RADIOLENS_SCHEME, 'OPTHRESH', 'Operating point threshold'),
  /** Derivation Code (CID 7203 has no concept for a class activation map; it is extensible). */
  gradCam: code(RADIOLENS_SCHEME, 'GRADCAM', 'Grad-CAM class activation map'),
  /** Share of the heatmap's energy inside the lung field (ADR 0161). */
  heatmapEnergyInLungs: code(RADIOLENS_SCHEME, 'HMLUNGS', 'Heatmap energy inside lung field'),
} as const;

/**
 * "Probability of <finding>" (99RADIOLENS), the model's probability for one finding as a
 * concept of its own (ADR 0144). A viewer that labels a region only by its NUM items' concept
 * names — OHIF's SR extension draws "<Code Meaning>: <value> <unit>" — then names the finding
 * beside the number; "Certainty of Finding" (111012, DCM) stays for readers of the standard.
 * One code per finding code, the same whatever model reports it: "PROB" and the first 12 hex
 * digits of SHA-256("<scheme>:<value>") of the finding's code (SH holds 16 characters, an SCT
 * id alone up to 18). The meaning is fitted to LO's 64 bytes by the free-text rule (ADR 0140).
 */
export function probabilityOf(finding: CodedConcept): CodedConcept {
  const digest = createHash('sha256').update(`${finding.scheme}:${finding.value}`).digest('hex');
  return code(
    RADIOLENS_SCHEME,
    `PROB${digest.slice(0, 12).toUpperCase()}`,
    shortened(`Probability of ${finding.meaning}`),
  );
}

/** Coding Scheme Identification Sequence item declaring our private scheme (PS3.3 C.12.1). */
export const RADIOLENS_CODING_SCHEME_IDENTIFICATION = {
  CodingSchemeDesignator: RADIOLENS_SCHEME,
  CodingSchemeName: 'Radiolens private concepts',
  CodingSchemeResponsibleOrganization: 'Radiolens project',
};

/** A Code Sequence item (PS3.3 Table 8.8-1 Basic Code Sequence Macro). */
export function codeItem(concept: CodedConcept): Record<string, unknown> {
  return {
    CodeValue: concept.value,
    CodingSchemeDesignator: concept.scheme,
    CodeMeaning: concept.meaning,
  };
}
