import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aSAH } from '../../../test/support/referenceStats.js';
import {
  aucWithDelong,
  type BinaryOutcomes,
  delongTest,
  midranks,
  normalCdf,
  normalDraw,
  rocCurve,
  seededRandom,
} from './index.js';

/** Agreement to at least `digits` significant digits. */
function significant(actual: number, expected: number, digits = 9): void {
  const tolerance = 0.5 * 10 ** (1 - digits) * Math.abs(expected);
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${actual} differs from ${expected} beyond ${digits} significant digits`,
  );
}

describe('midranks', () => {
  it('averages the ranks of ties', () => {
    assert.deepEqual([...midranks([3, 1, 3, 2, 3])], [4, 1, 4, 2, 4]);
  });
});

describe('AUC with DeLong CI — pROC aSAH reference values', () => {
  const data = aSAH();
  it('s100b: AUC, variance and CI as pROC 1.18.0', () => {
    const estimate = aucWithDelong({ truth: data.truth, scores: data.column('s100b') });
    significant(estimate.auc, 0.731368563685637, 12);
    significant(estimate.variance, 0.00266868245717244, 12);
    significant(estimate.ci[0], 0.630118211761623, 12);
    significant(estimate.ci[1], 0.832618915609651, 12);
    assert.equal(estimate.positives, 41);
    assert.equal(estimate.negatives, 72);
  });

  it('wfns (ordinal, many ties): AUC as pROC', () => {
    significant(
      aucWithDelong({ truth: data.truth, scores: data.column('wfns') }).auc,
      0.823678861788618,
      12,
    );
  });

  it('DeLong test wfns vs s100b as pROC roc.test', () => {
    const test = delongTest(data.truth, data.column('wfns'), data.column('s100b'));
    significant(test.z, 2.20898359144091, 12);
    significant(test.p, 0.0271757822291882, 11);
    significant(test.ci[0], 0.0104061769564846, 11);
    significant(test.ci[1], 0.174214419249478, 12);
    significant(test.difference, 0.823678861788618 - 0.731368563685637, 12);
    // Swapping the order negates the difference and Z, keeps p.
    const swapped = delongTest(data.truth, data.column('s100b'), data.column('wfns'));
    significant(swapped.z, -test.z, 12);
    significant(swapped.p, test.p, 12);
  });
});

describe('AUC properties', () => {
  it('a perfect score has AUC 1, a reversed one 0, a constant one 0.5', () => {
    const truth: (0 | 1)[] = [0, 0, 0, 1, 1, 1];
    const scores = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9];
    const perfect = aucWithDelong({ truth, scores });
    assert.equal(perfect.auc, 1);
    assert.deepEqual(perfect.ci, [1, 1]);
    assert.equal(aucWithDelong({ truth, scores: scores.map((s) => -s) }).auc, 0);
    assert.equal(aucWithDelong({ truth, scores: scores.map(() => 0.5) }).auc, 0.5);
  });

  it('swapping the labels turns AUC into 1 − AUC with the same variance', () => {
    const data = aSAH();
    const scores = data.column('ndka');
    const a = aucWithDelong({ truth: data.truth, scores });
    const b = aucWithDelong({ truth: data.truth.map((t) => (t === 1 ? 0 : 1)), scores });
    significant(b.auc, 1 - a.auc, 13);
    significant(b.variance, a.variance, 12);
  });

  it('the 95% DeLong CI covers the true AUC about 95% of the time (seeded simulation)', () => {
    // Binormal scores, shift 1: the true AUC is Φ(1/√2).
    const trueAuc = normalCdf(1 / Math.SQRT2);
    const random = seededRandom(7);
    const replicates = 400;
    let covered = 0;
    for (let r = 0; r < replicates; r++) {
      const truth: (0 | 1)[] = [];
      const scores: number[] = [];
      for (let i = 0; i < 40; i++) {
        truth.push(1, 0);
        scores.push(normalDraw(random) + 1, normalDraw(random));
      }
      const { ci } = aucWithDelong({ truth, scores });
      if (ci[0] <= trueAuc && trueAuc <= ci[1]) covered++;
    }
    const coverage = covered / replicates;
    // Binomial SE at 95% with 400 replicates is 1.1%; allow about 3 SE.
    assert.ok(coverage > 0.91 && coverage < 0.985, `coverage ${coverage}`);
  });
});

describe('ROC curve', () => {
  it('runs from (0,0) to (1,1) with one point per distinct score', () => {
    const curve = rocCurve({ truth: [0, 0, 1, 1], scores: [0.1, 0.4, 0.35, 0.8] });
    assert.deepEqual(
      curve.map((p) => [p.threshold, p.sensitivity, p.specificity]),
      [
        [Infinity, 0, 1],
        [0.8, 0.5, 1],
        [0.4, 0.5, 0.5],
        [0.35, 1, 0.5],
        [0.1, 1, 0],
      ],
    );
  });
});

describe('bad input is a clear E_BAD_INPUT', () => {
  const good: BinaryOutcomes = { truth: [0, 0, 1, 1], scores: [0.1, 0.2, 0.3, 0.4] };
  it('a single class', () => {
    assert.throws(
      () =>
        aucWithDelong({ truth: [1, 1, 1], scores: [0.1, 0.2, 0.3] }, { what: 'x.csv column "p"' }),
      /E_BAD_INPUT: x\.csv column "p": all 3 cases are positive \(1\) — an ROC analysis needs both/,
    );
  });
  it('NaN scores', () => {
    assert.throws(
      () => aucWithDelong({ truth: good.truth, scores: [0.1, Number.NaN, 0.3, 0.4] }),
      /case 2 has score NaN, not a finite number/,
    );
  });
  it('too few cases for a CI', () => {
    assert.throws(
      () => aucWithDelong({ truth: [0, 0, 1], scores: [0.1, 0.2, 0.3] }),
      /too few cases for a CI \(1 positive, 2 negative; need at least 2 of each\)/,
    );
  });
  it('mismatched lengths and non-binary truth', () => {
    assert.throws(
      () => aucWithDelong({ truth: [0, 1], scores: [0.1] }),
      /1 scores but 2 truth values/,
    );
    assert.throws(
      () => aucWithDelong({ truth: [0, 2 as 1], scores: [0.1, 0.2] }),
      /truth must be 0 \(negative\) or 1 \(positive\)/,
    );
  });
});
