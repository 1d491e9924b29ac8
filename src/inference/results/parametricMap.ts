import { deriveUid, RadiolensError } from '../../foundation/core/index.js';
import { BytesFilledInPlace, encodeDicomPart10 } from '../../foundation/dicom/index.js';
import { codeItem, DCM, RADIOLENS, RADIOLENS_CODING_SCHEME_IDENTIFICATION, UCUM } from './codes.js';
import {
  assertValidRecord,
  contributingEquipment,
  generalEquipmentModule,
  patientAndStudyModules,
  sopCommonModule,
} from './commonModules.js';
import { dicomDate, dicomTime } from './dicomTime.js';
import { sourceSize } from './findingRegion.js';
import { resultSeriesDescription, resultSeriesNumber } from './resultSeries.js';
import { shortened } from './fitting.js';
import { resultInstanceUid, resultSeriesUid } from './resultUids.js';
import type { AnalysisRecord, DicomDataset, FindingResult, Heatmap, SourceImage } from './types.js';

/** Typed-array views use the host's byte order; DICOM's here is little-endian. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parametric Map Storage (PS3.4 B.5): float pixel values with a real-world meaning. */
export const PARAMETRIC_MAP_STORAGE = '1.2.840.10008.5.1.4.1.1.30';

export interface ParametricMapInput {
  record: AnalysisRecord;
  image: SourceImage;
  heatmap: Heatmap;
  /** The finding whose heatmap this is (the image's most probable label). */
  finding: FindingResult;
}

export interface ParametricMap {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/**
 * The heatmap as a DICOM Parametric Map (PS3.3 A.75, ADR 0142): one frame of 32-bit floats
 * (Float Pixel Data), the map divided by its maximum so values are the relative contribution
 * 0…1, a Real World Value Mapping that says so, and the analysed image as Derivation Image
 * and in the Common Instance Reference. Tools that read quantitative maps (3D Slicer,
 * highdicom, dcmqi) get the values, not a picture.
 *
 * Geometry: the map covers the source image exactly, at the heatmap's resolution. It uses the
 * source's Frame of Reference, position and orientation when the source has them (CT, MR, …);
 * a projection radiograph has none, so the map gets a Frame of Reference of its own (derived
 * from the source's SOP Instance UID, so it is the same on a re-run) with the identity
 * orientation — the Parametric Map IOD requires one (Frame of Reference Module M).
 */
export function writeParametricMap(input: ParametricMapInput): ParametricMap {
  const { record, image, heatmap, finding } = input;
  assertValidRecord(record);
  if (!record.sources.some((s) => s.sopInstanceUid === image.sopInstanceUid)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `image ${image.sopInstanceUid} is not among the analysis record's sources: the parametric map must derive from an analysed image`,
    );
  }
  if (heatmap.data.length !== heatmap.width * heatmap.height || heatmap.width < 1) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `heatmap has ${heatmap.data.length} values for ${heatmap.width}×${heatmap.height}: pass the explainer's heatmap`,
    );
  }
  const at = record.performedAt;
  const { algorithm } = record;
  const sopInstanceUid = resultInstanceUid(record, 'pm', image);
  const seriesInstanceUid = resultSeriesUid(record, 'pm');
  const { rows, columns } = sourceSize(image);
  const scale = heatmap.max > 0 ? 1 / heatmap.max : 0;
  // The relative values are written straight into the file's Float Pixel Data (little-endian
  // float32), not into an array that the encoder then copies.
  const count = heatmap.data.length;
  const values = new BytesFilledInPlace(count * 4, (into) => {
    const data = heatmap.data;
    if (into.byteOffset % 4 === 0 && HOST_LITTLE_ENDIAN) {
      const floats = new Float32Array(into.buffer, into.byteOffset, count);
      for (let i = 0; i < count; i++) floats[i] = Math.max(0, data[i]! * scale);
      return;
    }
    const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
    for (let i = 0; i < count; i++) view.setFloat32(4 * i, Math.max(0, data[i]! * scale), true);
  });
  const source = image.dataset;
  const spacing = pixelSpacing(source);
  // The map's pixel spacing: the source's, times how many source pixels one map cell covers.
  const cellSpacing = [
    (spacing[0] * rows) / heatmap.height,
    (spacing[1] * columns) / heatmap.width,
  ];
  const frameOfReferenceUid =
    typeof source['FrameOfReferenceUID'] === 'string' && source['FrameOfReferenceUID'] !== ''
      ? source['FrameOfReferenceUID']
      : deriveUid('radiolens-frame-of-reference', image.sopInstanceUid);
  const orientation = numbers(source['ImageOrientationPatient'], 6) ?? [1, 0, 0, 0, 1, 0];
  // Image Position is the centre of the first pixel: the first map cell's centre lies half a
  // cell minus half a source pixel further along the row and column directions.
  const sourcePosition = numbers(source['ImagePositionPatient'], 3) ?? [0, 0, 0];
  const alongRow = (cellSpacing[1]! - spacing[1]) / 2;
  const alongColumn = (cellSpacing[0]! - spacing[0]) / 2;
  const position = sourcePosition.map(
    (p, axis) => p + orientation[axis]! * alongRow + orientation[axis + 3]! * alongColumn,
  );
  const sourceReference = {
    ReferencedSOPClassUID: image.sopClassUid,
    ReferencedSOPInstanceUID: image.sopInstanceUid,
  };
  const bodyPart = typeof source['BodyPartExamined'] === 'string' ? source['BodyPartExamined'] : '';

  const dataset: DicomDataset = {
    ...sopCommonModule(PARAMETRIC_MAP_STORAGE, sopInstanceUid, at),
    ...patientAndStudyModules(record),
    // General Series + Parametric Map Series (C.8.32.1)
    Modality: 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: resultSeriesNumber(algorithm, 'pm'),
    SeriesDate: dicomDate(at),
    SeriesTime: dicomTime(at),
    SeriesDescription: resultSeriesDescription(algorithm, 'pm'),
    ...(bodyPart === '' ? {} : { BodyPartExamined: bodyPart }),
    // Frame of Reference (C.7.4.1)
    FrameOfReferenceUID: frameOfReferenceUid,
    PositionReferenceIndicator: '',
    // General Equipment + Enhanced General Equipment (C.7.5.2): all Type 1 there.
    ...generalEquipmentModule(algorithm),
    DeviceSerialNumber: algorithm.manifestSha256.slice(0, 64),
    ...contributingEquipment(algorithm, at, record.contributors),
    // Image Pixel (C.7.6.3) for float data: no Bits Stored, High Bit, Pixel Representation
    Rows: heatmap.height,
    Columns: heatmap.width,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 32,
    // Parametric Map Image (C.8.32.2)
    // Value 3 (image flavor) has no defined term for a class activation map; HEATMAP is ours
    // (Defined Terms may be extended), value 4 NONE: no derived pixel contrast.
    ImageType: ['DERIVED', 'PRIMARY', 'HEATMAP', 'NONE'],
    // The shipped models are for research use (their model cards); a site that clears one
    // for clinical use changes nothing here, the object is what the model computed.
    ContentQualification: 'RESEARCH',
    ContentLabel: 'HEATMAP',
    // LO: a long finding name is shortened by the fitting rule (ADR 0140); the code says which.
    ContentDescription: shortened(
      `Relative contribution to ${finding.finding.meaning} (Grad-CAM, 0 to max)`,
    ),
    ContentCreatorName: '',
    LossyImageCompression: '00',
    PresentationLUTShape: 'IDENTITY',
    BurnedInAnnotation: 'NO',
    RecognizableVisualFeatures: 'NO',
    // Multi-frame Functional Groups (C.7.6.16)
    InstanceNumber: 1,
    ContentDate: dicomDate(at),
    ContentTime: dicomTime(at),
    NumberOfFrames: 1,
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [{ PixelSpacing: cellSpacing, SliceThickness: 1 }],
        PlaneOrientationSequence: [{ ImageOrientationPatient: orientation }],
        DerivationImageSequence: [
          {
            SourceImageSequence: [
              {
                ...sourceReference,
                PurposeOfReferenceCodeSequence: [codeItem(DCM.sourceImageForProcessing)],
              },
            ],
            DerivationCodeSequence: [codeItem(RADIOLENS.gradCam)],
            DerivationDescription: `Grad-CAM of ${algorithm.modelId} ${algorithm.version} for ${finding.finding.meaning}, divided by its maximum`,
          },
        ],
        FrameAnatomySequence: [
          {
            AnatomicRegionSequence: [codeItem(DCM.chest)],
            FrameLaterality: 'U',
          },
        ],
        PixelValueTransformationSequence: [
          { RescaleIntercept: 0, RescaleSlope: 1, RescaleType: 'US' },
        ],
        RealWorldValueMappingSequence: [
          {
            DoubleFloatRealWorldValueFirstValueMapped: 0,
            DoubleFloatRealWorldValueLastValueMapped: 1,
            RealWorldValueIntercept: 0,
            RealWorldValueSlope: 1,
            LUTExplanation: 'Grad-CAM relative contribution, 0 to the map maximum',
            LUTLabel: 'GRADCAM',
            MeasurementUnitsCodeSequence: [codeItem(UCUM.noUnits)],
          },
        ],
        ParametricMapFrameTypeSequence: [{ FrameType: ['DERIVED', 'PRIMARY', 'HEATMAP', 'NONE'] }],
        FrameVOILUTSequence: [{ WindowCenter: 0.5, WindowWidth: 1 }],
      },
    ],
    PerFrameFunctionalGroupsSequence: [
      {
        FrameContentSequence: [{ DimensionIndexValues: [1] }],
        PlanePositionSequence: [{ ImagePositionPatient: position }],
      },
    ],
    // Multi-frame Dimension (C.7.6.17): one dimension, the frame's position
    DimensionOrganizationSequence: [
      { DimensionOrganizationUID: dimensionOrganizationUid(sopInstanceUid) },
    ],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid(sopInstanceUid),
        DimensionIndexPointer: '00200032',
        FunctionalGroupPointer: '00209113',
        DimensionDescriptionLabel: 'Image Position',
      },
    ],
    CodingSchemeIdentificationSequence: [RADIOLENS_CODING_SCHEME_IDENTIFICATION],
    // Acquisition Context (C.7.6.14): nothing acquired
    AcquisitionContextSequence: [],
    // Common Instance Reference (C.12.2): the analysed image
    ReferencedSeriesSequence: [
      { SeriesInstanceUID: image.seriesInstanceUid, ReferencedInstanceSequence: [sourceReference] },
    ],
    FloatPixelData: values,
    _vrMap: { FloatPixelData: 'OF' },
  };
  return { bytes: encodeDicomPart10(dataset), sopInstanceUid, seriesInstanceUid };
}

function dimensionOrganizationUid(sopInstanceUid: string): string {
  return deriveUid('radiolens-dimension-organization', sopInstanceUid);
}

/** Pixel Spacing, else Imager Pixel Spacing, else 1 mm (a nominal grid, said in the ADR). */
function pixelSpacing(source: DicomDataset): [number, number] {
  return (
    (numbers(source['PixelSpacing'], 2) as [number, number] | undefined) ??
    (numbers(source['ImagerPixelSpacing'], 2) as [number, number] | undefined) ?? [1, 1]
  );
}

function numbers(value: unknown, count: number): number[] | undefined {
  if (!Array.isArray(value) || value.length !== count) return undefined;
  const out = value.map((v) => Number(v));
  return out.every((n) => Number.isFinite(n)) ? out : undefined;
}
