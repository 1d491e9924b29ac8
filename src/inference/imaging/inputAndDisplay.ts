/**
 * One pass over a decoded frame for everything the analysis pipeline needs from its pixels:
 * the model-input tensor and the smaller display image the Secondary Capture is drawn on.
 * A 2048² radiograph is 4 M pixels; separate passes (full-resolution display grey, then a
 * resize to the model input, then another to the overlay) touched them three times and held
 * a 16 MB float copy. Here each source row is turned into display grey (stored-value table)
 * and fed straight into both area resamplers, so the full-resolution work is done once.
 * The results are bit-identical to toDisplayGrey → toModelInput / resizeArea (ADR 0024).
 */
import { displayGreyRows } from './displayGrey.js';
import {
  channelNormalisation,
  inputPlacement,
  placeInInput,
  type InputPlacement,
} from './modelInput.js';
import { AreaResampler, regionWithin, resizeArea } from './resize.js';
import type {
  DatasetLike,
  GreyImage,
  GreySource,
  ImageInputSpec,
  PixelFrameLike,
  PixelRegion,
  WindowingRule,
} from './types.js';

export interface ModelInputAndDisplay {
  /** The tensor the model package asks for (CHW, normalised), as toModelInput makes it. */
  input: Float32Array;
  /** Where the image sits inside the model input, for mapping heatmaps back. */
  placement: InputPlacement;
  /** Display grey, area-reduced so its longest side is at most displayMaxSide. */
  display: GreyImage;
}

export function toModelInputAndDisplay(
  frame: PixelFrameLike,
  dataset: DatasetLike,
  spec: ImageInputSpec,
  displayMaxSide: number,
): ModelInputAndDisplay {
  channelNormalisation(spec); // a bad manifest fails before any pixel work
  const rows = displayGreyRows(frame, dataset, spec.windowing);
  const { width, height } = rows;
  const placement = inputPlacement(width, height, spec);
  const shown = displaySize(width, height, displayMaxSide);
  const model = rowSink(width, height, placement.width, placement.height);
  const display = rowSink(width, height, shown.width, shown.height);
  const buffer = new Float32Array(width);
  for (let y = 0; y < height; y++) {
    const row = rows.row(y, buffer);
    model.pushRow(row);
    display.pushRow(row);
  }
  return {
    input: placeInInput(model.finish(), spec, placement),
    placement,
    display: display.finish(),
  };
}

/**
 * The display grey and area-resized copies of it at `sizes`, from one pass over the frame:
 * each row is made once (stored-value table) and fed to every resampler while it is in cache.
 * The lung-field pipeline needs, from the same pass, the overlay and the lung model's 256²
 * grid (ADR 0163), and afterwards the classifier's crop of the grey at full resolution. That
 * grey is not held: `grey` re-makes any row from the stored values on demand, so the crop reads
 * only its own pixels again (7.6 ms of table lookups for a 1700 × 1560 crop, measured in ADR
 * 0164) instead of a 16 MB array being written, held and collected per image. A frame that
 * does not qualify for the table (float pixels, a histogram-based window) is made whole and
 * `grey` is that image. A size with a `region` resizes only that rectangle (the lung field's
 * edge-guard view, ADR 0165). Bit-identical to toDisplayGrey, then resizeArea for each size
 * (and region) and for any crop.
 */
export function toDisplayGreyAndResized(
  frame: PixelFrameLike,
  dataset: DatasetLike,
  windowing: WindowingRule | undefined,
  sizes: ReadonlyArray<{ width: number; height: number; region?: PixelRegion }>,
): { grey: GreySource; resized: GreyImage[] } {
  const rows = displayGreyRows(frame, dataset, windowing);
  if (rows.whole !== undefined) {
    const grey = rows.whole;
    return {
      grey,
      resized: sizes.map((size) => resizeArea(grey, size.width, size.height, size.region)),
    };
  }
  const { width, height } = rows;
  const buffer = new Float32Array(width);
  // A size with a region (the lung field's edge-guard view, ADR 0165) resizes only that crop:
  // its rows, its columns, from the same made rows.
  const sinks = sizes.map(({ width: w, height: h, region }) => {
    const { left, top, right, bottom } = regionWithin(width, height, region);
    return { sink: rowSink(right - left, bottom - top, w, h), left, top, right, bottom };
  });
  for (let y = 0; y < height; y++) {
    const row = rows.row(y, buffer);
    for (const { sink, left, top, right, bottom } of sinks) {
      if (y >= top && y < bottom)
        sink.pushRow(left === 0 && right === width ? row : row.subarray(left, right));
    }
  }
  return { grey: rows, resized: sinks.map(({ sink }) => sink.finish()) };
}

/** Longest side at most maxSide, aspect kept (rounded); smaller images keep their size. */
export function displaySize(
  width: number,
  height: number,
  maxSide: number,
): { width: number; height: number } {
  const scale = maxSide / Math.max(width, height);
  if (scale >= 1) return { width, height };
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

interface RowSink {
  pushRow(row: Float32Array): void;
  finish(): GreyImage;
}

/** An area resampler, or a plain copy when the size does not change (as resizeArea does). */
function rowSink(
  sourceWidth: number,
  sourceHeight: number,
  width: number,
  height: number,
): RowSink {
  if (width !== sourceWidth || height !== sourceHeight) {
    return new AreaResampler(sourceWidth, sourceHeight, width, height);
  }
  const data = new Float32Array(width * height);
  let y = 0;
  return {
    pushRow(row) {
      data.set(row.subarray(0, width), y * width);
      y += 1;
    },
    finish: () => ({ width, height, data }),
  };
}
