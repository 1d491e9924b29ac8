/**
 * Typed result artifacts: what an analysis wrote, described by what it is rather than by its
 * file name. The analysis registers each one as it writes it; the node delivers the DICOM ones
 * and the FHIR bundle, and the FHIR bundle lists every DICOM one in its ImagingStudy, so a new
 * kind of DICOM output (a Parametric Map, say) is delivered and linked without either of
 * them changing (ADR 0150).
 */

/**
 * The kinds Radiolens writes. Add a kind here when a writer gains one; a DICOM kind needs no
 * other change for delivery or for FHIR's series list.
 */
export type ArtifactKind = 'sr' | 'sc' | 'parametric-map' | 'fhir' | 'heatmap-png';

/** The identity of a DICOM artifact, as the PACS will index it. */
export interface DicomArtifactIdentity {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** Modality (0008,0060) of the artifact's series: 'SR', 'OT', … */
  modality: string;
  seriesNumber?: number;
  seriesDescription?: string;
}

export interface ResultArtifact {
  kind: ArtifactKind;
  /** Where it was written (absolute, or as the analysis was given its output folder). */
  path: string;
  /** IANA media type: application/dicom, application/fhir+json, image/png. */
  mediaType: string;
  /** Present exactly when the artifact is a DICOM object. */
  dicom?: DicomArtifactIdentity;
  /** The analysed image the artifact derives from, when it derives from one image. */
  sourceSopInstanceUid?: string;
  /** Present exactly when the artifact is a heatmap PNG (ADR 0151). */
  heatmap?: HeatmapArtifactInfo;
}

/** What a heatmap PNG holds, as analysis.json names it in the image's finding entry. */
export interface HeatmapArtifactInfo {
  /** The finding (manifest label id) the map explains. */
  labelId: string;
  method: 'grad-cam' | 'occlusion';
  /** The source image's columns and rows. */
  width: number;
  height: number;
  bitDepth: 16;
  /** The raw heatmap value written as 65535 (raw = value / 65535 × maxRaw). */
  maxRaw: number;
  /** Resolution of the map before it was resampled onto the image (the CAM's feature grid). */
  grid: { width: number; height: number };
  sha256: string;
  /** The PNG file's size in bytes. */
  size?: number;
  /** Where the maximum lies, in source pixels (0-based column x, row y). */
  peak: { x: number; y: number };
}

export const MEDIA_TYPE = {
  dicom: 'application/dicom',
  fhirJson: 'application/fhir+json',
  png: 'image/png',
} as const;

/** The DICOM artifacts, in a stable order: by kind as listed, then by SOP Instance UID. */
export function dicomArtifacts(
  artifacts: readonly ResultArtifact[],
): Array<ResultArtifact & { dicom: DicomArtifactIdentity }> {
  return sortArtifacts(
    artifacts.filter((a): a is ResultArtifact & { dicom: DicomArtifactIdentity } => !!a.dicom),
  );
}

const KIND_ORDER: Record<ArtifactKind, number> = {
  sr: 0,
  sc: 1,
  'parametric-map': 2,
  'heatmap-png': 3,
  fhir: 4,
};

/** Stable order for reports and delivery: kind (SR first), then SOP Instance UID, then path. */
export function sortArtifacts<T extends ResultArtifact>(artifacts: readonly T[]): T[] {
  return [...artifacts].sort(
    (a, b) =>
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      compare(a.dicom?.sopInstanceUid ?? '', b.dicom?.sopInstanceUid ?? '') ||
      compare(a.path, b.path),
  );
}

/** Code-unit order, as Array.prototype.sort uses: independent of the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
