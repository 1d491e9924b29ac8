import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDisplayGrey } from './displayGrey.js';
import { displaySize, toDisplayGreyAndResized, toModelInputAndDisplay } from './inputAndDisplay.js';
import { toModelInput } from './modelInput.js';
import { resizeArea } from './resize.js';
import type { ImageInputSpec, PixelFrameLike } from './types.js';

const spec: ImageInputSpec = {
  width: 32,
  height: 24,
  channels: 3,
  resize: 'letterbox',
  normalisation: { kind: 'meanStd', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

function radiograph(columns: number, rows: number, bitsStored: number): PixelFrameLike {
  const pixels = new Int32Array(columns * rows);
  let seed = 11;
  for (let i = 0; i < pixels.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = seed % 2 ** bitsStored;
  }
  return {
    rows,
    columns,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored,
    pixelRepresentation: 0,
    photometricInterpretation: 'MONOCHROME1',
    pixels,
  };
}

/** The separate passes the one-pass function replaces, as the pipeline ran them before. */
function separatePasses(
  frame: PixelFrameLike,
  dataset: Record<string, unknown>,
  input: ImageInputSpec,
  maxSide: number,
): { input: Float32Array; display: Float32Array } {
  const grey = toDisplayGrey(frame, dataset);
  const size = displaySize(grey.width, grey.height, maxSide);
  const display =
    size.width === grey.width && size.height === grey.height
      ? grey
      : resizeArea(grey, size.width, size.height);
  return { input: toModelInput(grey, input), display: display.data };
}

test('one pass gives bit-identical model input and display to the separate passes', () => {
  const cases: Array<[PixelFrameLike, Record<string, unknown>, number]> = [
    // 12-bit windowed radiograph: the stored-value table path, overlay shrunk.
    [radiograph(300, 200, 12), { WindowCenter: 2048, WindowWidth: 4096 }, 128],
    // No window: the histogram fallback, which cannot use a table.
    [radiograph(97, 131, 12), {}, 64],
    // A VOI LUT and rescale, image smaller than the overlay limit (kept at full size).
    [
      radiograph(40, 30, 10),
      {
        RescaleSlope: 2,
        RescaleIntercept: -5,
        VOILUTSequence: [
          { LUTDescriptor: [4096, 0, 12], LUTData: Array.from({ length: 4096 }, (_, i) => i) },
        ],
      },
      1024,
    ],
  ];
  for (const [frame, dataset, maxSide] of cases) {
    const stretch: ImageInputSpec = {
      ...spec,
      resize: 'stretch',
      channels: 1,
      normalisation: { kind: 'unit' },
    };
    for (const input of [spec, stretch]) {
      const expected = separatePasses(frame, dataset, input, maxSide);
      const actual = toModelInputAndDisplay(frame, dataset, input, maxSide);
      assert.deepEqual(actual.input, expected.input);
      assert.deepEqual(actual.display.data, expected.display);
      assert.deepEqual(
        [actual.display.width, actual.display.height],
        Object.values(displaySize(frame.columns, frame.rows, maxSide)),
      );
    }
  }
});

test('a stored value above Bits Stored (an unmasked decoder) still gets its own display value', () => {
  const frame = radiograph(64, 64, 8);
  (frame.pixels as Int32Array)[100] = 1000; // outside 0…255
  const dataset = { WindowCenter: 500, WindowWidth: 1000 };
  const expected = separatePasses(frame, dataset, spec, 32);
  const actual = toModelInputAndDisplay(frame, dataset, spec, 32);
  assert.deepEqual(actual.input, expected.input);
  assert.deepEqual(actual.display.data, expected.display);
  // So far out that no table fits: the frame is evaluated directly, with the same result.
  (frame.pixels as Int32Array)[4000] = 400_000;
  const wide = separatePasses(frame, dataset, spec, 32);
  const wideActual = toModelInputAndDisplay(frame, dataset, spec, 32);
  assert.deepEqual(wideActual.input, wide.input);
  assert.deepEqual(wideActual.display.data, wide.display);
});

test('the placement returned is where the image sits in the input', () => {
  const frame = radiograph(300, 200, 12);
  const { placement } = toModelInputAndDisplay(
    frame,
    { WindowCenter: 1, WindowWidth: 2 },
    spec,
    64,
  );
  // 300×200 into 32×24: scale 0.1067 (width-bound) → 32×21, centred vertically.
  assert.deepEqual(placement, { x: 0, y: 1, width: 32, height: 21 });
});

test('toDisplayGreyAndResized: the full grey and every size bit-identical to separate passes', () => {
  const windowed = { WindowCenter: 2048, WindowWidth: 4096 };
  const cases: Array<[PixelFrameLike, Record<string, unknown>]> = [
    [radiograph(512, 384, 12), windowed], // the table path: 256-style grid and an overlay
    [radiograph(97, 131, 12), {}], // the histogram fallback: made whole, then resized
  ];
  for (const [frame, dataset] of cases) {
    const expected = toDisplayGrey(frame, dataset);
    const sizes = [
      displaySize(frame.columns, frame.rows, 256),
      { width: 64, height: 64 },
      { width: frame.columns, height: frame.rows }, // same size: a copy
      { width: 33, height: 700 },
    ];
    const { grey, resized } = toDisplayGreyAndResized(frame, dataset, undefined, sizes);
    assert.deepEqual(grey, expected);
    assert.equal(resized.length, sizes.length);
    for (const [i, size] of sizes.entries()) {
      assert.deepEqual(
        resized[i],
        resizeArea(expected, size.width, size.height),
        `${size.width}×${size.height}`,
      );
    }
  }
});
