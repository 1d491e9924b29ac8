import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactGradCam } from '../explain/index.js';
import { clipToBox, heatmapOver, type ClassifierInput } from './classifierInput.js';
import { lungFieldPlacement, type SourceBox } from './procedure.js';

function prepared(
  box: SourceBox,
  source: { width: number; height: number },
): Extract<ClassifierInput, { kind: 'input' }> {
  return {
    kind: 'input',
    input: new Float32Array(0),
    placement: lungFieldPlacement(box, source.width, source.height, 224, 224),
    box,
    lungs: null,
  };
}

test('heatmapOver a crop: the map clipToBox(exactGradCam(…)) gives, bit for bit, and its max', () => {
  let seed = 3;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const k = 4;
  const features = {
    data: Float32Array.from({ length: k * 7 * 7 }, () => random() - 0.3),
    k,
    h: 7,
    w: 7,
  };
  const weights = Float32Array.from([0.7, -0.2, 0.5, 0.1]);
  const source = { width: 2048, height: 1792 };
  for (const box of [
    { left: 301, right: 1777, top: 155, bottom: 1650 }, // a lung field
    { left: 0, right: 2048, top: 0, bottom: 1792 }, // the whole image
    { left: 0, right: 900, top: 1000, bottom: 1792 }, // touching two edges
    { left: 1000, right: 1001, top: 5, bottom: 6 }, // no overlay pixel's centre inside
  ]) {
    for (const size of [{ width: 1024, height: 896 }, { width: 777, height: 1000 }, source]) {
      const p = prepared(box, source);
      const expected = clipToBox(
        exactGradCam(features, weights, { ...size, placement: p.placement }),
        box,
        source,
      );
      const got = heatmapOver(p, features, weights, size, source);
      const what = `box ${JSON.stringify(box)} over ${size.width}×${size.height}`;
      assert.equal(got.width, expected.width, what);
      assert.equal(got.height, expected.height, what);
      assert.ok(Object.is(got.max, expected.max), `${what}: max ${got.max} vs ${expected.max}`);
      assert.deepEqual(got.data, expected.data, what);
    }
  }
});

test('heatmapOver the whole image (no crop) is exactGradCam', () => {
  const features = { data: Float32Array.from([1, 0, 2, 0.5]), k: 1, h: 2, w: 2 };
  const weights = Float32Array.from([1.5]);
  const placement = { x: 0, y: 0, width: 224, height: 224, inputWidth: 224, inputHeight: 224 };
  const p: Extract<ClassifierInput, { kind: 'input' }> = {
    kind: 'input',
    input: new Float32Array(0),
    placement,
    box: null,
    lungs: null,
  };
  const size = { width: 50, height: 40 };
  assert.deepEqual(
    heatmapOver(p, features, weights, size, size),
    exactGradCam(features, weights, { ...size, placement }),
  );
});
