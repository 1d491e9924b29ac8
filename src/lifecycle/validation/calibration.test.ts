import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibration } from './index.js';
import { seededRandom } from './random.js';

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

  describe('consistency resampling of the ECE', () => {
    // 118 cases, as the site test split: scores spread over [0.02, 0.98].
    const random = seededRandom(11);
    const scores = Array.from({ length: 118 }, () => 0.02 + 0.96 * random());
    const consistency = { resamples: 2000, seed: 5 };

    it('a perfectly calibrated model shows a clearly non-zero ECE on a small sample, inside the range', () => {
      const truth = scores.map((s): 0 | 1 => (random() < s ? 1 : 0));
      const c = calibration({ truth, scores }, { bins: 10, consistency });
      const k = c.consistency!;
      // The small-sample bias: the ECE of perfect calibration is far from 0 at n = 118.
      assert.ok(k.medianEce > 0.04 && k.medianEce < 0.12, `median ${k.medianEce}`);
      assert.ok(k.upperEce > k.medianEce);
      assert.ok(c.ece <= k.upperEce, `${c.ece} vs ${k.upperEce}`);
      assert.ok(k.pValue > 0.05, `p ${k.pValue}`);
    });

    it('scores shifted away from the truth are found miscalibrated', () => {
      const truth = scores.map((s): 0 | 1 => (random() < s ? 1 : 0));
      const shifted = scores.map((s) => Math.min(1, s + 0.3));
      const c = calibration({ truth, scores: shifted }, { bins: 10, consistency });
      assert.ok(c.ece > c.consistency!.upperEce, `${c.ece} vs ${c.consistency!.upperEce}`);
      assert.ok(c.consistency!.pValue < 0.01);
    });

    it('is reproducible from its seed, absent unless asked for, and needs 100 resamples', () => {
      const truth = scores.map((s): 0 | 1 => (s > 0.5 ? 1 : 0));
      const a = calibration({ truth, scores }, { consistency });
      const b = calibration({ truth, scores }, { consistency });
      assert.deepEqual(a.consistency, b.consistency);
      assert.equal(calibration({ truth, scores }).consistency, undefined);
      assert.throws(
        () => calibration({ truth, scores }, { consistency: { resamples: 10, seed: 1 } }),
        /at least 100 resamples/,
      );
    });
  });
});
