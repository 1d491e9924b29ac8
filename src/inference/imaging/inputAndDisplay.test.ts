import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDisplayGrey } from './displayGrey.js';
import { displaySize, toDisplayGreyAndResized, toModelInputAndDisplay } from './inputAndDisplay.js';
import { toModelInput } from './modelInput.js';
import { resizeArea } from './resize.js';
import type { GreySource, ImageInputSpec, PixelFrameLike, WindowingRule } from './types.js';

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

/** Every row of a grey source, read bottom to top (rows can be read again, in any order). */
function readAll(source: GreySource): Float32Array {
  if ('data' in source) return source.data;
  const { width, height } = source;
  const out = new Float32Array(width * height);
  const buffer = new Float32Array(width);
  for (let y = height - 1; y >= 0; y--) out.set(source.row(y, buffer), y * width);
  return out;
}

test('toDisplayGreyAndResized: the grey and every size bit-identical to separate passes', () => {
  const windowed = { WindowCenter: 2048, WindowWidth: 4096 };
  const cases: Array<[PixelFrameLike, Record<string, unknown>, boolean]> = [
    [radiograph(512, 384, 12), windowed, false], // the table path: rows, not held
    [radiograph(97, 131, 12), {}, true], // the histogram fallback: made whole, then resized
  ];
  for (const [frame, dataset, held] of cases) {
    const expected = toDisplayGrey(frame, dataset);
    const sizes = [
      displaySize(frame.columns, frame.rows, 256),
      { width: 64, height: 64 },
      { width: frame.columns, height: frame.rows }, // same size: a copy
      { width: 33, height: 700 },
    ];
    const { grey, resized } = toDisplayGreyAndResized(frame, dataset, undefined, sizes);
    assert.equal(
      'data' in grey,
      held,
      'the full-resolution grey is held only when it had to be made whole',
    );
    assert.equal(grey.width, expected.width);
    assert.equal(grey.height, expected.height);
    assert.deepEqual(readAll(grey), expected.data);
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

test('toDisplayGreyAndResized: a size with a region resizes that crop, bit-identical to resizeArea of it', () => {
  // The lung field's edge-guard view (ADR 0165) comes from the same pass as the whole grid.
  const windowed = { WindowCenter: 2048, WindowWidth: 4096 };
  for (const [frame, dataset] of [
    [radiograph(512, 384, 12), windowed], // rows, not held
    [radiograph(97, 131, 12), {}], // made whole
  ] as const) {
    const expected = toDisplayGrey(frame, dataset);
    const regions = [
      { left: 20, top: 15, right: frame.columns - 20, bottom: frame.rows - 15 },
      { left: 0, top: 0, right: frame.columns, bottom: 1 }, // the first row only
      { left: frame.columns - 3, top: 2, right: frame.columns, bottom: frame.rows }, // a strip
    ];
    const sizes = [
      { width: 64, height: 64 },
      ...regions.map((region) => ({ width: 40, height: 30, region })),
      { width: 3, height: frame.rows - 2, region: regions[2]! }, // same size: a copy
    ];
    const { resized } = toDisplayGreyAndResized(frame, dataset, undefined, sizes);
    for (const [i, size] of sizes.entries()) {
      assert.deepEqual(
        resized[i],
        resizeArea(expected, size.width, size.height, 'region' in size ? size.region : undefined),
        `${size.width}×${size.height} of ${JSON.stringify('region' in size ? size.region : 'all')}`,
      );
    }
    assert.throws(
      () =>
        toDisplayGreyAndResized(frame, dataset, undefined, [
          { width: 8, height: 8, region: { left: 0, top: 0, right: frame.columns + 1, bottom: 4 } },
        ]),
      /does not lie inside/,
    );
  }
});

/** Deterministic stored values in [low, low + span). */
function storedValues(count: number, low: number, span: number, seed: number): number[] {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    values.push(low + (seed % span));
  }
  return values;
}

test('the crop read again from the stored values is the crop of the full grey, bit for bit', () => {
  const columns = 150;
  const rows = 110;
  const count = columns * rows;
  const frameOf = (
    pixels: PixelFrameLike['pixels'],
    bitsStored: number,
    signed: boolean,
    photometric: 'MONOCHROME1' | 'MONOCHROME2',
  ): PixelFrameLike => ({
    rows,
    columns,
    samplesPerPixel: 1,
    bitsAllocated: bitsStored <= 8 ? 8 : 16,
    bitsStored,
    pixelRepresentation: signed ? 1 : 0,
    photometricInterpretation: photometric,
    pixels,
  });
  const voiLut = {
    VOILUTSequence: [
      { LUTDescriptor: [4096, 0, 12], LUTData: Array.from({ length: 4096 }, (_, i) => 4095 - i) },
    ],
  };
  const cases: Array<{
    name: string;
    frame: PixelFrameLike;
    dataset: Record<string, unknown>;
    windowing?: WindowingRule;
  }> = [
    {
      name: '8-bit, windowed',
      frame: frameOf(Uint8Array.from(storedValues(count, 0, 256, 1)), 8, false, 'MONOCHROME2'),
      dataset: { WindowCenter: 120, WindowWidth: 180 },
    },
    {
      name: '12-bit MONOCHROME1, windowed',
      frame: frameOf(Uint16Array.from(storedValues(count, 0, 4096, 2)), 12, false, 'MONOCHROME1'),
      dataset: { WindowCenter: 1800, WindowWidth: 1200, VOILUTFunction: 'SIGMOID' },
    },
    {
      name: '12-bit, VOI LUT',
      frame: frameOf(Uint16Array.from(storedValues(count, 0, 4096, 3)), 12, false, 'MONOCHROME2'),
      dataset: voiLut,
    },
    {
      name: '16-bit, windowed (more values than pixels: the scanned range)',
      frame: frameOf(Uint16Array.from(storedValues(count, 0, 65536, 4)), 16, false, 'MONOCHROME2'),
      dataset: { WindowCenter: 30000, WindowWidth: 50000 },
    },
    {
      name: '16-bit signed, rescaled, LINEAR_EXACT',
      frame: frameOf(
        Int16Array.from(storedValues(count, -32768, 65536, 5)),
        16,
        true,
        'MONOCHROME2',
      ),
      dataset: {
        WindowCenter: 40,
        WindowWidth: 4000,
        RescaleSlope: 1.5,
        RescaleIntercept: -1024,
        VOILUTFunction: 'LINEAR_EXACT',
      },
    },
    {
      name: '12-bit signed MONOCHROME1, windowed',
      frame: frameOf(Int32Array.from(storedValues(count, -2048, 4096, 6)), 12, true, 'MONOCHROME1'),
      dataset: { WindowCenter: 0, WindowWidth: 3000 },
    },
    {
      name: '12-bit unwindowed, the stored range',
      frame: frameOf(Uint16Array.from(storedValues(count, 0, 4096, 7)), 12, false, 'MONOCHROME2'),
      dataset: {},
      windowing: { kind: 'voiLut', fallback: 'storedRange' },
    },
    {
      name: '12-bit unwindowed, the histogram fallback (made whole)',
      frame: frameOf(Uint16Array.from(storedValues(count, 0, 4096, 8)), 12, false, 'MONOCHROME1'),
      dataset: {},
    },
    {
      name: '12-bit, a decoder that did not mask (the table widened after the first rows)',
      frame: frameOf(
        Int32Array.from(storedValues(count, 0, 4096, 9), (v, i) =>
          i === 40 * columns + 3 ? 6000 : v,
        ),
        12,
        false,
        'MONOCHROME2',
      ),
      dataset: { WindowCenter: 2048, WindowWidth: 4096 },
    },
    {
      name: '12-bit, a value too far for any table (evaluated whole, inside the rows)',
      frame: frameOf(
        Int32Array.from(storedValues(count, 0, 4096, 10), (v, i) =>
          i === 70 * columns ? 400_000 : v,
        ),
        12,
        false,
        'MONOCHROME2',
      ),
      dataset: { WindowCenter: 2048, WindowWidth: 4096 },
    },
  ];
  const crops = [
    { left: 13, top: 9, right: 141, bottom: 104 },
    { left: 0, top: 0, right: columns, bottom: rows },
    { left: 70, top: 50, right: 71, bottom: 90 },
  ];
  for (const { name, frame, dataset, windowing } of cases) {
    const expected = toDisplayGrey(frame, dataset, windowing);
    const { grey } = toDisplayGreyAndResized(frame, dataset, windowing, [
      { width: 40, height: 30 },
    ]);
    for (const crop of crops) {
      for (const [w, h] of [
        [224, 224], // the classifier's input: the crop stretched up
        [31, 17], // down
        [crop.right - crop.left, crop.bottom - crop.top], // same size: the crop itself
      ] as const) {
        assert.deepEqual(
          resizeArea(grey, w, h, crop),
          resizeArea(expected, w, h, crop),
          `${name}, crop ${JSON.stringify(crop)} → ${w}×${h}`,
        );
      }
    }
    // And the classifier's tensor itself (stretched, normalised), as classifierInput makes it.
    const input: ImageInputSpec = { ...spec, resize: 'stretch' };
    assert.deepEqual(
      toModelInput(grey, input, crops[0]),
      toModelInput(expected, input, crops[0]),
      `${name}: model input`,
    );
    // A whole-image classifier run with the lung model (analyze --lungs): the whole grey, letterboxed.
    assert.deepEqual(
      toModelInput(grey, spec),
      toModelInput(expected, spec),
      `${name}: whole-image model input`,
    );
  }
});
