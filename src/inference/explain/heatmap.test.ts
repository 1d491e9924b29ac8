import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputPlacement } from '../imaging/index.js';
import { maxOf, normaliseHeatmap, resampleToImage, resampleWithMax } from './heatmap.js';
import { exactGradCam, exactGradCamRows } from './gradcam.js';

/** A map whose value is its own row coordinate: bilinear resampling reproduces it exactly. */
function rowRamp(width: number, height: number): Float32Array {
  return Float32Array.from({ length: width * height }, (_, i) => Math.floor(i / width));
}

test('resampling maps each image pixel to where it sat in the model input', () => {
  const map = { width: 8, height: 8, data: rowRamp(8, 8) };
  // A 32x16 image letterboxed into a 16x16 input occupies input rows 4..12.
  const content = inputPlacement(32, 16, { width: 16, height: 16, resize: 'letterbox' });
  assert.deepEqual([content.y, content.height], [4, 8]);
  const placement = { ...content, inputWidth: 16, inputHeight: 16 };
  const boxed = resampleToImage(map, { width: 32, height: 16, placement });
  const stretched = resampleToImage(map, { width: 32, height: 16 });
  for (let y = 0; y < 16; y++) {
    const inputRow = 4 + ((y + 0.5) * 8) / 16; // letterboxed: image row → input row
    const expectedBoxed = (inputRow / 16) * 8 - 0.5; // input row → feature row coordinate
    const expectedStretched = Math.min(Math.max(((y + 0.5) / 16) * 8 - 0.5, 0), 7);
    assert.ok(Math.abs(boxed[y * 32 + 5]! - expectedBoxed) < 1e-5, `row ${y}`);
    assert.ok(Math.abs(stretched[y * 32 + 5]! - expectedStretched) < 1e-5, `row ${y}`);
  }
  // The letterboxed image never reaches the padding rows (feature rows < 1.5 or > 5.5).
  assert.ok(Math.min(...boxed) >= 1.5 && Math.max(...boxed) <= 5.5);
});

test('resampling to the map size is the identity', () => {
  const data = Float32Array.from({ length: 12 }, (_, i) => i * 1.5);
  assert.deepEqual(resampleToImage({ width: 4, height: 3, data }, { width: 4, height: 3 }), data);
});

test('Grad-CAM heatmaps are ReLU-clipped, upsampled, and normalised honestly', () => {
  // K = 2 channels on a 2x2 map; weights +1 and -1.
  const features = {
    k: 2,
    h: 2,
    w: 2,
    data: Float32Array.of(4, 0, 1, 2, /* channel 1 */ 1, 1, 3, 0),
  };
  const heatmap = exactGradCam(features, Float32Array.of(1, -1), { width: 2, height: 2 });
  assert.deepEqual(heatmap.data, Float32Array.of(3, 0, 0, 2));
  assert.equal(heatmap.max, 3);
  const big = exactGradCam(features, Float32Array.of(1, -1), { width: 20, height: 10 });
  assert.equal(big.data.length, 200);
  assert.ok(big.data.every((v) => v >= 0));
  const shown = normaliseHeatmap(heatmap);
  assert.equal(shown.rawMax, 3);
  assert.deepEqual(shown.data, Float32Array.of(1, 0, 0, 2 / 3));
  const empty = normaliseHeatmap({ width: 1, height: 2, data: new Float32Array(2), max: 0 });
  assert.deepEqual([...empty.data, empty.rawMax], [0, 0, 0]);
});

test('a placement covering the whole input maps like the stretch case', () => {
  const map = { width: 7, height: 5, data: rowRamp(7, 5) };
  const whole = inputPlacement(40, 30, { width: 16, height: 16, resize: 'stretch' });
  const placement = { ...whole, inputWidth: 16, inputHeight: 16 };
  assert.deepEqual(
    resampleToImage(map, { width: 40, height: 30, placement }),
    resampleToImage(map, { width: 40, height: 30 }),
  );
});

/**
 * The per-pixel bilinear formula resampleToImage used before its rows were precomputed
 * (issue #14 item 7): the oracle for bit-identical heatmaps, and with them identical PNG,
 * Parametric Map and Secondary Capture bytes.
 */
function perPixelResample(
  map: { width: number; height: number; data: Float32Array },
  width: number,
  height: number,
  letterbox?: { x: number; y: number; width: number; height: number; full: number },
): Float32Array {
  const along = (t: number, size: number, mapSize: number, offset?: number, extent?: number) => {
    const fraction =
      offset !== undefined && extent !== undefined && !(offset === 0 && extent === letterbox!.full)
        ? (offset + ((t + 0.5) * extent) / size) / letterbox!.full
        : (t + 0.5) / size;
    const s = Math.min(Math.max(fraction * mapSize - 0.5, 0), mapSize - 1);
    const lo = Math.floor(s);
    return { i0: lo, i1: Math.min(lo + 1, mapSize - 1), f: Math.fround(s - lo) };
  };
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const ay = along(y, height, map.height, letterbox?.y, letterbox?.height);
    for (let x = 0; x < width; x++) {
      const ax = along(x, width, map.width, letterbox?.x, letterbox?.width);
      const r0 = ay.i0 * map.width;
      const r1 = ay.i1 * map.width;
      const top = map.data[r0 + ax.i0]! * (1 - ax.f) + map.data[r0 + ax.i1]! * ax.f;
      const bottom = map.data[r1 + ax.i0]! * (1 - ax.f) + map.data[r1 + ax.i1]! * ax.f;
      out[y * width + x] = top * (1 - ay.f) + bottom * ay.f;
    }
  }
  return out;
}

test('row-precomputed resampling is bit-identical to the per-pixel formula, max included', () => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const map = { width: 7, height: 7, data: Float32Array.from({ length: 49 }, () => random() * 9) };
  for (const [width, height] of [
    [300, 211],
    [64, 64],
    [5, 3],
  ] as const) {
    const plain = resampleWithMax(map, { width, height });
    assert.deepEqual(
      new Uint8Array(plain.data.buffer),
      new Uint8Array(perPixelResample(map, width, height).buffer),
    );
    assert.equal(plain.max, maxOf(plain.data));
    const content = inputPlacement(width, height, { width: 16, height: 16, resize: 'letterbox' });
    const placement = { ...content, inputWidth: 16, inputHeight: 16 };
    const boxed = resampleWithMax(map, { width, height, placement });
    const expected = perPixelResample(map, width, height, { ...content, full: 16 });
    assert.deepEqual(new Uint8Array(boxed.data.buffer), new Uint8Array(expected.buffer));
    assert.deepEqual(resampleToImage(map, { width, height, placement }), boxed.data);
  }
});

test("Grad-CAM made row by row gives the whole map's values, bit for bit", () => {
  const k = 3;
  const features = {
    k,
    h: 7,
    w: 7,
    data: Float32Array.from({ length: k * 49 }, (_, i) => Math.sin(i * 0.37) * 4),
  };
  const weights = Float32Array.of(0.8, -0.3, 1.7);
  const content = inputPlacement(90, 61, { width: 16, height: 16, resize: 'letterbox' });
  const target = {
    width: 90,
    height: 61,
    placement: { ...content, inputWidth: 16, inputHeight: 16 },
  };
  const whole = exactGradCam(features, weights, target);
  const rows = exactGradCamRows(features, weights, target);
  assert.deepEqual([rows.width, rows.height], [90, 61]);
  const made = new Float32Array(90 * 61);
  for (let y = 0; y < 61; y++) rows.row(y, made.subarray(y * 90, (y + 1) * 90));
  assert.deepEqual(new Uint8Array(made.buffer), new Uint8Array(whole.data.buffer));
  assert.ok(whole.max > 0);
});

test("the rows a map made by rows names for its maximum hold the whole map's maximum", () => {
  // Random feature maps on a stretched and a letterboxed grid: the largest value over
  // maximumRows (16 of 2048 rows at 2048²) is the largest over every row, which is what lets
  // the heatmap PNG make each map once (ADR 0129).
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (const [width, height, inputWidth, inputHeight] of [
    [300, 300, 16, 16],
    [317, 203, 16, 16],
    [120, 410, 32, 16],
  ] as const) {
    for (let trial = 0; trial < 20; trial++) {
      const k = 4;
      const features = {
        k,
        h: 7,
        w: 7,
        data: Float32Array.from({ length: k * 49 }, () => random() * 6 - 2),
      };
      const weights = Float32Array.from({ length: k }, () => random() * 2 - 0.5);
      const content = inputPlacement(width, height, {
        width: inputWidth,
        height: inputHeight,
        resize: trial % 2 === 0 ? 'letterbox' : 'stretch',
      });
      const target = { width, height, placement: { ...content, inputWidth, inputHeight } };
      const rows = exactGradCamRows(features, weights, target);
      assert.ok(rows.maximumRows.length < height / 4, `${rows.maximumRows.length} rows named`);
      const whole = exactGradCam(features, weights, target);
      const buffer = new Float32Array(width);
      let max = 0;
      for (const y of rows.maximumRows) {
        rows.row(y, buffer);
        for (const value of buffer) if (value > max) max = value;
      }
      assert.equal(max, whole.max, `${width}×${height}, trial ${trial}`);
    }
  }
});
