import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BinaryOutcomes,
  operatingPoint,
  selectThreshold,
  tuneOperatingPoint,
  wilsonInterval,
} from './index.js';

function near(actual: number, expected: number, tolerance: number): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`);
}

describe('Wilson score interval', () => {
  it('matches Newcombe (1998) Table I, method 3, to the 4 printed decimals', () => {
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [x, n, lo, hi] of cases) {
      const [l, u] = wilsonInterval(x, n);
      near(l, lo, 0.00005);
      near(u, hi, 0.00005);
    }
  });
  it('8/10 to full precision, and exact bounds at 0 and n', () => {
    const [l, u] = wilsonInterval(8, 10);
    near(l, 0.4901624715366418, 1e-14);
    near(u, 0.9433178485456248, 1e-14);
    assert.equal(wilsonInterval(10, 10)[1], 1);
    assert.equal(wilsonInterval(0, 10)[0], 0);
  });
  it('rejects impossible counts', () => {
    assert.throws(() => wilsonInterval(3, 0), /E_BAD_INPUT/);
    assert.throws(() => wilsonInterval(5, 4), /impossible/);
  });
});

describe('operating point', () => {
  // 4 positives, 6 negatives
  const data: BinaryOutcomes = {
    truth: [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    scores: [0.9, 0.8, 0.6, 0.3, 0.7, 0.5, 0.4, 0.2, 0.1, 0.05],
  };
  it('counts score >= threshold as positive', () => {
    const op = operatingPoint(data, 0.6);
    assert.deepEqual(op.confusion, {
      truePositives: 3,
      falsePositives: 1,
      trueNegatives: 5,
      falseNegatives: 1,
    });
    assert.equal(op.sensitivity.estimate, 0.75);
    assert.equal(op.specificity.estimate, 5 / 6);
    assert.equal(op.ppv.estimate, 0.75);
    assert.equal(op.npv.estimate, 5 / 6);
    assert.deepEqual(op.sensitivity.ci, wilsonInterval(3, 4));
  });
  it('says why PPV has no value when nothing is called positive', () => {
    const op = operatingPoint(data, 2);
    assert.equal(op.ppv.estimate, null);
    assert.equal(op.ppv.ci, null);
    assert.match((op.ppv as { note: string }).note, /no case called positive/);
  });
  it('selects the threshold for a target sensitivity or specificity', () => {
    // Sensitivity ≥ 0.75 → the 3rd-highest positive score; specificity ≥ 0.8 → 5 of 6 negatives below.
    assert.equal(selectThreshold(data, { sensitivity: 0.75 }), 0.6);
    assert.equal(
      operatingPoint(data, selectThreshold(data, { sensitivity: 1 })).sensitivity.estimate,
      1,
    );
    const t = selectThreshold(data, { specificity: 0.8 });
    assert.equal(t, 0.6);
    assert.ok(operatingPoint(data, t).specificity.estimate! >= 0.8);
    assert.equal(
      operatingPoint(data, selectThreshold(data, { specificity: 1 })).specificity.estimate,
      1,
    );
  });
  it('chooses on the tuning split and reports on the test split', () => {
    const test: BinaryOutcomes = { truth: [1, 1, 0, 0], scores: [0.65, 0.55, 0.59, 0.1] };
    const tuned = tuneOperatingPoint(data, test, { sensitivity: 0.75 });
    assert.equal(tuned.threshold, 0.6);
    assert.equal(tuned.tuning.sensitivity.estimate, 0.75);
    assert.equal(tuned.test.sensitivity.estimate, 0.5);
    assert.equal(tuned.test.specificity.estimate, 1);
  });
  it('rejects a target outside [0, 1]', () => {
    assert.throws(() => selectThreshold(data, { sensitivity: 1.2 }), /proportion in \[0, 1\]/);
  });
});
