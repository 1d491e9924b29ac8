import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balancedClassWeights,
  fitLogisticRegression,
  logLossOfLogit,
  sigmoid,
} from './logistic.js';

const logit = (p: number): number => Math.log(p / (1 - p));

/** Deterministic pseudo-random numbers for synthetic data. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test('intercept only: the bias is the logit of the (weighted) positive rate', () => {
  const truth: (0 | 1)[] = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
  const features = truth.map(() => Float64Array.of());
  const fit = fitLogisticRegression(features, truth, { l2: 0 });
  assert.ok(fit.converged);
  assert.ok(Math.abs(fit.bias - logit(0.3)) < 1e-9, `bias ${fit.bias}`);
  // Balanced class weights make both classes count the same: the bias goes to 0.
  const w = balancedClassWeights(truth);
  assert.ok(Math.abs(w.positive * 3 - w.negative * 7) < 1e-12);
  const balanced = fitLogisticRegression(features, truth, {
    l2: 0,
    caseWeights: truth.map((y) => (y === 1 ? w.positive : w.negative)),
  });
  assert.ok(Math.abs(balanced.bias) < 1e-9, `balanced bias ${balanced.bias}`);
});

test('one binary feature, no penalty: closed form b = logit(p0), w = logit(p1) − logit(p0)', () => {
  // x = 0: 2 of 8 positive; x = 1: 6 of 8 positive.
  const rows: { x: number; y: 0 | 1 }[] = [];
  for (let i = 0; i < 8; i++) rows.push({ x: 0, y: i < 2 ? 1 : 0 });
  for (let i = 0; i < 8; i++) rows.push({ x: 1, y: i < 6 ? 1 : 0 });
  const fit = fitLogisticRegression(
    rows.map((r) => [r.x]),
    rows.map((r) => r.y),
    { l2: 0 },
  );
  assert.ok(Math.abs(fit.bias - logit(0.25)) < 1e-9);
  assert.ok(Math.abs(fit.weights[0]! - (logit(0.75) - logit(0.25))) < 1e-9);
  assert.ok(fit.iterations < 15, `${fit.iterations} Newton iterations`);
});

test('matches plain gradient descent on a penalised 3-feature problem to 1e-6', () => {
  const random = lcg(7);
  const n = 60;
  const features = Array.from({ length: n }, () => [
    random() * 2 - 1,
    random() * 2 - 1,
    random() * 2 - 1,
  ]);
  const truth = features.map((x) => (random() < sigmoid(2 * x[0]! - x[1]! + 0.3) ? 1 : 0) as 0 | 1);
  const caseWeights = truth.map((y) => (y === 1 ? 1.5 : 0.8));
  const l2 = 0.05;
  const fit = fitLogisticRegression(features, truth, { l2, caseWeights });
  assert.ok(fit.converged);

  // Second method: gradient descent on the same objective, run to a tiny gradient.
  const s = caseWeights.map((w) => w / caseWeights.reduce((a, b) => a + b, 0));
  const theta = new Float64Array(4);
  for (let it = 0; it < 20000; it++) {
    const grad = new Float64Array(4);
    features.forEach((x, i) => {
      const p = sigmoid(theta[3]! + x[0]! * theta[0]! + x[1]! * theta[1]! + x[2]! * theta[2]!);
      const r = s[i]! * (p - truth[i]!);
      for (let j = 0; j < 3; j++) grad[j] = grad[j]! + r * x[j]!;
      grad[3] = grad[3]! + r;
    });
    for (let j = 0; j < 3; j++) grad[j] = grad[j]! + l2 * theta[j]!;
    for (let j = 0; j < 4; j++) theta[j] = theta[j]! - 2 * grad[j]!;
    if (Math.max(...Array.from(grad, Math.abs)) < 1e-12) break;
  }
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(fit.weights[j]! - theta[j]!) < 1e-6, `w${j}`);
  assert.ok(Math.abs(fit.bias - theta[3]!) < 1e-6, 'bias');
  // The loss decreases at every Newton step.
  for (let i = 1; i < fit.history.length; i++) {
    assert.ok(fit.history[i]!.loss <= fit.history[i - 1]!.loss + 1e-15);
  }
});

test('L2 shrinks the weights; separable data stays finite with a penalty', () => {
  const features = [[-2], [-1], [1], [2]];
  const truth: (0 | 1)[] = [0, 0, 1, 1];
  const weak = fitLogisticRegression(features, truth, { l2: 0.01 });
  const strong = fitLogisticRegression(features, truth, { l2: 1 });
  assert.ok(
    Number.isFinite(weak.weights[0]!) &&
      weak.weights[0]! > strong.weights[0]! &&
      strong.weights[0]! > 0,
  );
  // Stationarity at the optimum: mean (p − y)·x + λ w = 0.
  const grad =
    features.reduce(
      (sum, x, i) => sum + (sigmoid(strong.weights[0]! * x[0]! + strong.bias) - truth[i]!) * x[0]!,
      0,
    ) /
      4 +
    1 * strong.weights[0]!;
  assert.ok(Math.abs(grad) < 1e-9);
});

test('class weighting moves the decision towards the rare class', () => {
  const random = lcg(3);
  const features: number[][] = [];
  const truth: (0 | 1)[] = [];
  for (let i = 0; i < 80; i++) {
    const y: 0 | 1 = i < 12 ? 1 : 0; // 12 positives, 68 negatives
    features.push([(y === 1 ? 0.8 : -0.2) + random() * 1.5 - 0.75]);
    truth.push(y);
  }
  const plain = fitLogisticRegression(features, truth, { l2: 0.01 });
  const w = balancedClassWeights(truth);
  const weighted = fitLogisticRegression(features, truth, {
    l2: 0.01,
    caseWeights: truth.map((y) => (y === 1 ? w.positive : w.negative)),
  });
  const calledPositive = (fit: typeof plain): number =>
    features.filter((x) => fit.weights[0]! * x[0]! + fit.bias >= 0).length;
  assert.ok(weighted.bias > plain.bias, 'weighted bias is higher');
  assert.ok(calledPositive(weighted) > calledPositive(plain), 'more cases called positive');
});

test('stable log-loss and refused input', () => {
  assert.ok(Math.abs(logLossOfLogit(800, 1)) < 1e-12);
  assert.ok(Math.abs(logLossOfLogit(-800, 1) - 800) < 1e-9);
  assert.equal(sigmoid(-1000), 0);
  assert.throws(
    () => fitLogisticRegression([[1], [Number.NaN]], [0, 1], { l2: 1 }),
    /E_BAD_INPUT.*case 2/,
  );
  assert.throws(() => fitLogisticRegression([[1], [2]], [0], { l2: 1 }), /E_BAD_INPUT/);
  assert.throws(() => fitLogisticRegression([[1], [2]], [0, 1], { l2: -1 }), /E_BAD_INPUT/);
  assert.throws(() => balancedClassWeights([1, 1]), /both classes/);
});
