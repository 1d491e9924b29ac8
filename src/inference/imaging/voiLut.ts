/**
 * VOI LUT (PS3.3 C.11.2): modality values → display values in [0,1], then photometric
 * handling so 0 is always black (MONOCHROME1 is inverted here, once).
 *
 * Choice of transform, in order:
 *  1. the first Window Center/Width pair (multiple windows are alternatives for the viewer;
 *     the first is the one the modality recommends), with VOI LUT Function LINEAR,
 *     LINEAR_EXACT or SIGMOID (absent or unknown → LINEAR, the standard's default);
 *  2. the first item of the VOI LUT Sequence;
 *  3. a fallback window computed from the image: by default from robust percentiles of the
 *     modality values (ADR 0020); a model package may declare another (ADR 0027).
 * A window with an invalid width (LINEAR needs ≥ 1, the others > 0) is skipped, not applied.
 * A package's windowing rule `minMax` or `percentile` skips 1 and 2: the image's own window
 * is ignored.
 */
import { codeString, firstNumber, numbers, sequenceItems } from './attributes.js';
import { applyLut, parseLut, type Lut } from './lut.js';
import { applyModalityLut } from './modalityLut.js';
import type { DatasetLike, PixelFrameLike, VoiFallback, WindowingRule } from './types.js';

export type VoiLutFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export type VoiSelection =
  | { kind: 'window'; center: number; width: number; voiLutFunction: VoiLutFunction }
  | { kind: 'lut'; lut: Lut }
  | {
      kind: 'computedWindow';
      /** How it was computed from the image (see VoiFallback; 'percentile' with the bounds used). */
      rule: VoiFallback;
      center: number;
      width: number;
      voiLutFunction: 'LINEAR_EXACT';
    };

/** Fallback window bounds: the 0.5th and 99.5th percentiles of the modality values. */
export const FALLBACK_PERCENTILES = { low: 0.005, high: 0.995 } as const;

export function applyVoiLut(
  values: Float32Array,
  dataset: DatasetLike,
  frame: PixelFrameLike,
  windowing?: WindowingRule,
): Float32Array {
  const selection = selectVoi(values, dataset, frame, windowing);
  const output = new Float32Array(values.length);
  if (selection.kind === 'lut') {
    applyLut(selection.lut, values, output);
    const scale = 1 / lutOutputMaximum(selection.lut);
    for (let p = 0; p < output.length; p++) output[p] = (output[p] as number) * scale;
  } else {
    applyWindow(values, output, selection.center, selection.width, selection.voiLutFunction);
  }
  if (frame.photometricInterpretation.trim().toUpperCase() === 'MONOCHROME1') {
    for (let p = 0; p < output.length; p++) output[p] = 1 - (output[p] as number);
  }
  return output;
}

/** Which VOI transform applyVoiLut uses for this image; exported so outputs can record it. */
export function selectVoi(
  values: Float32Array,
  dataset: DatasetLike,
  frame: PixelFrameLike,
  windowing: WindowingRule = { kind: 'voiLut' },
): VoiSelection {
  if (windowing.kind === 'minMax') return computedWindow(values, dataset, frame, 'minMax');
  if (windowing.kind === 'percentile') {
    return computedWindow(values, dataset, frame, 'percentile', {
      low: windowing.low / 100,
      high: windowing.high / 100,
    });
  }
  const center = numbers(dataset, 'WindowCenter')[0];
  const width = numbers(dataset, 'WindowWidth')[0];
  const voiLutFunction = parseVoiLutFunction(codeString(dataset, 'VOILUTFunction'));
  if (center !== undefined && width !== undefined) {
    const minimumWidth = voiLutFunction === 'LINEAR' ? 1 : Number.MIN_VALUE;
    if (width >= minimumWidth) return { kind: 'window', center, width, voiLutFunction };
  }
  const lutItem = sequenceItems(dataset, 'VOILUTSequence')[0];
  if (lutItem !== undefined) {
    const hasModalityLut = sequenceItems(dataset, 'ModalityLUTSequence').length > 0;
    // The VOI LUT's input is the modality value: signed when the stored values are signed
    // or a negative intercept shifts them below zero (a Modality LUT's output is unsigned).
    const signedInput =
      !hasModalityLut &&
      (frame.pixelRepresentation === 1 || (firstNumber(dataset, 'RescaleIntercept') ?? 0) < 0);
    return { kind: 'lut', lut: parseLut(lutItem, { signedInput, context: 'VOI LUT Sequence' }) };
  }
  return computedWindow(values, dataset, frame, windowing.fallback ?? 'percentile');
}

/** A LINEAR_EXACT window from the image's low to its high value under `rule`. */
function computedWindow(
  values: Float32Array,
  dataset: DatasetLike,
  frame: PixelFrameLike,
  rule: VoiFallback,
  percentiles: { low: number; high: number } = FALLBACK_PERCENTILES,
): VoiSelection {
  const padding = paddingModalityValue(dataset, frame);
  const [low, high] =
    rule === 'storedRange'
      ? storedModalityRange(dataset, frame)
      : rule === 'minMax'
        ? percentileRange(values, padding, { low: 0, high: 1 })
        : percentileRange(values, padding, percentiles);
  return {
    kind: 'computedWindow',
    rule,
    center: (low + high) / 2,
    width: Math.max(high - low, Number.MIN_VALUE),
    voiLutFunction: 'LINEAR_EXACT',
  };
}

/**
 * The modality values of the smallest and largest stored value Bits Stored allows (signed
 * when Pixel Representation is 1), through the image's Modality LUT or rescale.
 */
function storedModalityRange(dataset: DatasetLike, frame: PixelFrameLike): [number, number] {
  const bits = Math.min(Math.max(frame.bitsStored, 1), 32);
  const extremes =
    frame.pixelRepresentation === 1
      ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
      : [0, 2 ** bits - 1];
  const mapped = applyModalityLut(
    {
      ...frame,
      rows: 1,
      columns: 2,
      samplesPerPixel: 1,
      pixels: Float64Array.from(extremes),
    },
    dataset,
  );
  const a = mapped[0] as number;
  const b = mapped[1] as number;
  return [Math.min(a, b), Math.max(a, b)];
}

/**
 * The PS3.3 C.11.2.1.2 / C.11.2.1.3 window functions with y_min = 0 and y_max = 1, written
 * exactly as the standard states them. LINEAR keeps its −0.5 and (w−1) terms (it was defined
 * for discrete stored values); LINEAR_EXACT is the continuous form.
 */
export function applyWindow(
  input: ArrayLike<number>,
  output: Float32Array,
  center: number,
  width: number,
  voiLutFunction: VoiLutFunction,
): void {
  const n = input.length;
  if (voiLutFunction === 'SIGMOID') {
    const k = -4 / width;
    for (let p = 0; p < n; p++) output[p] = 1 / (1 + Math.exp(k * ((input[p] as number) - center)));
    return;
  }
  if (voiLutFunction === 'LINEAR_EXACT') {
    const lower = center - width / 2;
    const upper = center + width / 2;
    for (let p = 0; p < n; p++) {
      const x = input[p] as number;
      output[p] = x <= lower ? 0 : x > upper ? 1 : (x - center) / width + 0.5;
    }
    return;
  }
  const lower = center - 0.5 - (width - 1) / 2;
  const upper = center - 0.5 + (width - 1) / 2;
  const offset = center - 0.5;
  const span = width - 1;
  for (let p = 0; p < n; p++) {
    const x = input[p] as number;
    // width = 1 makes span 0: a hard threshold, which the two comparisons already give.
    output[p] = x <= lower ? 0 : x > upper ? 1 : (x - offset) / span + 0.5;
  }
}

function parseVoiLutFunction(value: string | undefined): VoiLutFunction {
  return value === 'LINEAR_EXACT' || value === 'SIGMOID' ? value : 'LINEAR';
}

/** A VOI LUT's output range is 0 … 2^bits − 1 (PS3.3 C.11.2.1.1); some files overflow it. */
function lutOutputMaximum(lut: Lut): number {
  let max = 0;
  for (let i = 0; i < lut.entries.length; i++) max = Math.max(max, lut.entries[i] as number);
  let declared = 2 ** lut.bitsPerEntry - 1;
  while (declared < max) declared = declared * 2 + 1;
  return declared > 0 ? declared : 1;
}

/**
 * Pixel Padding Value marks pixels outside the acquired area (e.g. outside a CT's circular
 * field of view); they must not pull the fallback window. Only mapped for Rescale, which is
 * the case where padding is used in practice.
 */
function paddingModalityValue(dataset: DatasetLike, frame: PixelFrameLike): number | undefined {
  const padding = firstNumber(dataset, 'PixelPaddingValue');
  if (padding === undefined || sequenceItems(dataset, 'ModalityLUTSequence').length > 0) {
    return undefined;
  }
  const signed = frame.pixelRepresentation === 1 && padding >= 32768 ? padding - 65536 : padding;
  const slope = firstNumber(dataset, 'RescaleSlope') ?? 1;
  const intercept = firstNumber(dataset, 'RescaleIntercept') ?? 0;
  return Math.fround(signed * slope + intercept);
}

const HISTOGRAM_BINS = 65536;

/**
 * The fallback percentiles from a 65,536-bin histogram: two passes over the pixels, no sort
 * (a 3000×3000 radiograph is 9 M values). The error is at most one bin, (max − min) / 65535,
 * which is below one stored value for anything up to 16 bits; the 0th and 100th percentiles
 * are the exact minimum and maximum.
 */
export function percentileRange(
  values: Float32Array,
  excluded?: number,
  percentiles: { low: number; high: number } = FALLBACK_PERCENTILES,
): [low: number, high: number] {
  let min = Infinity;
  let max = -Infinity;
  let counted = 0;
  const skip = excluded ?? NaN;
  for (let p = 0; p < values.length; p++) {
    const v = values[p] as number;
    // v !== v is NaN: no window can place it, so it does not vote.
    if (v === skip || v !== v) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    counted++;
  }
  if (counted === 0) return [0, 0];
  if (min === max || (percentiles.low <= 0 && percentiles.high >= 1)) return [min, max];
  const histogram = new Uint32Array(HISTOGRAM_BINS);
  const binsPerUnit = (HISTOGRAM_BINS - 1) / (max - min);
  for (let p = 0; p < values.length; p++) {
    const v = values[p] as number;
    if (v === skip || v !== v) continue;
    // (x + 0.5) | 0 rounds the non-negative bin position, several times faster than Math.round.
    histogram[((v - min) * binsPerUnit + 0.5) | 0]!++;
  }
  const lowRank = Math.floor(percentiles.low * (counted - 1));
  const highRank = Math.ceil(percentiles.high * (counted - 1));
  let low = 0;
  let high = HISTOGRAM_BINS - 1;
  let cumulative = 0;
  let foundLow = false;
  for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
    cumulative += histogram[bin] as number;
    if (!foundLow && cumulative > lowRank) {
      low = bin;
      foundLow = true;
    }
    if (cumulative > highRank) {
      high = bin;
      break;
    }
  }
  return [min + low / binsPerUnit, min + high / binsPerUnit];
}
