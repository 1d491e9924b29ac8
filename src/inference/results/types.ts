/**
 * Inputs of the results layer. The analysis pipeline fills these; the writers here turn them
 * into DICOM SR, DICOM Secondary Capture and a FHIR R4 Bundle without touching the network.
 */

/** A dcmjs "naturalized" dataset: keyword → value (PatientName, StudyInstanceUID, …). */
export type DicomDataset = Record<string, unknown>;

export interface SourceImage {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** The source instance's attributes (pixel data not needed). */
  dataset: DicomDataset;
}

/** A code as DICOM writes it: Coding Scheme Designator, Code Value, Code Meaning. */
export interface CodedConcept {
  scheme: string /* 'SCT' | 'RADLEX' | 'DCM' | 'LN' | 'UCUM' | '99…' */;
  value: string;
  meaning: string;
}

export interface AlgorithmIdentity {
  modelId: string;
  version: string;
  name: string;
  manufacturer: string;
  manifestSha256: string;
}

export interface FindingResult {
  labelId: string;
  finding: CodedConcept;
  /** Model output probability, 0…1. */
  probability: number;
  /** Operating threshold, 0…1: present means probability ≥ threshold. */
  threshold: number;
  present: boolean;
  alertLevel: 'none' | 'routine' | 'urgent';
  image: SourceImage;
  /**
   * The heatmap computed for this finding and where it was written (ADR 0141). Absent when
   * no heatmap explains this label (another label drove the image's heatmap, or the package
   * has no explanation method): the SR then marks the whole image as the finding's region.
   */
  explanation?: FindingExplanation;
  /**
   * Where the heatmap explaining this finding lies relative to the lung field (ADR 0161):
   * the share of its energy inside the lung mask and whether its peak is; set when the image
   * went through a lung segmentation, on the finding the heatmap explains.
   */
  heatmapInLungs?: { energyInside: number | null; peakInside: boolean | null };
}

/**
 * An SR spatial coordinate on the source image (PS3.3 C.18.6): column/row pairs in the
 * source's pixel space, (0,0) the top left corner of the top left pixel. A POLYLINE is closed
 * (first point repeated last).
 */
export interface ImageRegion {
  graphicType: 'POLYLINE' | 'POINT';
  points: number[];
  /** How the region was chosen, for the SR's reader and the tests. */
  basis: 'hottest-region' | 'hottest-point' | 'whole-image';
}

export interface FindingExplanation {
  region: ImageRegion;
  /** The Secondary Capture / Parametric Map written from the same heatmap, when written. */
  secondaryCapture?: { sopClassUid: string; sopInstanceUid: string };
  parametricMap?: { sopClassUid: string; sopInstanceUid: string };
}

/** A model whose output the results depend on, and its part in them ("lung field segmentation"). */
export interface ContributingAlgorithm {
  algorithm: AlgorithmIdentity;
  role: string;
}

export interface AnalysisRecord {
  studyInstanceUid: string;
  /**
   * SOP Instance UIDs of every image the run set out to analyse, fixed before the first one is
   * scored. Result UIDs derive from this set, not from `sources` (which grows as images are
   * scored), so every SC of a study lands in one series and a re-run in another file order
   * writes the same UIDs. Defaults to the SOP Instance UIDs of `sources`.
   */
  inputSopInstanceUids?: readonly string[];
  sources: SourceImage[];
  findings: FindingResult[];
  algorithm: AlgorithmIdentity;
  /**
   * Other models the results depend on, each with what it did — the lung segmentation that
   * cropped the classifier's input or placed its heatmaps (ADR 0145). Listed as Contributing
   * Equipment after the algorithm in every object written.
   */
  contributors?: ContributingAlgorithm[];
  performedAt: Date;
  /** `codes`: machine-readable reasons where the check that refused the image has them. */
  notAnalysed: { image: SourceImage; reason: string; codes?: string[] }[];
}

/** The source image as displayed (after Modality/VOI LUT), grey 0…1, row-major. */
export interface DisplayImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** A class activation map, raw ≥ 0, any resolution (resampled to the display image). */
export interface Heatmap {
  width: number;
  height: number;
  data: Float32Array;
  max: number;
}
