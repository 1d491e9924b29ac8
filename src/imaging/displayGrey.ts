/**
 * The display-grey image of a frame at source resolution: Modality LUT → VOI LUT →
 * photometric interpretation. This is both the input to model preprocessing and what the
 * Secondary Capture writer burns the heatmap into, so it is computed with flat typed-array
 * loops (a 3000×3000 radiograph is 9 M pixels).
 */
import { RadiolensError } from '../core/index.js';
import { applyModalityLut } from './modalityLut.js';
import type { DatasetLike, GreyImage, PixelFrameLike } from './types.js';
import { applyVoiLut, selectVoi } from './voiLut.js';

/** ITU-R BT.601 luma weights, the ones DICOM's YBR_FULL uses (PS3.3 C.7.6.3.1.2). */
const LUMA = { r: 0.299, g: 0.587, b: 0.114 } as const;

export function toDisplayGrey(frame: PixelFrameLike, dataset: DatasetLike): GreyImage {
  const width = frame.columns;
  const height = frame.rows;
  const expected = width * height * frame.samplesPerPixel;
  if (frame.pixels.length < expected) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `frame has ${frame.pixels.length} samples, ${width}×${height}×${frame.samplesPerPixel} needs ${expected} — the decoder returned a truncated frame`,
    );
  }
  const photometric = frame.photometricInterpretation.trim().toUpperCase();
  if (photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2') {
    const viaTable = greyByStoredValueTable(frame, dataset, expected);
    if (viaTable !== null) return { width, height, data: viaTable };
    const modality = applyModalityLut(frame, dataset);
    const grey = applyVoiLut(modality, dataset, frame);
    return { width, height, data: grey.length === expected ? grey : grey.subarray(0, expected) };
  }
  if (frame.samplesPerPixel === 3 && photometric === 'RGB') {
    return { width, height, data: rgbLuminance(frame) };
  }
  if (frame.samplesPerPixel === 3 && photometric === 'YBR_FULL') {
    return { width, height, data: firstSample(frame) };
  }
  throw new RadiolensError(
    'E_UNSUPPORTED_PHOTOMETRIC',
    `Photometric Interpretation ${photometric} with ${frame.samplesPerPixel} samples per pixel cannot be turned into a grey image — decode to RGB or MONOCHROME2 first`,
  );
}

/** Above this many distinct stored values a per-value table costs more than it saves. */
const MAX_TABLE_ENTRIES = 1 << 17;

/**
 * Fast path for integer grey frames whose VOI does not depend on the image's histogram
 * (a window or a VOI LUT, as radiographs carry): every pixel with the same stored value gets
 * the same display value, so run Modality LUT → VOI → photometric once per distinct stored
 * value and look pixels up. Same functions, same arithmetic, identical results; a 2048²
 * 12-bit radiograph needs 4096 evaluations instead of 4 M. Returns null when the frame does
 * not qualify (float pixels, histogram-based fallback window, huge value range).
 */
export function greyByStoredValueTable(
  frame: PixelFrameLike,
  dataset: DatasetLike,
  count: number,
): Float32Array | null {
  const { pixels } = frame;
  if (pixels instanceof Float32Array || pixels instanceof Float64Array) return null;
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < count; p++) {
    const v = pixels[p] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const entries = max - min + 1;
  if (!(entries > 0) || entries > MAX_TABLE_ENTRIES || entries > count) return null;
  const storedValues = new Int32Array(entries);
  for (let i = 0; i < entries; i++) storedValues[i] = min + i;
  const tableFrame: PixelFrameLike = { ...frame, rows: 1, columns: entries, pixels: storedValues };
  const modality = applyModalityLut(tableFrame, dataset);
  if (selectVoi(modality, dataset, tableFrame).kind === 'percentileWindow') return null;
  const table = applyVoiLut(modality, dataset, tableFrame);
  const out = new Float32Array(count);
  for (let p = 0; p < count; p++) out[p] = table[(pixels[p] as number) - min] as number;
  return out;
}

/** Luminance of interleaved RGB, scaled by the stored-value range to [0,1]. */
function rgbLuminance(frame: PixelFrameLike): Float32Array {
  const { pixels } = frame;
  const count = frame.rows * frame.columns;
  const scale = 1 / (2 ** frame.bitsStored - 1);
  const r = LUMA.r * scale;
  const g = LUMA.g * scale;
  const b = LUMA.b * scale;
  const out = new Float32Array(count);
  for (let p = 0, s = 0; p < count; p++, s += 3) {
    out[p] =
      (pixels[s] as number) * r + (pixels[s + 1] as number) * g + (pixels[s + 2] as number) * b;
  }
  return out;
}

/** YBR_FULL's Y already is BT.601 luminance, on the full stored range. */
function firstSample(frame: PixelFrameLike): Float32Array {
  const { pixels } = frame;
  const count = frame.rows * frame.columns;
  const scale = 1 / (2 ** frame.bitsStored - 1);
  const out = new Float32Array(count);
  for (let p = 0, s = 0; p < count; p++, s += 3) out[p] = (pixels[s] as number) * scale;
  return out;
}
