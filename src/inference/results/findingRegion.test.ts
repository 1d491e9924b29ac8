import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticHeatmap, syntheticSource } from '../../../test/support/results.js';
import { heatmapRegion, wholeImageRegion } from './findingRegion.js';
import type { Heatmap } from './types.js';

/** Even-odd rule: is (x, y) inside the closed polygon? */
function inside(points: number[], x: number, y: number): boolean {
  let hit = false;
  for (let i = 0, j = points.length - 2; i < points.length; j = i, i += 2) {
    const [xi, yi, xj, yj] = [points[i]!, points[i + 1]!, points[j]!, points[j + 1]!];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

test('the hottest region of the map becomes a closed polyline around it, in source pixels', () => {
  // 16×16 map on a 256×256 image: the peak is cell (col 4, row 11), pixels 64–80 × 176–192.
  const region = heatmapRegion(syntheticHeatmap(), syntheticSource());
  assert.equal(region.graphicType, 'POLYLINE');
  assert.equal(region.basis, 'hottest-region');
  const p = region.points;
  assert.deepEqual(p.slice(0, 2), p.slice(-2), 'closed: first point repeated last');
  assert.ok(inside(p, 72, 184), 'contains the peak cell centre');
  // Heat ≥ 50% of 3 is within 1.5 cells of the peak: the region stays in cells 2–6 × 9–13.
  for (let i = 0; i < p.length; i += 2) {
    assert.ok(p[i]! >= 2 * 16 && p[i]! <= 7 * 16, `x ${p[i]}`);
    assert.ok(p[i + 1]! >= 9 * 16 && p[i + 1]! <= 14 * 16, `y ${p[i + 1]}`);
  }
  assert.ok(!inside(p, 200, 40), 'not the opposite corner');
});

test('a map that is hot everywhere localises nothing: the hottest point', () => {
  const data = new Float32Array(64).fill(1);
  data[9] = 1.2; // col 1, row 1 of 8×8
  const map: Heatmap = { width: 8, height: 8, data, max: 1.2 };
  const region = heatmapRegion(map, syntheticSource());
  assert.equal(region.graphicType, 'POINT');
  assert.equal(region.basis, 'hottest-point');
  assert.deepEqual(region.points, [48, 48]); // centre of cell (1,1), 32 px per cell
});

test('a flat zero map points at the image centre; no heatmap marks the whole image', () => {
  const flat: Heatmap = { width: 4, height: 4, data: new Float32Array(16), max: 0 };
  assert.deepEqual(heatmapRegion(flat, syntheticSource()).points, [128, 128]);
  const whole = wholeImageRegion(syntheticSource());
  assert.equal(whole.basis, 'whole-image');
  assert.deepEqual(whole.points, [0, 0, 256, 0, 256, 256, 0, 256, 0, 0]);
});

test('two separate hot spots: only the one holding the maximum', () => {
  const data = new Float32Array(100);
  data[11] = 1; // col 1, row 1
  data[88] = 0.9; // col 8, row 8
  const region = heatmapRegion({ width: 10, height: 10, data, max: 1 }, syntheticSource());
  assert.equal(region.graphicType, 'POLYLINE');
  assert.ok(Math.max(...region.points) <= 2 * 25.6 + 0.01, region.points.join(','));
});
