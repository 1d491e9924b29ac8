import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitHead, logitOf } from './headFit.js';
import { fitLogisticRegression } from './logistic.js';

function synthetic(n: number, seed: number): { features: number[][]; truth: (0 | 1)[] } {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const features: number[][] = [];
  const truth: (0 | 1)[] = [];
  for (let i = 0; i < n; i++) {
    const y: 0 | 1 = random() < 0.4 ? 1 : 0;
    // Channel 0 carries the signal on a large scale, channel 1 is noise, channel 2 is dead.
    features.push([100 * (y + random() * 1.6), random() * 0.01, 0]);
    truth.push(y);
  }
  return { features, truth };
}

test('weights mapped back to raw feature space give the standardised fit’s logits', () => {
  const train = synthetic(80, 1);
  const tuning = synthetic(40, 2);
  const head = fitHead(train, tuning, { l2Grid: [0.01] });
  // Same fit done by hand on standardised features.
  const d = 3;
  const mean = [0, 0, 0];
  const sd = [0, 0, 0];
  for (const x of train.features) for (let j = 0; j < d; j++) mean[j] = mean[j]! + x[j]! / 80;
  for (const x of train.features)
    for (let j = 0; j < d; j++) sd[j] = sd[j]! + (x[j]! - mean[j]!) ** 2 / 80;
  const scale = sd.map((v) => (v > 1e-24 ? Math.sqrt(v) : 1));
  const z = train.features.map((x) => x.map((v, j) => (v - mean[j]!) / scale[j]!));
  const w = head.classWeights;
  const byHand = fitLogisticRegression(z, train.truth, {
    l2: 0.01,
    caseWeights: train.truth.map((y) => (y === 1 ? w.positive : w.negative)),
  });
  train.features.forEach((x, i) => {
    const expected = logitOf(byHand.weights, byHand.bias, z[i]!);
    assert.ok(Math.abs(logitOf(head.weights, head.bias, x) - expected) < 1e-9);
  });
  assert.equal(head.weights[2], 0, 'a dead channel gets no weight');
  assert.ok(head.weights[0]! > 0);
});

test('the L2 strength is chosen by tuning AUC, deterministically', () => {
  const train = synthetic(80, 3);
  const tuning = synthetic(40, 4);
  const a = fitHead(train, tuning);
  const b = fitHead(train, tuning);
  assert.deepEqual(a.weights, b.weights);
  assert.equal(a.candidates.length, 5);
  const best = Math.max(...a.candidates.map((c) => c.tuningAuc));
  assert.equal(a.candidates.find((c) => c.l2 === a.l2)!.tuningAuc, best);
  assert.ok(a.candidates.every((c) => c.converged));
  assert.throws(() => fitHead(train, { features: [[1, 1, 1]], truth: [1] }), /tuning split/);
});
