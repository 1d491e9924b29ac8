import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapMean,
  bootstrapMeanDifference,
  bootstrapRatio,
  bootstrapReplicates,
  normalDraw,
  seededRandom,
} from './index.js';

test('bootstrap of a mean: the estimate, a seeded interval that covers it, a constant stays put', () => {
  const random = seededRandom(4);
  const values = Array.from({ length: 200 }, () => 0.3 + 0.1 * normalDraw(random));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const a = bootstrapMean(values, null, { resamples: 1000, seed: 9 });
  const b = bootstrapMean(values, null, { resamples: 1000, seed: 9 });
  assert.equal(a.estimate, mean);
  assert.deepEqual(a.ci, b.ci);
  assert.ok(a.ci[0] < mean && mean < a.ci[1]);
  // The standard error of the mean is 0.1/√200 ≈ 0.0071: a 95% interval spans about ±0.014.
  const half = (a.ci[1] - a.ci[0]) / 2;
  assert.ok(half > 0.01 && half < 0.018, `half-width ${half}`);
  const constant = bootstrapMean([0.25, 0.25, 0.25], null, { resamples: 100 });
  assert.deepEqual(constant.ci, [0.25, 0.25]);
  assert.equal(a.units, 200);
  assert.match(a.method, /over images/);
});

test('clustered: patients are the units, and repeated images of a patient widen the interval', () => {
  const random = seededRandom(5);
  const patients = Array.from({ length: 40 }, () => 0.5 + 0.2 * normalDraw(random));
  // Every patient has 5 identical images: 200 images carry the information of 40.
  const values = patients.flatMap((v) => [v, v, v, v, v]);
  const clusters = patients.flatMap((_, p) => Array.from({ length: 5 }, () => `p${p}`));
  const naive = bootstrapMean(values, null, { resamples: 1000 });
  const clustered = bootstrapMean(values, clusters, { resamples: 1000 });
  assert.equal(clustered.units, 40);
  assert.match(clustered.method, /over patients/);
  const width = (ci: readonly [number, number]): number => ci[1] - ci[0];
  assert.ok(
    width(clustered.ci) > 1.8 * width(naive.ci),
    `${width(clustered.ci)} vs ${width(naive.ci)}`,
  );
  assert.throws(() => bootstrapMean(values, ['a'], { resamples: 100 }), /1 cluster ids for 200/);
});

test('ratio and paired difference of means', () => {
  const r = bootstrapRatio([1, 0, 1, 1], [0.25, 0.25, 0.5, 0.5], null, { resamples: 500 });
  assert.equal(r.estimate, 2);
  assert.ok(r.ci[0] <= 2 && r.ci[1] >= 2);
  assert.throws(() => bootstrapRatio([1], [0], null), /denominator sums to 0/);
  const d = bootstrapMeanDifference([0.5, 0.7], [0.4, 0.4], null, { resamples: 100 });
  assert.ok(Math.abs(d.estimate - 0.2) < 1e-12);
  const reps = bootstrapReplicates(3, ['a', 'a', 'b'], (idx) => idx.length, { resamples: 100 });
  // Two patients drawn per replicate: 2, 3 or 4 images.
  assert.ok(reps.every((n) => n >= 2 && n <= 4));
  assert.throws(() => bootstrapReplicates(3, null, () => 0, { resamples: 10 }), /at least 100/);
});
