import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibration } from './index.js';

function near(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} vs ${expected}`);
}

describe('calibration', () => {
  it('computes Brier, ECE and MCE by hand-checkable bins', () => {
    // Two bins: [0, 0.5) holds 0.1, 0.2 (truth 0, 1); [0.5, 1] holds 0.8, 0.9, 1.0 (truth 1, 1, 0).
    const data = { truth: [0, 1, 1, 1, 0] as (0 | 1)[], scores: [0.1, 0.2, 0.8, 0.9, 1.0] };
    const c = calibration(data, { bins: 2 });
    near(c.brier, (0.01 + 0.64 + 0.04 + 0.01 + 1) / 5);
    const gapLow = Math.abs(0.15 - 0.5);
    const gapHigh = Math.abs(0.9 - 2 / 3);
    near(c.ece, (2 / 5) * gapLow + (3 / 5) * gapHigh);
    near(c.mce, Math.max(gapLow, gapHigh));
    assert.equal(c.bins.length, 2);
    assert.equal(c.bins[1]!.count, 3); // a score of exactly 1 falls in the last bin
    near(c.bins[0]!.meanScore!, 0.15);
    assert.equal(c.bins[0]!.observedFrequency, 0.5);
  });
  it('uses 15 equal-width bins by default and leaves empty bins null', () => {
    const c = calibration({ truth: [0, 1], scores: [0.01, 0.99] });
    assert.equal(c.bins.length, 15);
    assert.equal(c.bins[7]!.count, 0);
    assert.equal(c.bins[7]!.meanScore, null);
    near(c.bins[14]!.lower, 14 / 15);
  });
  it('is zero for a perfectly calibrated score', () => {
    const c = calibration({ truth: [0, 0, 1, 1], scores: [0, 0, 1, 1] });
    assert.equal(c.brier, 0);
    assert.equal(c.ece, 0);
    assert.equal(c.mce, 0);
  });
  it('rejects scores that are not probabilities and bad bin counts', () => {
    assert.throws(
      () => calibration({ truth: [0, 1], scores: [0.2, 3] }),
      /case 2 has score 3, not a probability/,
    );
    assert.throws(
      () => calibration({ truth: [0, 1], scores: [0.2, 0.3] }, { bins: 0 }),
      /number of bins/,
    );
    assert.throws(() => calibration({ truth: [], scores: [] }), /no cases/);
  });
});
