import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  categoricalHomogeneity,
  clusteredCategoricalHomogeneity,
  clusteredKolmogorovSmirnov,
  hasRepeatedClusters,
  fisherExact,
  holm,
  jensenShannonDistance,
  kolmogorovSmirnov,
  populationStabilityIndex,
} from './statisticalTests.js';
import { seededRandom, normalDraw } from '../validation/index.js';

const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

// Reference values: SciPy 1.17 (stats.ks_2samp method='exact', fisher_exact,
// chi2_contingency correction=False, spatial.distance.jensenshannon base 2).
const A = [
  0.346, 0.822, 0.33, -1.303, 0.905, 0.446, -0.537, 0.581, 0.365, 0.294, 0.028, 0.547, -0.736,
  -0.163, -0.482, 0.599, 0.04, -0.292, -0.782, -0.257, 0.008, -0.276, 1.294, 1.007, -2.711, -1.889,
  -0.175, -0.422, 0.214, 0.217, 2.118, -1.112, -0.378, 2.043, 0.647, 0.663, -0.514, -1.648, 0.167,
  0.109,
];
const B = [
  -0.973, -0.32, 0.414, -0.634, 0.382, 0.615, 0.543, -0.108, 1.212, 1.569, 0.885, -0.482, 1.378,
  -0.102, 1.555, -0.786, 1.597, 0.476, -0.998, 0.123, 0.565, 0.827, -0.679, -0.829, 0.74, -0.06,
  0.783, 1.411, -1.479, 0.805, 1.97, 0.143, -0.473, 1.403, 0.804,
];

test('Kolmogorov–Smirnov: statistic and exact p-value as SciPy; a large shifted sample is found', () => {
  const result = kolmogorovSmirnov(A, B);
  close(result.statistic, 0.2714285714285714, 1e-12, 'D');
  close(result.p, 0.10379755654202379, 1e-9, 'exact p');
  assert.deepEqual(kolmogorovSmirnov(A, A).p, 1);
  const random = seededRandom(3);
  const same = Array.from({ length: 1500 }, () => normalDraw(random));
  const other = Array.from({ length: 1200 }, () => normalDraw(random));
  const shifted = other.map((v) => v + 0.3);
  assert.ok(kolmogorovSmirnov(same, other).p > 0.01, 'same distribution, asymptotic p');
  assert.ok(kolmogorovSmirnov(same, shifted).p < 1e-6, 'shifted by 0.3 SD');
  // Ties (discrete values) step together: identical constant samples do not differ.
  assert.equal(kolmogorovSmirnov([512, 512, 512], [512, 512]).statistic, 0);
  assert.equal(kolmogorovSmirnov([512, 512, 512], [256, 256]).statistic, 1);
});

test('categorical tests: Fisher for 2×2, chi-squared where Cochran allows, permutation otherwise', () => {
  close(fisherExact(3, 1, 1, 3), 0.48571428571428565, 1e-12, 'tea tasting');
  close(fisherExact(10, 2, 3, 15), 0.0005367241191434357, 1e-12, 'Fisher 10/2/3/15');
  const two = categoricalHomogeneity({ yes: 10, no: 2 }, { yes: 3, no: 15 });
  assert.equal(two.test, 'Fisher exact');
  close(two.p, 0.0005367241191434357, 1e-12, 'via categoricalHomogeneity');

  const chi = categoricalHomogeneity({ a: 20, b: 30, c: 25 }, { a: 30, b: 20, c: 40 });
  assert.equal(chi.test, 'chi-squared');
  close(chi.statistic, 6.148717948717949, 1e-9, 'chi-squared');
  close(chi.p, 0.04621924660982983, 1e-9, 'chi-squared p');

  // A category the reference never saw, in a small window: the permutation p-value.
  const rare = categoricalHomogeneity(
    { Agfa: 40, Fuji: 2 },
    { Agfa: 10, Fuji: 1, Canon: 9 },
    { seed: 1 },
  );
  assert.equal(rare.test, 'chi-squared (Monte Carlo)');
  assert.ok(rare.p < 0.001, `a new manufacturer in 9 of 20 images: p ${rare.p}`);
  const alike = categoricalHomogeneity(
    { Agfa: 40, Fuji: 2, Canon: 1 },
    { Agfa: 19, Fuji: 1, Canon: 0 },
    { seed: 1 },
  );
  assert.ok(alike.p > 0.5, `same mix: p ${alike.p}`);
  assert.deepEqual(categoricalHomogeneity({ CR: 5 }, { CR: 9 }), {
    test: 'chi-squared',
    statistic: 0,
    p: 1,
    df: 0,
  });
});

test('PSI and Jensen–Shannon distance: zero for the same distribution, large for a shift', () => {
  close(
    jensenShannonDistance({ a: 2, b: 5, c: 3 }, { a: 1, b: 1, c: 8 }),
    0.44978426301392566,
    1e-12,
    'JSD',
  );
  assert.equal(jensenShannonDistance({ a: 3 }, { b: 4 }), 1);
  const random = seededRandom(9);
  const reference = Array.from({ length: 2000 }, () => normalDraw(random));
  const same = Array.from({ length: 2000 }, () => normalDraw(random));
  assert.ok(populationStabilityIndex(reference, same) < 0.02);
  assert.ok(
    populationStabilityIndex(
      reference,
      same.map((v) => v + 1),
    ) > 0.25,
  );
});

test('Holm: step-down levels, and it stops at the first p-value above its level', () => {
  const decisions = holm([0.01, 0.04, 0.001, 0.03], 0.05);
  assert.deepEqual(
    decisions.map((d) => [Number(d.threshold.toFixed(4)), d.rejected]),
    [
      [0.0167, true],
      [0.05, false],
      [0.0125, true],
      [0.025, false],
    ],
  );
});

test('patient clusters: repeated images of few patients are not taken for independent evidence', () => {
  const random = seededRandom(11);
  // Each patient has a level of their own; their 6 images scatter a little around it.
  const patients = (
    count: number,
    shift: number,
    prefix: string,
  ): { values: number[]; clusters: string[] } => {
    const values: number[] = [];
    const clusters: string[] = [];
    for (let p = 0; p < count; p++) {
      const level = normalDraw(random) + shift;
      for (let k = 0; k < 6; k++) {
        values.push(level + 0.1 * normalDraw(random));
        clusters.push(`${prefix}${p}`);
      }
    }
    return { values, clusters };
  };
  let naiveAlarms = 0;
  let clusteredAlarms = 0;
  for (let trial = 0; trial < 20; trial++) {
    const a = patients(10, 0, 'a');
    const b = patients(10, 0, 'b');
    if (kolmogorovSmirnov(a.values, b.values).p < 0.01) naiveAlarms++;
    if (clusteredKolmogorovSmirnov(a, b, { permutations: 499, seed: trial }).p < 0.01)
      clusteredAlarms++;
  }
  assert.ok(naiveAlarms >= 5, `independence assumed: ${naiveAlarms} of 20 false alarms`);
  assert.ok(clusteredAlarms <= 1, `patients permuted: ${clusteredAlarms} of 20 false alarms`);
  const shifted = clusteredKolmogorovSmirnov(patients(20, 0, 'a'), patients(20, 2, 'b'), {
    permutations: 999,
  });
  assert.ok(shifted.p <= 0.002, `a real shift of 2 SD is still found: p ${shifted.p}`);
  // Singletons: the permutation p-value agrees with the exact one.
  const single = clusteredKolmogorovSmirnov(
    { values: A, clusters: A.map((_, i) => i) },
    { values: B, clusters: B.map((_, i) => i) },
    { permutations: 9999 },
  );
  close(single.p, 0.10379755654202379, 0.01, 'permutation vs exact');
  assert.equal(hasRepeatedClusters({ values: A, clusters: A.map((_, i) => i) }), false);

  const categories = (
    count: number,
    share: number,
    prefix: string,
  ): { values: string[]; clusters: string[] } => {
    const values: string[] = [];
    const clusters: string[] = [];
    for (let p = 0; p < count; p++) {
      const value = random() < share ? 'Canon' : 'Agfa';
      for (let k = 0; k < 5; k++) {
        values.push(value);
        clusters.push(`${prefix}${p}`);
      }
    }
    return { values, clusters };
  };
  const same = clusteredCategoricalHomogeneity(categories(12, 0.3, 'a'), categories(12, 0.3, 'b'), {
    permutations: 999,
  });
  assert.equal(same.test, 'chi-squared (Monte Carlo)');
  assert.ok(same.p > 0.01, `p ${same.p}`);
  const other = clusteredCategoricalHomogeneity(
    categories(30, 0.1, 'a'),
    categories(30, 0.9, 'b'),
    { permutations: 999 },
  );
  assert.ok(other.p <= 0.002, `p ${other.p}`);
});
