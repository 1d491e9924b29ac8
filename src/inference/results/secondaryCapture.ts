import { RadiolensError } from '../../foundation/core/index.js';
import { BytesFilledInPlace, encodeDicomPart10 } from '../../foundation/dicom/index.js';
import {
  assertValidRecord,
  contributingEquipment,
  generalEquipmentModule,
  patientAndStudyModules,
  sopCommonModule,
} from './commonModules.js';
import { dicomDate, dicomTime } from './dicomTime.js';
import { modelName, manufacturer, softwareVersion } from './fitting.js';
import { resultSeriesDescription, resultSeriesNumber } from './resultSeries.js';
import { sourceSize } from './findingRegion.js';
import { planOverlayRgb } from './overlay.js';
import { resultInstanceUid, resultSeriesUid } from './resultUids.js';
import type { AnalysisRecord, DisplayImage, FindingResult, Heatmap, SourceImage } from './types.js';

/** Secondary Capture Image Storage: one RGB frame is all an overlay needs. */
export const SECONDARY_CAPTURE_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';

export interface SecondaryCaptureInput {
  record: AnalysisRecord;
  image: SourceImage;
  display: DisplayImage;
  heatmap: Heatmap;
  findings: FindingResult[];
}

export interface SecondaryCapture {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/**
 * Secondary Capture of one source image with the heatmap blended in and an "AI output"
 * banner, the legend and the finding labels burned into a band across its top, in the source
 * study as a new series (ADR 0142). It has the source's Rows and Columns, pixel spacing and
 * Frame of Reference where the source has them, so a viewer can show it beside the source,
 * synchronised. Burned In Annotation (PS3.3 C.7.6.1.1.11) is about text that identifies the
 * patient and the date: the SC copies the source's pixels, so it is YES when the source says
 * YES; the text we burn in (banner, legend, finding labels) names neither, so it adds none.
 */
export function writeSecondaryCapture(input: SecondaryCaptureInput): SecondaryCapture {
  const { record, image, display, heatmap, findings } = input;
  assertValidRecord(record);
  if (!record.sources.some((s) => s.sopInstanceUid === image.sopInstanceUid)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `image ${image.sopInstanceUid} is not among the analysis record's sources: the overlay must derive from an analysed image`,
    );
  }
  const overlay = planOverlayRgb({
    display,
    heatmap,
    findings,
    sourceGrid: sourceSize(image),
  });
  const at = record.performedAt;
  const { algorithm } = record;
  const sopInstanceUid = resultInstanceUid(record, 'sc', image);
  const seriesInstanceUid = resultSeriesUid(record, 'sc');

  // The picture is drawn straight into the file's Pixel Data, not drawn and then copied
  // (12 MB at 2048²). DICOM values have even length; an odd pixel count in RGB gives an odd
  // byte count, and the pad byte stays 0.
  const pixelBytes = overlay.width * overlay.height * 3;
  const pixels = new BytesFilledInPlace(pixelBytes + (pixelBytes % 2), (into) =>
    overlay.renderInto(into.subarray(0, pixelBytes)),
  );

  const dataset = {
    ...sopCommonModule(SECONDARY_CAPTURE_IMAGE_STORAGE, sopInstanceUid, at),
    ...patientAndStudyModules(record),
    // General Series (C.7.3.1): OT, this is not an acquisition of the source modality.
    Modality: 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: resultSeriesNumber(algorithm, 'sc'),
    SeriesDate: dicomDate(at),
    SeriesTime: dicomTime(at),
    SeriesDescription: resultSeriesDescription(algorithm, 'sc'),
    ...lateralityAndBodyPart(image),
    ...sourceGeometry(image),
    ...generalEquipmentModule(algorithm),
    ...contributingEquipment(algorithm, at, record.contributors),
    // SC Equipment (C.8.6.1)
    ConversionType: 'WSD',
    SecondaryCaptureDeviceManufacturer: manufacturer(algorithm),
    SecondaryCaptureDeviceManufacturerModelName: modelName(algorithm),
    SecondaryCaptureDeviceSoftwareVersions: softwareVersion(algorithm),
    // General Image (C.7.6.1)
    InstanceNumber: 1,
    PatientOrientation: image.dataset['PatientOrientation'] ?? '',
    ContentDate: dicomDate(at),
    ContentTime: dicomTime(at),
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription:
      'Source image with AI heatmap (viridis) blended in; AI-output banner, legend and finding labels burned into a band across the top',
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: image.sopClassUid,
        ReferencedSOPInstanceUID: image.sopInstanceUid,
      },
    ],
    BurnedInAnnotation: image.dataset['BurnedInAnnotation'] === 'YES' ? 'YES' : 'NO',
    LossyImageCompression: '00',
    // Image Pixel (C.7.6.3)
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: overlay.height,
    Columns: overlay.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: pixels,
    _vrMap: { PixelData: 'OB' },
  };
  return { bytes: encodeDicomPart10(dataset), sopInstanceUid, seriesInstanceUid };
}

/**
 * Laterality (0020,0060) is Type 2C: present when the body part is paired. Copy the source's
 * value; with a known body part and no laterality leave it out (an unpaired part such as the
 * chest must not carry it); with neither, send it empty, which means "unknown".
 */
function lateralityAndBodyPart(image: SourceImage): Record<string, unknown> {
  const laterality = image.dataset['Laterality'];
  const bodyPart = image.dataset['BodyPartExamined'];
  const out: Record<string, unknown> = {};
  if (typeof bodyPart === 'string' && bodyPart !== '') out['BodyPartExamined'] = bodyPart;
  if (typeof laterality === 'string' && laterality !== '') out['Laterality'] = laterality;
  else if (out['BodyPartExamined'] === undefined) out['Laterality'] = '';
  return out;
}

/**
 * The source's geometry, so the SC overlays and synchronises with it: the same Rows and
 * Columns (the picture is rendered on the source grid), Pixel Spacing with its calibration
 * (SC Image Module, Basic Pixel Spacing Calibration Macro) and the Frame of Reference when
 * the source has them. Imager Pixel Spacing of a projection radiograph is not in the SC IOD
 * and is not turned into Pixel Spacing, which would claim a calibration nobody made.
 */
function sourceGeometry(image: SourceImage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of [
    'PixelSpacing',
    'PixelSpacingCalibrationType',
    'PixelSpacingCalibrationDescription',
    'FrameOfReferenceUID',
    'PositionReferenceIndicator',
  ]) {
    const value = image.dataset[key];
    if (value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0)) {
      out[key] = value;
    }
  }
  // The calibration type needs its description (Type 1C in the macro): both or neither.
  if (
    out['PixelSpacingCalibrationType'] === undefined ||
    out['PixelSpacingCalibrationDescription'] === undefined
  ) {
    delete out['PixelSpacingCalibrationType'];
    delete out['PixelSpacingCalibrationDescription'];
  }
  if (out['FrameOfReferenceUID'] !== undefined && out['PositionReferenceIndicator'] === undefined) {
    out['PositionReferenceIndicator'] = ''; // Type 2 in the Frame of Reference Module
  }
  return out;
}
