/**
 * Multi-slice series → a volume of modality values sorted along the slice normal (ADR 0023).
 * The normal is row cosines × column cosines from Image Orientation (Patient); each slice's
 * place is its Image Position (Patient) projected on that normal, which is the only order
 * that is right for every orientation (Instance Number and Slice Location are not reliable).
 * A series that is not one regular grid is refused with the reason, never silently
 * resampled: a model fed a skewed or gapped volume gives confident, wrong answers.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { numbers, text } from './attributes.js';
import { applyModalityLut } from './modalityLut.js';
import type { DatasetLike, PixelFrameLike, Volume } from './types.js';

export interface VolumeSlice {
  /** What the slice came from (file path, SOP Instance UID): named in errors and kept in order. */
  source: string;
  dataset: DatasetLike;
  frame: PixelFrameLike;
}

/** Direction cosines from different slices may differ by rounding in the file, not more. */
const ORIENTATION_TOLERANCE = 1e-3;
/** Gaps may differ from the median gap by this fraction of it, or by SPACING_TOLERANCE_MM. */
const SPACING_RELATIVE_TOLERANCE = 0.01;
/** Positions are often written with two decimals: 0.02 mm covers that rounding twice. */
const SPACING_TOLERANCE_MM = 0.02;

type Vec3 = [number, number, number];

interface PlacedSlice {
  slice: VolumeSlice;
  position: Vec3;
  distance: number;
}

export function buildVolume(slices: VolumeSlice[]): Volume {
  const first = slices[0];
  if (first === undefined) refuse('the series has no slices');
  const reference = geometryOf(first);
  const frameOfReference = text(first.dataset, 'FrameOfReferenceUID');
  const placed: PlacedSlice[] = [];
  for (const slice of slices) {
    const geometry = geometryOf(slice);
    if (slice.frame.rows !== first.frame.rows || slice.frame.columns !== first.frame.columns) {
      refuse(
        `${slice.source} is ${slice.frame.columns}×${slice.frame.rows} pixels but ${first.source} is ${first.frame.columns}×${first.frame.rows}`,
      );
    }
    if (slice.frame.samplesPerPixel !== 1) {
      refuse(
        `${slice.source} has ${slice.frame.samplesPerPixel} samples per pixel; a volume holds one value per voxel`,
      );
    }
    const ofSlice = text(slice.dataset, 'FrameOfReferenceUID');
    if (ofSlice !== frameOfReference) {
      refuse(
        `${slice.source} has Frame of Reference UID ${ofSlice ?? '(none)'} but ${first.source} has ${frameOfReference ?? '(none)'}; positions in different frames cannot be compared`,
      );
    }
    const orientationDifference = Math.max(
      ...geometry.orientation.map((v, i) => Math.abs(v - (reference.orientation[i] as number))),
    );
    if (orientationDifference > ORIENTATION_TOLERANCE) {
      refuse(
        `${slice.source} has Image Orientation (Patient) ${format(geometry.orientation)} but ${first.source} has ${format(reference.orientation)}`,
      );
    }
    if (
      Math.abs(geometry.pixelSpacing[0] - reference.pixelSpacing[0]) >
        1e-3 * reference.pixelSpacing[0] ||
      Math.abs(geometry.pixelSpacing[1] - reference.pixelSpacing[1]) >
        1e-3 * reference.pixelSpacing[1]
    ) {
      refuse(
        `${slice.source} has Pixel Spacing ${format(geometry.pixelSpacing)} but ${first.source} has ${format(reference.pixelSpacing)}`,
      );
    }
    placed.push({
      slice,
      position: geometry.position,
      distance: dot(geometry.position, reference.normal),
    });
  }
  placed.sort((a, b) => a.distance - b.distance);
  const sliceSpacing = checkSpacing(placed, reference.normal, first);

  const width = first.frame.columns;
  const height = first.frame.rows;
  const plane = width * height;
  const data = new Float32Array(plane * placed.length);
  placed.forEach(({ slice }, k) => {
    const values = applyModalityLut(slice.frame, slice.dataset);
    data.set(values.length === plane ? values : values.subarray(0, plane), k * plane);
  });
  const [rowSpacing, columnSpacing] = reference.pixelSpacing;
  return {
    width,
    height,
    depth: placed.length,
    // Pixel Spacing is [between rows, between columns]: x (along a row) steps by the second.
    spacing: [columnSpacing, rowSpacing, sliceSpacing],
    origin: (placed[0] as PlacedSlice).position,
    direction: [...reference.row, ...reference.column, ...reference.normal],
    data,
    sliceSources: placed.map(({ slice }) => slice.source),
  };
}

/** The slice spacing, after refusing duplicates, irregular gaps and sheared (tilted) stacks. */
function checkSpacing(placed: PlacedSlice[], normal: Vec3, first: VolumeSlice): number {
  if (placed.length === 1) {
    // One slice has no neighbour: the thickness the modality reports is the best spacing.
    return (
      numbers(first.dataset, 'SpacingBetweenSlices')[0] ??
      numbers(first.dataset, 'SliceThickness')[0] ??
      1
    );
  }
  const firstPlaced = placed[0] as PlacedSlice;
  const lastPlaced = placed[placed.length - 1] as PlacedSlice;
  const gaps = placed
    .slice(1)
    .map((current, k) => current.distance - (placed[k] as PlacedSlice).distance);
  // Duplicates first: a repeated position would otherwise be reported as an odd gap.
  gaps.forEach((gap, k) => {
    if (gap <= SPACING_TOLERANCE_MM) {
      const [a, b] = [placed[k] as PlacedSlice, placed[k + 1] as PlacedSlice];
      refuse(
        `${a.slice.source} and ${b.slice.source} are at the same position along the slice normal (${a.distance.toFixed(3)} mm); duplicate or multi-phase slices must be split into separate series`,
      );
    }
  });
  // Gaps are compared with the median, so the message names the odd gap, not a good one.
  const typical = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] as number;
  const tolerance = Math.max(SPACING_RELATIVE_TOLERANCE * typical, SPACING_TOLERANCE_MM);
  gaps.forEach((gap, k) => {
    if (Math.abs(gap - typical) > tolerance) {
      const [a, b] = [placed[k] as PlacedSlice, placed[k + 1] as PlacedSlice];
      refuse(
        `slice spacing is not uniform: ${gap.toFixed(3)} mm between ${a.slice.source} and ${b.slice.source}, typical ${typical.toFixed(3)} mm (tolerance ${tolerance.toFixed(3)} mm); a slice may be missing`,
      );
    }
  });
  for (const current of placed) {
    // A position off the normal line means a tilted gantry or sheared stack, not a grid.
    const offset = subtract(current.position, firstPlaced.position);
    const along = dot(offset, normal);
    const across = Math.hypot(...subtract(offset, scale(normal, along)));
    if (across > Math.max(SPACING_RELATIVE_TOLERANCE * Math.abs(along), SPACING_TOLERANCE_MM)) {
      refuse(
        `${current.slice.source} is ${across.toFixed(3)} mm off the slice normal through ${firstPlaced.slice.source} (gantry tilt or sheared stack); resample the series first`,
      );
    }
  }
  // The mean over the whole stack spreads the positions' rounding over all gaps.
  const mean = (lastPlaced.distance - firstPlaced.distance) / (placed.length - 1);
  return mean;
}

interface SliceGeometry {
  position: Vec3;
  orientation: number[];
  row: Vec3;
  column: Vec3;
  normal: Vec3;
  pixelSpacing: [number, number];
}

function geometryOf(slice: VolumeSlice): SliceGeometry {
  const position = numbers(slice.dataset, 'ImagePositionPatient');
  const orientation = numbers(slice.dataset, 'ImageOrientationPatient');
  const pixelSpacing = numbers(slice.dataset, 'PixelSpacing');
  if (position.length !== 3) {
    refuse(
      `${slice.source} has no usable Image Position (Patient) (found ${position.length} values, need 3)`,
    );
  }
  if (orientation.length !== 6) {
    refuse(
      `${slice.source} has no usable Image Orientation (Patient) (found ${orientation.length} values, need 6)`,
    );
  }
  if (pixelSpacing.length !== 2 || !pixelSpacing.every((v) => v > 0)) {
    refuse(`${slice.source} has no usable Pixel Spacing (found ${format(pixelSpacing)})`);
  }
  const row = normalise(orientation.slice(0, 3) as Vec3);
  const column = normalise(orientation.slice(3, 6) as Vec3);
  const normal = normalise(cross(row, column));
  if (!normal.every(Number.isFinite)) {
    refuse(`${slice.source} has degenerate Image Orientation (Patient) ${format(orientation)}`);
  }
  return {
    position: position as Vec3,
    orientation,
    row,
    column,
    normal,
    pixelSpacing: pixelSpacing as [number, number],
  };
}

function refuse(reason: string): never {
  throw new RadiolensError(
    'E_INCONSISTENT_SERIES',
    `cannot build a volume: ${reason} — fix or split the series, or analyse its slices as 2-D images`,
  );
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
function subtract(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
function scale(a: Vec3, s: number): Vec3 {
  return [a[0] * s, a[1] * s, a[2] * s];
}
function normalise(a: Vec3): Vec3 {
  const length = Math.hypot(...a);
  return scale(a, 1 / length);
}
function format(values: number[]): string {
  return values.length === 0 ? '(none)' : values.map((v) => String(v)).join('\\');
}
