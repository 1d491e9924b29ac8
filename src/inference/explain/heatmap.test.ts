import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputPlacement } from '../imaging/index.js';
import { normaliseHeatmap, resampleToImage } from './heatmap.js';
import { exactGradCam } from './gradcam.js';

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
