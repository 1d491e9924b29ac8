import { RadiolensError } from '../../foundation/core/index.js';
import { encodeDicomPart10 } from '../../foundation/dicom/index.js';
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
import { renderOverlayRgb } from './overlay.js';
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
 * Secondary Capture of one source image with the heatmap, legend, finding labels and an "AI
 * output" banner burned in, in the source study as a new series. Burned In Annotation is NO:
 * that attribute is about patient-identifying text, and none is drawn (PS3.3 C.7.6.1.1.11).
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
  const overlay = renderOverlayRgb({ display, heatmap, findings });
  const at = record.performedAt;
  const { algorithm } = record;
  const sopInstanceUid = resultInstanceUid(record, 'sc', image);
  const seriesInstanceUid = resultSeriesUid(record, 'sc');

  // DICOM values have even length; an odd pixel count in RGB gives an odd byte count.
  let pixels = overlay.rgb;
  if (pixels.length % 2 === 1) {
    pixels = new Uint8Array(overlay.rgb.length + 1);
    pixels.set(overlay.rgb);
  }

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
    ...generalEquipmentModule(algorithm),
    ...contributingEquipment(algorithm, at),
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
      'Source image with AI heatmap (viridis), legend, finding labels and AI-output banner burned in',
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: image.sopClassUid,
        ReferencedSOPInstanceUID: image.sopInstanceUid,
      },
    ],
    BurnedInAnnotation: 'NO',
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
