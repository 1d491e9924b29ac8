import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LUNG_GRID,
  boxToSource,
  cropGrey,
  heatmapInLungMask,
  heatmapInLungs,
  largestComponent,
  lungFieldOf,
  lungFieldPlacement,
  lungMaskAt,
  zeroOutsideBox,
} from './procedure.js';
import { exactGradCam } from '../explain/index.js';

const N = LUNG_GRID;

/** Two lung-like ellipses: the patient's right lung on the image's left, with probability p. */
function twoLungs(
  p = 0.95,
  options: { rightCx?: number; leftCx?: number; ry?: number } = {},
): Float32Array {
  const data = new Float32Array(2 * N * N);
  const lungs = [
    { cx: options.rightCx ?? 0.3, channel: 0 },
    { cx: options.leftCx ?? 0.7, channel: 1 },
  ];
  for (const { cx, channel } of lungs) {
    for (let y = 0; y < N; y++) {
      for (let x = 0; x < N; x++) {
        const dx = ((x + 0.5) / N - cx) / 0.12;
        const dy = ((y + 0.5) / N - 0.5) / (options.ry ?? 0.3);
        if (dx * dx + dy * dy <= 1) data[channel * N * N + y * N + x] = p;
      }
    }
  }
  return data;
}

test('two lungs of plausible size, confidence, shape and place make a plausible field', () => {
  const field = lungFieldOf({ data: twoLungs() }, 2048, 1536);
  assert.equal(field.plausible, true, JSON.stringify(field.reasons));
  assert.ok(field.lungs.right.centroidX! < 0.5 && field.lungs.left.centroidX! > 0.5);
  assert.ok(Math.abs(field.lungs.right.confidence - Math.fround(0.95)) < 1e-9);
  // An ellipse fills π/4 of its bounding box.
  assert.ok(Math.abs(field.lungs.left.fill - Math.PI / 4) < 0.02);
  const [x0, y0, x1, y1] = field.box256!;
  assert.deepEqual(field.box, boxToSource(x0, y0, x1, y1, 2048, 1536));
});

test('each failing check gives its coded reason, in the documented order', () => {
  const unsure = lungFieldOf({ data: twoLungs(0.6) }, 512, 512);
  assert.deepEqual(
    unsure.reasons.map((r) => [r.code, r.lung]),
    [
      ['LUNG_CONFIDENCE', 'right'],
      ['LUNG_CONFIDENCE', 'left'],
    ],
  );
  assert.equal(unsure.reasons[0]!.text, 'right lung confidence 0.600 < 0.85');

  const empty = lungFieldOf({ data: new Float32Array(2 * N * N) }, 512, 512);
  assert.deepEqual(
    empty.reasons.map((r) => r.code),
    ['LUNG_AREA', 'LUNG_AREA'],
  );
  assert.equal(empty.box, null);

  const swapped = lungFieldOf({ data: twoLungs(0.95, { rightCx: 0.7, leftCx: 0.3 }) }, 512, 512);
  assert.deepEqual(
    swapped.reasons.map((r) => r.code),
    ['LUNG_SIDES'],
  );
  const close = lungFieldOf({ data: twoLungs(0.95, { rightCx: 0.42, leftCx: 0.58 }) }, 512, 512);
  assert.deepEqual(
    close.reasons.map((r) => r.code),
    ['LUNG_SEPARATION'],
  );
  // Too large: an ellipse reaching most of the grid's height and width.
  const big = twoLungs(0.95, { ry: 0.9 });
  const huge = lungFieldOf({ data: big }, 512, 512);
  assert.ok(huge.reasons.every((r) => r.code !== 'LUNG_SIDES'));
});

test('a rectangle is not a lung (fill above 0.90)', () => {
  const data = new Float32Array(2 * N * N);
  for (const [c, x0] of [
    [0, 30],
    [1, 150],
  ] as const) {
    for (let y = 60; y < 200; y++)
      for (let x = x0; x < x0 + 70; x++) data[c * N * N + y * N + x] = 0.99;
  }
  const field = lungFieldOf({ data }, 256, 256);
  assert.deepEqual(
    field.reasons.map((r) => [r.code, r.lung]),
    [
      ['LUNG_FILL', 'right'],
      ['LUNG_FILL', 'left'],
    ],
  );
});

test('largest 4-connected component; diagonal pixels are not connected; ties go to the first in raster order', () => {
  // Row 0: a 2-pixel run at x 0-1; a diagonal pair (3,0),(4,1) is two components; row 3: 2 pixels.
  const w = 6;
  const grid = new Uint8Array(w * 4);
  grid[0] = 1;
  grid[1] = 1;
  grid[3] = 1;
  grid[w + 4] = 1;
  grid[3 * w + 2] = 1;
  grid[3 * w + 3] = 1;
  const kept = largestComponent(grid, w, 4);
  assert.deepEqual(
    [...kept.entries()].filter(([, v]) => v === 1).map(([i]) => i),
    [0, 1],
  );
  // A U shape joined at the bottom is one component, larger than a later 3-pixel run.
  const u = new Uint8Array(w * 4);
  for (const i of [0, 2, w, w + 2, 2 * w, 2 * w + 1, 2 * w + 2, 5, 2 * w + 5, 3 * w + 5]) u[i] = 1;
  assert.equal(
    largestComponent(u, w, 4).reduce((a, b) => a + b, 0),
    7,
  );
  assert.equal(
    largestComponent(new Uint8Array(16), 4, 4).reduce((a, b) => a + b, 0),
    0,
  );
});

test('boxToSource: the written double arithmetic, margin 5% per side, clamped to the image', () => {
  // Grid 64..191 of a 1000-pixel axis: 250 … 750, margin 25.
  assert.deepEqual(boxToSource(64, 64, 191, 191, 1000, 1000), {
    left: 225,
    right: 775,
    top: 225,
    bottom: 775,
  });
  assert.deepEqual(boxToSource(0, 0, 255, 255, 333, 777), {
    left: 0,
    right: 333,
    top: 0,
    bottom: 777,
  });
  // Fractions round outwards: floor on the left/top, ceil on the right/bottom.
  const b = boxToSource(10, 20, 100, 200, 1023, 769);
  assert.equal(
    b.left,
    Math.floor((10 * 1023) / 256 - ((101 * 1023) / 256 - (10 * 1023) / 256) * 0.05),
  );
  assert.equal(
    b.bottom,
    Math.ceil((201 * 769) / 256 + ((201 * 769) / 256 - (20 * 769) / 256) * 0.05),
  );
});

test('cropGrey takes the half-open rectangle and refuses one outside the image', () => {
  const image = { width: 4, height: 3, data: Float32Array.from({ length: 12 }, (_, i) => i) };
  assert.deepEqual(
    [...cropGrey(image, { left: 1, right: 3, top: 1, bottom: 3 }).data],
    [5, 6, 9, 10],
  );
  assert.throws(
    () => cropGrey(image, { left: 2, right: 5, top: 0, bottom: 1 }),
    /does not lie inside/,
  );
});

test('a CAM over the crop lands on the crop, nothing outside it', () => {
  const box = { left: 20, right: 80, top: 10, bottom: 50 };
  // A 2×2 map with all heat in its top-left cell.
  const features = { data: Float32Array.from([1, 0, 0, 0]), k: 1, h: 2, w: 2 };
  const target = { width: 100, height: 60, placement: lungFieldPlacement(box, 100, 60, 224, 224) };
  const heatmap = exactGradCam(features, Float32Array.from([1]), target);
  zeroOutsideBox(heatmap, box, 100, 60);
  let peak = 0;
  for (let i = 1; i < heatmap.data.length; i++)
    if (heatmap.data[i]! > heatmap.data[peak]!) peak = i;
  // The top-left cell's centre is at the crop's (1/4, 1/4): x = 20 + 15, y = 10 + 10.
  const x = peak % 100;
  const y = Math.floor(peak / 100);
  assert.ok(x >= 20 && x <= 35 && y >= 10 && y <= 20, `peak at ${x},${y}`);
  assert.equal(heatmap.data[5 * 100 + 50], 0, 'above the crop');
  assert.equal(heatmap.data[30 * 100 + 10], 0, 'left of the crop');
  assert.ok(heatmap.data[20 * 100 + 21]! > 0);
});

test('heatmapInLungs: share of energy inside the mask and whether the peak is', () => {
  const heat = { width: 4, height: 1, data: Float32Array.from([1, 3, 0, 4]) };
  assert.deepEqual(heatmapInLungs(heat, Uint8Array.from([0, 1, 1, 0])), {
    energyInside: 3 / 8,
    peakInside: false,
  });
  assert.deepEqual(heatmapInLungs({ ...heat, data: new Float32Array(4) }, new Uint8Array(4)), {
    energyInside: null,
    peakInside: null,
  });
});

test('heatmapInLungMask: the same share and peak as the whole step-8 mask, bit for bit', () => {
  let seed = 5;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  // Lung maps whose edges sit near 0.5, where a change in the resize's rounding would flip
  // mask pixels: the ellipses at 0.95 blurred by a ramp, plus noise of ±0.002.
  const base = twoLungs();
  const data = new Float32Array(base.length);
  for (let i = 0; i < data.length; i++) {
    const x = i % N;
    data[i] = Math.min(1, Math.max(0, base[i]! * (0.4 + (0.3 * x) / N) + (random() - 0.5) * 0.004));
  }
  const probabilities = { data };
  for (const [width, height] of [
    [1024, 1024],
    [1024, 853],
    [700, 1024],
    [128, 128],
    [256, 256],
    [97, 300],
  ] as const) {
    const heat = new Float32Array(width * height);
    for (let i = 0; i < heat.length; i++) {
      // Zero outside a central box and in a third of the rest, as a clipped, ReLU'd CAM is.
      const x = i % width;
      const y = Math.floor(i / width);
      const inBox = x > width * 0.1 && x < width * 0.9 && y > height * 0.05 && y < height * 0.95;
      heat[i] = inBox && random() > 0.33 ? random() : 0;
    }
    const heatmap = { width, height, data: heat };
    assert.deepEqual(
      heatmapInLungMask(heatmap, probabilities),
      heatmapInLungs(heatmap, lungMaskAt(probabilities, width, height)),
      `${width}×${height}`,
    );
    // The peak outside the lungs, then inside: both answers as the mask gives them.
    for (const at of [0, Math.floor(height / 2) * width + Math.floor(width * 0.3)]) {
      const peaked = { width, height, data: Float32Array.from(heat) };
      peaked.data[at] = 2;
      assert.deepEqual(
        heatmapInLungMask(peaked, probabilities),
        heatmapInLungs(peaked, lungMaskAt(probabilities, width, height)),
        `${width}×${height}, peak at ${at}`,
      );
    }
  }
  // A broken lung model's NaN inside a lung: its neighbourhood is not decided by cell.
  const broken = { data: Float32Array.from(data) };
  broken.data[N * N + 128 * N + Math.floor(0.7 * N)] = NaN; // the left lung, where p > 0.5
  const heat = { width: 1024, height: 1024, data: new Float32Array(1024 * 1024).fill(1) };
  assert.deepEqual(
    heatmapInLungMask(heat, broken),
    heatmapInLungs(heat, lungMaskAt(broken, 1024, 1024)),
    'NaN in the lung maps',
  );
  const empty = { width: 8, height: 8, data: new Float32Array(64) };
  assert.deepEqual(heatmapInLungMask(empty, probabilities), {
    energyInside: null,
    peakInside: null,
  });
});

/** Lung maps whose probability falls smoothly through 0.5 at each ellipse's edge. */
function smoothLungs(rightCx: number, leftCx: number): Float32Array {
  const data = new Float32Array(2 * N * N);
  for (const [channel, cx] of [
    [0, rightCx],
    [1, leftCx],
  ] as const) {
    for (let y = 0; y < N; y++) {
      for (let x = 0; x < N; x++) {
        const dx = ((x + 0.5) / N - cx) / 0.12;
        const dy = ((y + 0.5) / N - 0.5) / 0.3;
        const r = Math.sqrt(dx * dx + dy * dy);
        data[channel * N * N + y * N + x] = 1 / (1 + Math.exp(-(1 - r) / 0.05));
      }
    }
  }
  return data;
}

test('heatmapInLungMask equals the whole step-8 mask on real-size, zero-edged, −0, NaN, tiny and non-square maps', () => {
  let seed = 11;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const apart = smoothLungs(0.3, 0.7);
  // Lungs that touch: cells where both lungs' masks must be computed, and where both are in.
  const touching = smoothLungs(0.42, 0.58);
  const nanInLung = Float32Array.from(apart);
  nanInLung[N * N + 128 * N + Math.floor(0.7 * N)] = NaN;
  const nanInCorner = Float32Array.from(touching);
  nanInCorner[0] = NaN;
  const maps: [string, Float32Array][] = [
    ['apart', apart],
    ['touching', touching],
    ['NaN in a lung', nanInLung],
    ['NaN in a corner', nanInCorner],
  ];
  const sizes = [
    [1024, 1024],
    [2048, 2048],
    [1024, 853],
    [853, 1024],
    [256, 256],
    [255, 300],
    [300, 255],
    [97, 64],
    [3, 1000],
    [1000, 3],
    [1, 1],
  ] as const;
  for (const [name, data] of maps) {
    const probabilities = { data };
    for (const [width, height] of sizes) {
      const mask = lungMaskAt(probabilities, width, height);
      const check = (heat: Float32Array, what: string): void => {
        const heatmap = { width, height, data: heat };
        assert.deepEqual(
          heatmapInLungMask(heatmap, probabilities),
          heatmapInLungs(heatmap, mask),
          `${name}, ${width}×${height}, ${what}`,
        );
      };
      // A crop's heatmap: zero outside a box (+0 on one side, −0 on the other), ReLU zeros
      // and −0 inside it, a row of −0 across the box, and heat at the box's edge columns.
      const heat = new Float32Array(width * height);
      const [bx0, bx1] = [Math.floor(width * 0.15), Math.ceil(width * 0.85)];
      const [by0, by1] = [Math.floor(height * 0.1), Math.ceil(height * 0.9)];
      const zeroRow = Math.floor((by0 + by1) / 2);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const inBox = x >= bx0 && x < bx1 && y >= by0 && y < by1;
          const r = random();
          heat[y * width + x] =
            !inBox || y === zeroRow ? (x < width / 2 ? 0 : -0) : r < 0.25 ? 0 : r < 0.3 ? -0 : r;
        }
      }
      if (by0 < height) heat[by0 * width + bx0] = 0.5;
      if (by1 - 1 >= 0 && bx1 - 1 >= 0) heat[(by1 - 1) * width + bx1 - 1] = 0.5;
      check(heat, 'a crop');
      // Heat in every column, reaching both edges of the image.
      check(
        heat.map((v) => v + 0.25),
        'heat everywhere',
      );
      // The peak outside the lungs, then inside, then two equal peaks (the first one counts).
      for (const at of [0, Math.floor(height / 2) * width + Math.floor(width * 0.3)]) {
        const peaked = Float32Array.from(heat);
        peaked[at] = 2;
        check(peaked, `peak at ${at}`);
        peaked[width * height - 1] = 2;
        check(peaked, `equal peaks at ${at} and the last pixel`);
      }
      // Negative heat (not a ReLU'd CAM, but the definition takes it) and a NaN in the heat.
      const signed = heat.map((v, i) => (i % 7 === 0 ? -v : v));
      check(signed, 'negative values');
      const withNaN = Float32Array.from(heat);
      withNaN[Math.floor(withNaN.length / 2)] = NaN;
      check(withNaN, 'a NaN in the heat');
      check(new Float32Array(width * height).fill(-0), 'all −0');
      check(new Float32Array(width * height), 'all +0');
    }
  }
});
