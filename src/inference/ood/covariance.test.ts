import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invertSpd, ledoitWolf, mahalanobis } from './covariance.js';

// A correlated 3-D data set, and the values scikit-learn's ledoit_wolf formula gives for it
// (computed once with numpy, transcribing sklearn.covariance.ledoit_wolf_shrinkage).
const samples = Array.from({ length: 40 }, (_, i) => [
  Math.sin(i),
  2 * Math.cos(1.3 * i) + 0.5 * Math.sin(i),
  (i % 5) + 0.3 * Math.sin(i),
]);
const NUMPY_SHRINKAGE = 0.1938391572780454;
const NUMPY_COVARIANCE = [
  0.7102973562362016, 0.197957261158855, 0.2501751906662876, 0.197957261158855, 2.054923837595612,
  0.36875115037343853, 0.2501751906662876, 0.36875115037343853, 2.0366901399231807,
];
const NUMPY_DISTANCE_300 = 4.1611774253479235;

test('Ledoit–Wolf matches the scikit-learn formula computed with numpy', () => {
  const fit = ledoitWolf(samples);
  assert.ok(Math.abs(fit.shrinkage - NUMPY_SHRINKAGE) < 1e-12, `shrinkage ${fit.shrinkage}`);
  fit.covariance.forEach((v, i) => assert.ok(Math.abs(v - NUMPY_COVARIANCE[i]!) < 1e-12));
  const precision = invertSpd(fit.covariance, 3);
  assert.ok(Math.abs(mahalanobis([3, 0, 0], fit.mean, precision) - NUMPY_DISTANCE_300) < 1e-10);
});

test('Ledoit–Wolf matches the paper formulation built from explicit outer products', () => {
  // Ledoit & Wolf (2004) lemma 3.x: b̄² = (1/n²) Σ_k ‖x_k x_kᵀ − S‖², d² = ‖S − mI‖², norm = tr(AAᵀ)/p.
  const rnd = lcg(7);
  const data = Array.from({ length: 25 }, () => {
    const a = rnd();
    return [a, a + 0.3 * rnd(), rnd(), 2 * rnd() - a];
  });
  const n = data.length;
  const p = 4;
  const mean = [0, 1, 2, 3].map((j) => data.reduce((s, x) => s + x[j]!, 0) / n);
  const c = data.map((x) => x.map((v, j) => v - mean[j]!));
  const S = outer(c[0]!).map(() => 0);
  for (const x of c) outer(x).forEach((v, i) => (S[i]! += v / n));
  const norm2 = (a: number[]): number => a.reduce((s, v) => s + v * v, 0) / p;
  const m = [0, 1, 2, 3].reduce((s, j) => s + S[j * p + j]!, 0) / p;
  const d2 = norm2(S.map((v, i) => v - (i % (p + 1) === 0 ? m : 0)));
  const bbar2 = c.reduce((s, x) => s + norm2(outer(x).map((v, i) => v - S[i]!)), 0) / (n * n);
  const expected = Math.min(bbar2, d2) / d2;
  const fit = ledoitWolf(data);
  assert.ok(Math.abs(fit.shrinkage - expected) < 1e-12, `${fit.shrinkage} vs ${expected}`);
  assert.ok(fit.shrinkage > 0 && fit.shrinkage < 1);
});

test('invertSpd gives A·A⁻¹ = I, and Mahalanobis matches a hand computation', () => {
  const a = Float64Array.from([4, 2, 0.5, 2, 3, 0.1, 0.5, 0.1, 2]);
  const inv = invertSpd(a, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[i * 3 + k]! * inv[k * 3 + j]!;
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12);
    }
  }
  // Diagonal covariance diag(4, 1): (2, 1) from the origin is √(2²/4 + 1²/1) = √2.
  assert.ok(Math.abs(mahalanobis([2, 1], [0, 0], [0.25, 0, 0, 1]) - Math.SQRT2) < 1e-15);
});

test('degenerate and mismatched input give clear errors', () => {
  assert.throws(() => ledoitWolf([[1, 2]]), /at least 2 samples/);
  assert.throws(() => ledoitWolf([[1, 2], [1]]), /has 1 values, the first has 2/);
  assert.throws(() => invertSpd(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite/);
  assert.throws(() => mahalanobis([1, 2, 3], [0, 0], [1, 0, 0, 1]), /dimension 2/);
});

function outer(x: number[]): number[] {
  return x.flatMap((a) => x.map((b) => a * b));
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return s / 4294967296;
  };
}
