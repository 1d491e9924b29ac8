import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { AreaResizeProbe, resizeArea } from './resize.js';
import { assertClose } from '../../../test/support/imaging.js';
import type { GreyImage } from './types.js';

const image = (width: number, height: number, values: number[]): GreyImage => ({
  width,
  height,
  data: Float32Array.from(values),
});

const mean = (data: Float32Array): number => data.reduce((s, v) => s + v, 0) / data.length;

test('3×3 → 2×2 area average, by hand', () => {
  // Each output pixel covers 1.5×1.5 source pixels: weights 1 and 0.5 per axis, over 1.5².
  // Top-left: (1·1 + 2·0.5 + 4·0.5 + 5·0.25) / 2.25 = 5.25 / 2.25 = 7/3.
  const out = resizeArea(image(3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]), 2, 2);
  assert.equal(out.width, 2);
  assert.equal(out.height, 2);
  assertClose(out.data, [7 / 3, 11 / 3, 19 / 3, 23 / 3], 1e-6);
});

test('integer downscale is the block mean', () => {
  const out = resizeArea(image(4, 2, [0, 2, 4, 6, 8, 10, 12, 14]), 2, 1);
  assertClose(out.data, [5, 9]);
});

test('area downscale conserves the mean for awkward ratios', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const source = image(37, 23, Array.from({ length: 37 * 23 }, random));
  for (const [w, h] of [
    [10, 7],
    [36, 22],
    [1, 1],
    [19, 5],
  ] as const) {
    const out = resizeArea(source, w, h);
    assert.ok(Math.abs(mean(out.data) - mean(source.data)) < 1e-6, `${w}×${h}`);
  }
});

test('bilinear upscale with pixel-centre alignment', () => {
  // Source centres at 0.5 and 1.5; outputs sample at 0.25, 0.75, 1.25, 1.75 (source units),
  // i.e. source coordinates −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  const out = resizeArea(image(2, 1, [0, 1]), 4, 1);
  assertClose(out.data, [0, 0.25, 0.75, 1]);
  const square = resizeArea(image(2, 2, [0, 1, 2, 3]), 4, 4);
  assertClose(square.data.subarray(4, 8), [0.5, 0.75, 1.25, 1.5]);
});

test('each axis picks its filter: shrink x by area, grow y bilinearly', () => {
  const out = resizeArea(image(4, 2, [0, 2, 4, 6, 10, 12, 14, 16]), 2, 4);
  assertClose(out.data, [1, 5, 3.5, 7.5, 8.5, 12.5, 11, 15]);
});

test('same size copies; invalid sizes are refused', () => {
  const source = image(2, 1, [0.25, 0.5]);
  const out = resizeArea(source, 2, 1);
  assertClose(out.data, [0.25, 0.5]);
  assert.notEqual(out.data, source.data);
  assert.throws(
    () => resizeArea(source, 0, 1),
    (e: unknown) => e instanceof RadiolensError && e.code === 'E_BAD_INPUT',
  );
  assert.throws(() => resizeArea(source, 2.5, 1), RadiolensError);
});

test('a 3000×3000 radiograph resizes to 512×512 quickly', () => {
  const big = { width: 3000, height: 3000, data: new Float32Array(9_000_000).fill(0.5) };
  const started = performance.now();
  const out = resizeArea(big, 512, 512);
  const ms = performance.now() - started;
  assert.ok(Math.abs((out.data[1000] as number) - 0.5) < 1e-6);
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
});

test('an exact halving in both directions adds each output pixel as the whole-image pass does', () => {
  // The documented order (ADR 0021): horizontal sums in float64 from +0, then the output row
  // accumulates its two source rows into float32, the upper first.
  const width = 12;
  const height = 8;
  let seed = 11;
  const data = Float32Array.from({ length: width * height }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed / 0x7fffffff) * (seed % 7 === 0 ? -1 : 1);
  });
  const out = resizeArea({ width, height, data }, width / 2, height / 2);
  const expected = new Float32Array((width / 2) * (height / 2));
  for (let y = 0; y < height / 2; y++) {
    for (let x = 0; x < width / 2; x++) {
      const along = (row: number): number =>
        0 + 0.5 * data[row * width + 2 * x]! + 0.5 * data[row * width + 2 * x + 1]!;
      expected[y * (width / 2) + x] = Math.fround(0 + 0.5 * along(2 * y)) + 0.5 * along(2 * y + 1);
    }
  }
  assert.deepEqual(out.data, expected);
});

test('AreaResizeProbe: every pixel bit-identical to resizeArea, up, down, halving, mixed, same size', () => {
  let seed = 11;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  // Values near 0.5 with fine fractions, so any change in rounding order would show.
  const source = image(
    64,
    48,
    Array.from({ length: 64 * 48 }, () => 0.5 + (random() - 0.5) * 1e-3),
  );
  for (const [w, h] of [
    [256, 192], // 4× up, as a 256² lung map onto a 1024² overlay
    [250, 131], // awkward up
    [32, 24], // exact halving both ways (the resampler's paired-row path)
    [32, 100], // halving x, growing y
    [17, 48], // shrinking x, same y
    [64, 48], // same size: a copy
    [1, 1],
  ] as const) {
    const whole = resizeArea(source, w, h);
    const probe = new AreaResizeProbe(source, w, h);
    // Rows out of order (a source row's horizontal pass is made whenever first needed), in
    // whole rows and in spans that leave the rest of the buffer as it was.
    const into = new Float32Array(w);
    for (let y = h - 1; y >= 0; y--) {
      into.fill(-7);
      const from = Math.floor(w / 3);
      const to = Math.max(from + 1, Math.floor((2 * w) / 3));
      probe.row(y, into, from, to);
      for (let x = 0; x < w; x++) {
        const expected = x >= from && x < to ? whole.data[y * w + x]! : -7;
        assert.ok(
          Object.is(into[x], expected),
          `${w}×${h} at ${x},${y}: ${into[x]} vs ${expected}`,
        );
      }
      probe.row(y, into);
      assert.deepEqual(into, whole.data.subarray(y * w, (y + 1) * w), `${w}×${h} row ${y}`);
    }
  }
});

test('an exact 1/k reduction (2048 → 256 is k = 8) adds each pixel in the documented order', () => {
  // Horizontal: k products (weight 1/k) summed in float64 from +0, left to right; vertical:
  // the output row accumulates its k source rows into float32, top to bottom (ADR 0021).
  let seed = 23;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  // Magnitudes from 1 down to 2^−60, so that float64 sums round and their order shows.
  const random = (): number => (next() - 0.4) * 2 ** -Math.floor(next() * 60);
  // Output widths around the four summed side by side (ADR 0164): 2 (none), 4, 5, 7, 9.
  for (const [kx, ky, outW, outH] of [
    [8, 8, 5, 4],
    [3, 3, 7, 5],
    [8, 3, 4, 6],
    [3, 3, 2, 2],
    [4, 2, 9, 3],
  ] as const) {
    const width = kx * outW;
    const height = ky * outH;
    const data = Float32Array.from({ length: width * height }, random);
    // One output whose float32 value depends on the order of its horizontal sum: left to
    // right, 1 + 2^−24 is a tie that rounds to 1; the two small values added first would
    // lift it past the tie.
    for (let r = 0; r < ky; r++) data.fill(0, r * width, r * width + kx);
    data.set([1, 2 ** -24, 3 * 2 ** -55, 3 * 2 ** -55], 0);
    const out = resizeArea({ width, height, data }, outW, outH);
    const expected = new Float32Array(outW * outH);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let value = 0;
        for (let r = y * ky; r < (y + 1) * ky; r++) {
          let along = 0;
          for (let c = x * kx; c < (x + 1) * kx; c++) along += (1 / kx) * data[r * width + c]!;
          value = Math.fround(value + (1 / ky) * along);
        }
        expected[y * outW + x] = value;
      }
    }
    assert.deepEqual(out.data, expected, `${width}×${height} → ${outW}×${outH}`);
  }
});

test('a non-integer area reduction (the edge guard’s 1886 → 256) adds each pixel in the documented order', () => {
  // Output i covers source [i·s, (i+1)·s), s = source/target; each tap weighs its overlap / s.
  // Horizontal: the taps summed in float64 from +0, left to right; vertical: the output row
  // accumulates its source rows into float32, top to bottom (ADR 0021).
  let seed = 29;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const random = (): number => (next() - 0.4) * 2 ** -Math.floor(next() * 60);
  const taps = (source: number, target: number, i: number): Array<[number, number]> => {
    const from = (i * source) / target;
    const to = ((i + 1) * source) / target;
    const out: Array<[number, number]> = [];
    for (let j = Math.floor(from); j < Math.min(Math.ceil(to), source); j++) {
      const overlap = Math.min(to, j + 1) - Math.max(from, j);
      if (overlap > 0) out.push([j, overlap / (source / target)]);
    }
    return out;
  };
  // Output widths around the four summed side by side: 1–3 (none), 4, 5, 7, 9, 13.
  for (const [width, height, outW, outH] of [
    [19, 11, 5, 3],
    [23, 9, 7, 4],
    [17, 17, 2, 3],
    [31, 8, 9, 3],
    [66, 10, 13, 4],
    [7, 7, 3, 2],
    [9, 5, 4, 2],
  ] as const) {
    const data = Float32Array.from({ length: width * height }, random);
    const out = resizeArea({ width, height, data }, outW, outH);
    const expected = new Float32Array(outW * outH);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let value = 0;
        for (const [r, wy] of taps(height, outH, y)) {
          let along = 0;
          for (const [c, wx] of taps(width, outW, x)) along += wx * data[r * width + c]!;
          value = Math.fround(value + wy * along);
        }
        expected[y * outW + x] = value;
      }
    }
    assert.deepEqual(out.data, expected, `${width}×${height} → ${outW}×${outH}`);
  }
});

test('a region is resized as if it had been cut out first; one outside the image is refused', () => {
  let seed = 31;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const source = image(90, 70, Array.from({ length: 90 * 70 }, random));
  const cut = (r: { left: number; top: number; right: number; bottom: number }): GreyImage => {
    const width = r.right - r.left;
    const height = r.bottom - r.top;
    const data = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++)
        data[y * width + x] = source.data[(r.top + y) * 90 + r.left + x]!;
    }
    return { width, height, data };
  };
  for (const region of [
    { left: 7, top: 3, right: 81, bottom: 66 },
    { left: 0, top: 0, right: 90, bottom: 70 },
    { left: 10, top: 20, right: 11, bottom: 60 },
  ]) {
    for (const [w, h] of [
      [22, 22],
      [region.right - region.left, region.bottom - region.top],
      [200, 9],
    ] as const) {
      assert.deepEqual(resizeArea(source, w, h, region), resizeArea(cut(region), w, h));
    }
  }
  for (const region of [
    { left: -1, top: 0, right: 10, bottom: 10 },
    { left: 0, top: 0, right: 91, bottom: 10 },
    { left: 5, top: 5, right: 5, bottom: 10 },
    { left: 0.5, top: 0, right: 10, bottom: 10 },
  ]) {
    assert.throws(
      () => resizeArea(source, 4, 4, region),
      (e: unknown) => e instanceof RadiolensError && e.code === 'E_BAD_INPUT',
      JSON.stringify(region),
    );
  }
});
