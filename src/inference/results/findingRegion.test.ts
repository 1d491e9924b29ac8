import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticHeatmap, syntheticSource } from '../../../test/support/results.js';
import { fillRegion, heatmapRegion, wholeImageRegion } from './findingRegion.js';
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

test('the span fill finds the same cells as a cell-by-cell 8-connected fill', () => {
  // ADR 0129: the oracle is the fill heatmapRegion used before, eight neighbours per cell.
  let seed = 11;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let trial = 0; trial < 200; trial++) {
    const width = 5 + Math.floor(random() * 40);
    const height = 5 + Math.floor(random() * 30);
    const density = 0.3 + random() * 0.5; // mazes, islands, diagonal-only links and holes
    const data = Float32Array.from({ length: width * height }, () =>
      random() < density ? 0.5 + random() : random() * 0.49,
    );
    const start = Math.floor(random() * data.length);
    data[start] = 2;
    const left = new Int32Array(height).fill(width);
    const right = new Int32Array(height).fill(-1);
    const count = fillRegion(data, width, height, start, 0.5, left, right);

    const expectedLeft = new Int32Array(height).fill(width);
    const expectedRight = new Int32Array(height).fill(-1);
    const seen = new Uint8Array(data.length);
    const stack = [start];
    seen[start] = 1;
    let expectedCount = 0;
    while (stack.length > 0) {
      const cell = stack.pop()!;
      expectedCount += 1;
      const x = cell % width;
      const y = (cell - x) / width;
      expectedLeft[y] = Math.min(expectedLeft[y]!, x);
      expectedRight[y] = Math.max(expectedRight[y]!, x);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const next = ny * width + nx;
          if (seen[next] === 0 && data[next]! >= 0.5) {
            seen[next] = 1;
            stack.push(next);
          }
        }
      }
    }
    assert.equal(count, expectedCount, `trial ${trial}`);
    assert.deepEqual(left, expectedLeft, `trial ${trial}`);
    assert.deepEqual(right, expectedRight, `trial ${trial}`);
  }
});
