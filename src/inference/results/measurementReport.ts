import { encodeDicomPart10 } from '../../foundation/dicom/index.js';
import {
  DCM,
  RADIOLENS,
  RADIOLENS_CODING_SCHEME_IDENTIFICATION,
  RFC5646,
  SCT,
  UCUM,
  codeItem,
  probabilityOf,
} from './codes.js';
import {
  assertValidRecord,
  contributingEquipment,
  generalEquipmentModule,
  patientAndStudyModules,
  sopCommonModule,
} from './commonModules.js';
import {
  codeValue,
  container,
  image,
  num,
  scoord,
  text,
  uidRef,
  type ContentItem,
} from './contentItems.js';
import { dicomDate, dicomTime } from './dicomTime.js';
import { wholeImageRegion } from './findingRegion.js';
import { resultSeriesDescription, resultSeriesNumber } from './resultSeries.js';
import {
  deviceObserverUid,
  resultInstanceUid,
  resultSeriesUid,
  trackingUid,
} from './resultUids.js';
import type {
  AnalysisRecord,
  CodedConcept,
  DicomDataset,
  FindingResult,
  SourceImage,
} from './types.js';

/** Comprehensive SR Storage: NUM, CODE, IMAGE and by-value nesting are all TID 1500 needs. */
export const COMPREHENSIVE_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.33';

export interface MeasurementReport {
  dataset: DicomDataset;
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/**
 * TID 1500 Imaging Measurement Report: one Measurement Group (TID 1501) per finding, with the
 * algorithm as a device observer (TID 1002/1004) and identified per group (TID 4019), the
 * source images in an Image Library (TID 1600), in the source study as a new SR series.
 * Verification Flag UNVERIFIED: no person has signed this; it is input for a radiologist.
 */
export function writeMeasurementReport(record: AnalysisRecord): MeasurementReport {
  assertValidRecord(record);
  const at = record.performedAt;
  const sopInstanceUid = resultInstanceUid(record, 'sr');
  const seriesInstanceUid = resultSeriesUid(record, 'sr');
  const { algorithm } = record;

  const dataset: DicomDataset = {
    ...sopCommonModule(COMPREHENSIVE_SR_STORAGE, sopInstanceUid, at),
    ...patientAndStudyModules(record),
    // SR Document Series Module (C.17.1)
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: resultSeriesNumber(algorithm, 'sr'),
    SeriesDate: dicomDate(at),
    SeriesTime: dicomTime(at),
    SeriesDescription: resultSeriesDescription(algorithm, 'sr'),
    ReferencedPerformedProcedureStepSequence: [],
    ...generalEquipmentModule(algorithm),
    ...contributingEquipment(algorithm, at, record.contributors),
    // SR Document General Module (C.17.2)
    InstanceNumber: 1,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: dicomDate(at),
    ContentTime: dicomTime(at),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: evidence(record),
    ...pertinentOtherEvidence(record),
    CodingSchemeIdentificationSequence: [RADIOLENS_CODING_SCHEME_IDENTIFICATION],
    // SR Document Content Module (C.17.3): the root content item
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [codeItem(DCM.imagingMeasurementReport)],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      // TID 1204 Language of Content Item and Descendants
      codeValue('HAS CONCEPT MOD', DCM.languageOfContent, RFC5646.english),
      // TID 1001 → TID 1002 Observer Context → TID 1004 Device Observer
      codeValue('HAS OBS CONTEXT', DCM.observerType, DCM.device),
      uidRef('HAS OBS CONTEXT', DCM.deviceObserverUid, deviceObserverUid(algorithm)),
      text('HAS OBS CONTEXT', DCM.deviceObserverName, algorithm.name),
      text('HAS OBS CONTEXT', DCM.deviceObserverManufacturer, algorithm.manufacturer),
      text('HAS OBS CONTEXT', DCM.deviceObserverModelName, algorithm.modelId),
      codeValue('HAS CONCEPT MOD', DCM.procedureReported, procedureReported()),
      imageLibrary(record.sources),
      container(
        'CONTAINS',
        DCM.imagingMeasurements,
        record.findings.map((finding) => measurementGroup(record, finding)),
      ),
    ],
  };
  return {
    dataset,
    bytes: encodeDicomPart10(dataset),
    sopInstanceUid,
    seriesInstanceUid,
  };
}

/** Percent with two decimals: DS allows 16 characters, readers need no more precision. */
export function percent(probability: number): string {
  return String(Math.round(probability * 10000) / 100);
}

/**
 * TID 1410 Planar ROI Measurements and Qualitative Evaluations for one finding (ADR 0141):
 * the finding's image region on the source image (SCOORD, TID 1410 row "Image Region"), the
 * heatmap objects as Visual Explanation, the probability as a measurement — under a concept
 * naming the finding and as Certainty of Finding (ADR 0144).
 */
function measurementGroup(record: AnalysisRecord, finding: FindingResult): ContentItem {
  const { algorithm } = record;
  const presence = finding.present ? SCT.present : SCT.absent;
  const region = finding.explanation?.region ?? wholeImageRegion(finding.image);
  const explanations = [
    finding.explanation?.secondaryCapture,
    finding.explanation?.parametricMap,
  ].flatMap((ref) =>
    ref === undefined
      ? []
      : [image('CONTAINS', DCM.visualExplanation, ref.sopClassUid, ref.sopInstanceUid)],
  );
  return container('CONTAINS', DCM.measurementGroup, [
    // Tracking Identifier: the finding's name first, then the model version, for readers of the
    // content tree. OHIF keeps it but does not draw it; it draws the NUM items below (ADR 0144).
    text(
      'HAS OBS CONTEXT',
      DCM.trackingIdentifier,
      `${finding.finding.meaning} (${algorithm.modelId} ${algorithm.version})`,
    ),
    uidRef(
      'HAS OBS CONTEXT',
      DCM.trackingUniqueIdentifier,
      trackingUid(record, finding.labelId, finding.image),
    ),
    codeValue('CONTAINS', DCM.finding, finding.finding),
    // TID 4019 Algorithm Identification
    text('HAS CONCEPT MOD', DCM.algorithmName, algorithm.name),
    text('HAS CONCEPT MOD', DCM.algorithmVersion, algorithm.version),
    text('HAS CONCEPT MOD', DCM.algorithmParameters, `model id ${algorithm.modelId}`),
    text('HAS CONCEPT MOD', DCM.algorithmParameters, `manifest sha256 ${algorithm.manifestSha256}`),
    text(
      'HAS CONCEPT MOD',
      DCM.algorithmParameters,
      `operating threshold ${finding.threshold}; present if probability >= threshold`,
    ),
    text('HAS CONCEPT MOD', DCM.algorithmParameters, `image region: ${regionBasis(region.basis)}`),
    scoord(
      'CONTAINS',
      DCM.imageRegion,
      region.graphicType,
      region.points,
      finding.image.sopClassUid,
      finding.image.sopInstanceUid,
    ),
    ...explanations,
    // TID 300 Measurement: the model's probability, inferred from the analysed image — first
    // under a concept that names the finding, which is what OHIF draws at the region ("Probability
    // of Pneumonia: 87.31 %"), then as the standard's Certainty of Finding (ADR 0144).
    ...[probabilityOf(finding.finding), DCM.certaintyOfFinding].map((concept) =>
      num('CONTAINS', concept, percent(finding.probability), UCUM.percent, [
        image(
          'INFERRED FROM',
          DCM.sourceOfMeasurement,
          finding.image.sopClassUid,
          finding.image.sopInstanceUid,
        ),
      ]),
    ),
    num('CONTAINS', RADIOLENS.operatingThreshold, percent(finding.threshold), UCUM.percent),
    // Where the heatmap's evidence lies: its energy inside the lung field (ADR 0161).
    ...(finding.heatmapInLungs?.energyInside == null
      ? []
      : [
          num(
            'CONTAINS',
            RADIOLENS.heatmapEnergyInLungs,
            percent(finding.heatmapInLungs.energyInside),
            UCUM.percent,
          ),
        ]),
    // Qualitative evaluation: the finding's presence at the operating point
    codeValue('CONTAINS', finding.finding, presence),
  ]);
}

function regionBasis(basis: 'hottest-region' | 'hottest-point' | 'whole-image'): string {
  if (basis === 'hottest-region')
    return 'heatmap region at >= 50% of its maximum containing the maximum';
  if (basis === 'hottest-point') return 'heatmap maximum (no region stands out)';
  return 'whole image (no heatmap explains this finding)';
}

/** TID 1600 Image Library: every source image, with its modality (TID 1602) when coded. */
function imageLibrary(sources: readonly SourceImage[]): ContentItem {
  const entries = sources.map((source) => {
    const modality = modalityCode(source.dataset['Modality']);
    return image(
      'CONTAINS',
      undefined,
      source.sopClassUid,
      source.sopInstanceUid,
      modality === undefined ? [] : [codeValue('HAS ACQ CONTEXT', DCM.modality, modality)],
    );
  });
  return container('CONTAINS', DCM.imageLibrary, [
    container('CONTAINS', DCM.imageLibraryGroup, entries),
  ]);
}

function modalityCode(modality: unknown): CodedConcept | undefined {
  if (modality === 'CR') return DCM.computedRadiography;
  if (modality === 'DX') return DCM.digitalRadiography;
  return undefined;
}

/**
 * Procedure reported (121058), TID 1500 row 4, DCID 100 "Quantitative Diagnostic Imaging
 * Procedures". CID 100 has no chest radiograph concept (its members are MR, CT, PET and NM
 * procedures and the generic "Imaging procedure"); the generic member is used for every
 * source, and the projection radiograph is told by the Image Library's Modality (TID 1602)
 * and the study itself (ADR 0143). A code outside the group — "Plain chest X-ray", or the
 * source's own Procedure Code — was flagged by PixelMed's DicomSRValidator.
 */
function procedureReported(): CodedConcept {
  return SCT.imagingProcedure;
}

/**
 * Pertinent Other Evidence (C.17.2.3): the heatmap objects the content references, which are
 * not evidence the report was made from but must be listed with the instances referenced.
 */
function pertinentOtherEvidence(record: AnalysisRecord): DicomDataset {
  const bySeries = new Map<string, { sopClassUid: string; sopInstanceUid: string }[]>();
  for (const finding of record.findings) {
    for (const [kind, ref] of [
      ['sc', finding.explanation?.secondaryCapture],
      ['pm', finding.explanation?.parametricMap],
    ] as const) {
      if (ref === undefined) continue;
      const series = resultSeriesUid(record, kind);
      const list = bySeries.get(series) ?? [];
      if (!list.some((r) => r.sopInstanceUid === ref.sopInstanceUid)) list.push(ref);
      bySeries.set(series, list);
    }
  }
  if (bySeries.size === 0) return {};
  return {
    PertinentOtherEvidenceSequence: [
      {
        StudyInstanceUID: record.studyInstanceUid,
        ReferencedSeriesSequence: [...bySeries].map(([seriesUid, refs]) => ({
          SeriesInstanceUID: seriesUid,
          ReferencedSOPSequence: refs.map((r) => ({
            ReferencedSOPClassUID: r.sopClassUid,
            ReferencedSOPInstanceUID: r.sopInstanceUid,
          })),
        })),
      },
    ],
  };
}

/** Current Requested Procedure Evidence: every instance the report references (C.17.2.3). */
function evidence(record: AnalysisRecord): DicomDataset[] {
  const bySeries = new Map<string, SourceImage[]>();
  for (const source of record.sources) {
    const list = bySeries.get(source.seriesInstanceUid) ?? [];
    if (!list.some((s) => s.sopInstanceUid === source.sopInstanceUid)) list.push(source);
    bySeries.set(source.seriesInstanceUid, list);
  }
  return [
    {
      StudyInstanceUID: record.studyInstanceUid,
      ReferencedSeriesSequence: [...bySeries].map(([seriesUid, images]) => ({
        SeriesInstanceUID: seriesUid,
        ReferencedSOPSequence: images.map((s) => ({
          ReferencedSOPClassUID: s.sopClassUid,
          ReferencedSOPInstanceUID: s.sopInstanceUid,
        })),
      })),
    },
  ];
}
