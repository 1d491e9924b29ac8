import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { sharedDir } from '../../../test/support/index.js';
import {
  aucWithDelong,
  bootstrapAucCi,
  bootstrapAucDifferenceCi,
  delongTest,
  quantileSorted,
  rocConfidenceBand,
  seededRandom,
} from './index.js';
import { readCsvFile } from '../../foundation/csv/index.js';

function s100b(): { truth: (0 | 1)[]; scores: number[] } {
  const table = readCsvFile(join(sharedDir, 'data', 'reference-stats', 'aSAH.csv'));
  return {
    truth: table.rows.map((row) => (row.outcome === 'Poor' ? 1 : 0)),
    scores: table.rows.map((row) => Number(row.s100b)),
  };
}

describe('seeded generator', () => {
  it('is reproducible and uniform-looking', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b()),
    );
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.03);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});

describe('quantile type 7', () => {
  it('matches R quantile()', () => {
    const sorted = [1, 2, 3, 4, 10];
    assert.equal(quantileSorted(sorted, 0.5), 3);
    assert.ok(Math.abs(quantileSorted(sorted, 0.9) - 7.6) < 1e-12); // quantile(c(1,2,3,4,10), 0.9)
    assert.ok(Math.abs(quantileSorted(sorted, 0.025) - 1.1) < 1e-12);
  });
});

describe('stratified bootstrap AUC CI', () => {
  const data = s100b();
  it('is reproducible for a seed and agrees with DeLong on aSAH s100b', () => {
    const a = bootstrapAucCi(data, { resamples: 2000, seed: 1 });
    const b = bootstrapAucCi(data, { resamples: 2000, seed: 1 });
    assert.deepEqual(a.ci, b.ci);
    const delong = aucWithDelong(data);
    // pROC's bootstrap CI for s100b is about [0.63, 0.83]; both ends within 0.02 of DeLong's.
    assert.ok(Math.abs(a.ci[0] - delong.ci[0]) < 0.02, `lower ${a.ci[0]}`);
    assert.ok(Math.abs(a.ci[1] - delong.ci[1]) < 0.02, `upper ${a.ci[1]}`);
    assert.ok(a.ci[0] < delong.auc && delong.auc < a.ci[1]);
  });
  it('refuses too few resamples', () => {
    assert.throws(() => bootstrapAucCi(data, { resamples: 10 }), /at least 100 resamples/);
  });
});

describe('paired bootstrap CI of an AUC difference', () => {
  it('agrees with DeLong on aSAH wfns − s100b', () => {
    const table = readCsvFile(join(sharedDir, 'data', 'reference-stats', 'aSAH.csv'));
    const truth = table.rows.map((row) => (row.outcome === 'Poor' ? 1 : 0) as 0 | 1);
    const wfns = table.rows.map((row) => Number(row.wfns));
    const s100b = table.rows.map((row) => Number(row.s100b));
    const boot = bootstrapAucDifferenceCi(truth, wfns, s100b, { resamples: 1000, seed: 5 });
    const delong = delongTest(truth, wfns, s100b);
    assert.equal(boot.difference, delong.difference);
    // DeLong: [0.0104, 0.1742]; the bootstrap percentile ends land within 0.03.
    assert.ok(Math.abs(boot.ci[0] - delong.ci[0]) < 0.03, `lower ${boot.ci[0]}`);
    assert.ok(Math.abs(boot.ci[1] - delong.ci[1]) < 0.03, `upper ${boot.ci[1]}`);
  });
});

describe('ROC confidence band', () => {
  it('brackets the sensitivity at each specificity and spans the grid', () => {
    const band = rocConfidenceBand(s100b(), { resamples: 200, seed: 3, gridSize: 11 });
    assert.equal(band.length, 11);
    assert.equal(band[0]!.specificity, 0);
    assert.equal(band[10]!.specificity, 1);
    for (const point of band)
      assert.ok(0 <= point.lower && point.lower <= point.upper && point.upper <= 1);
    // At specificity 0 everyone can be called positive: sensitivity exactly 1.
    assert.deepEqual([band[0]!.lower, band[0]!.upper], [1, 1]);
  });
});
