/**
 * Structural types for what the imaging layer reads. They mirror the DICOM layer's
 * `DicomDataset` and `DecodedFrame` field for field but are declared here, so imaging does
 * not depend on src/dicom's internals and any DecodedFrame is assignable to PixelFrameLike.
 */

/** A dcmjs "naturalized" dataset: keywords as keys (RescaleSlope, WindowCenter, …). */
export type DatasetLike = Readonly<Record<string, unknown>>;

export type PixelArray =
  | Int32Array
  | Float32Array
  | Float64Array
  | Int16Array
  | Uint16Array
  | Uint8Array
  | Int8Array
  | Uint32Array;

/**
 * One decoded frame. `pixels` holds stored values, already sign-extended by the decoder when
 * Pixel Representation is 1; colour frames are pixel-interleaved (R,G,B,R,G,B…), which is
 * what decoders return whatever the Planar Configuration of the file was.
 */
export interface PixelFrameLike {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly pixelRepresentation: number;
  readonly photometricInterpretation: string;
  readonly pixels: PixelArray;
}

/** Half-open rectangle [left, right) × [top, bottom) of an image, in whole pixels. */
export interface PixelRegion {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** Display values in [0,1] with 0 = black, whatever the source photometric interpretation. */
export interface GreyImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/**
 * Display grey made one row at a time, from the frame's stored values, for passes that never
 * hold the whole image (a 2048² radiograph's grey is 16 MB of floats; ADR 0164). Rows can be
 * read again, in any order: the same values each time.
 */
export interface GreyRows {
  readonly width: number;
  readonly height: number;
  /**
   * Columns from … to − 1 of row y's display values (default: the whole row): written into
   * `into` from index 0 and returned, or returned as a view of a held image.
   */
  row(y: number, into: Float32Array, from?: number, to?: number): Float32Array;
  /** The whole display grey, when the frame did not qualify for rows and it was made at once. */
  readonly whole?: GreyImage;
}

/** A display grey to read from: held whole, or re-made row by row from the stored values. */
export type GreySource = GreyImage | GreyRows;

/** What a model package's manifest says its network wants as input. */
export interface ImageInputSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  /** stretch: fill the input, aspect ratio lost; letterbox: keep aspect, pad with black. */
  resize: 'stretch' | 'letterbox';
  /** unit: display value in [0,1] as is; meanStd: (v - mean[c]) / std[c], both in [0,1] units. */
  normalisation: { kind: 'unit' } | { kind: 'meanStd'; mean: number[]; std: number[] };
  /** How a DICOM image's modality values become display values. Absent: { kind: 'voiLut' }. */
  windowing?: WindowingRule;
}

/**
 * The window a DICOM image is shown through (manifest input.windowing; ADRs 0020, 0027).
 * voiLut: the image's own Window Center/Width or VOI LUT, else `fallback` (default: the
 * 0.5–99.5th percentile window). minMax and percentile ignore the image's own window.
 * PNG/JPEG files carry no window and are always read as value / maximum.
 */
export type WindowingRule =
  | { kind: 'voiLut'; fallback?: VoiFallback | undefined }
  | { kind: 'minMax' }
  | { kind: 'percentile'; low: number; high: number };

/**
 * The window for an image that carries none: percentile (0.5th–99.5th percentile of its
 * values), minMax (its smallest to its largest value), storedRange (everything Bits Stored can
 * hold, through the Modality LUT: 0–4095 for 12-bit unsigned data).
 */
export type VoiFallback = 'percentile' | 'minMax' | 'storedRange';

/**
 * A series assembled into a 3-D grid of modality values (e.g. Hounsfield units for CT).
 * Voxel (i, j, k) is data[k * width * height + j * width + i]; its patient position is
 * origin + i*spacing[0]*rowDir + j*spacing[1]*colDir + k*spacing[2]*normal.
 */
export interface Volume {
  width: number;
  height: number;
  depth: number;
  /** [between columns (along a row), between rows (along a column), between slices] in mm. */
  spacing: [number, number, number];
  /** Image Position (Patient) of the first voxel of the first slice, in mm. */
  origin: [number, number, number];
  /** Row-major 3×3: row direction cosines, column direction cosines, slice normal. */
  direction: number[];
  data: Float32Array;
  /** The `source` of each slice, in volume order (k = 0 first). */
  sliceSources: string[];
}
