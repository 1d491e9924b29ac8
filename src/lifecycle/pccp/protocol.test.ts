import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeControlPlan } from '../../inference/models/index.js';
import { delongTest, normalDraw, seededRandom, wilsonInterval } from '../validation/index.js';
import { evaluateAcceptance, type GateCase } from './index.js';

const PLAN: ChangeControlPlan = {
  plan: 'PCCP-TEST',
  allowedModifications: [{ kind: 'head-refit', description: 'head' }],
  acceptance: {
    testDataset: { name: 'test', version: 'a'.repeat(64) },
    level: 0.95,
    minimumAnalysedFraction: 0.95,
    labels: [
      {
        label: 'pneumonia',
        truth: 'truth',
        aucNonInferiorityMargin: 0.05,
        sensitivity: { minimum: 0.8, minimumLowerBound: 0.65 },
        specificity: { minimum: 0.5 },
        calibration: { maximumEce: 0.2, bins: 10 },
        subgroups: { columns: ['site'], maxAucDrop: 0.1, minCasesPerClass: 10 },
      },
    ],
  },
};

/** 200 cases; the active model separates well; the candidate is the active model plus noise. */
function cases(noise: number, seed = 1): GateCase[] {
  const random = seededRandom(seed);
  return Array.from({ length: 200 }, (_, i) => {
    const positive = i % 2 === 0;
    const signal = (positive ? 1.2 : -1.2) + normalDraw(random);
    const p = (x: number): number => 1 / (1 + Math.exp(-x));
    return {
      sopInstanceUid: `1.${i}`,
      // 'rare' has 4 positives: too few to judge.
      labels: {
        truth: positive ? '1' : '0',
        site: i < 8 ? 'rare' : i % 3 === 0 ? 'north' : 'south',
      },
      active: { pneumonia: p(signal) },
      candidate: { pneumonia: p(signal + noise * normalDraw(random)) },
    };
  });
}

const thresholds = { active: { pneumonia: 0.5 }, candidate: { pneumonia: 0.5 } };

test('a candidate as good as the active model passes every criterion; the numbers are the statistics of record', () => {
  const data = cases(0.1);
  const { criteria, evidence } = evaluateAcceptance({ plan: PLAN, thresholds, cases: data });
  const failed = criteria.filter((c) => c.status === 'fail');
  assert.deepEqual(failed, []);
  assert.deepEqual(
    criteria.map((c) => `${c.id}:${c.status}`),
    [
      'analysed-fraction:pass',
      'auc-non-inferiority:pass',
      'sensitivity:pass',
      'sensitivity-lower-bound:pass',
      'specificity:pass',
      'calibration:pass',
      'subgroup site=north:pass',
      'subgroup site=rare:not assessable',
      'subgroup site=south:pass',
    ],
  );
  const truth = data.map((c) => (c.labels['truth'] === '1' ? 1 : 0) as 0 | 1);
  const expected = delongTest(
    truth,
    data.map((c) => c.candidate!['pneumonia']!),
    data.map((c) => c.active!['pneumonia']!),
  );
  const auc = criteria.find((c) => c.id === 'auc-non-inferiority')!;
  assert.equal(auc.numbers['lower'], expected.ci[0]);
  assert.equal(auc.numbers['difference'], expected.difference);
  const tp = data.filter(
    (c) => c.labels['truth'] === '1' && c.candidate!['pneumonia']! >= 0.5,
  ).length;
  assert.equal(
    criteria.find((c) => c.id === 'sensitivity-lower-bound')!.numbers['lower'],
    wilsonInterval(tp, 100)[0],
  );
  assert.equal(evidence[0]!.cases, 200);
});

test('a worse candidate is refused with each failed criterion and its numbers', () => {
  const data: GateCase[] = cases(3).map((c) => ({
    ...c,
    candidate: { pneumonia: c.candidate!['pneumonia']! * 0.4 },
  }));
  data[0] = { ...data[0]!, candidate: null }; // one image it did not analyse
  const { criteria } = evaluateAcceptance({ plan: PLAN, thresholds, cases: data });
  const failed = criteria.filter((c) => c.status === 'fail').map((c) => c.id);
  assert.deepEqual(failed, [
    'auc-non-inferiority',
    'sensitivity',
    'sensitivity-lower-bound',
    'calibration',
    'subgroup site=north',
    'subgroup site=south',
  ]);
  const auc = criteria.find((c) => c.id === 'auc-non-inferiority')!;
  assert.match(
    auc.found,
    /^AUC 0\.\d{3} vs 0\.\d{3}: difference -0\.\d{3} \[-0\.\d{3}, -0\.\d{3}\], p /,
  );
  assert.equal(criteria[0]!.status, 'pass', '199 of 200 analysed is above 0.95');
  assert.equal(criteria[0]!.found, '199 of 200 (0.995)');
});

test('a dataset without the truth or subgroup labels the plan names does not fit the plan', () => {
  const data = cases(0.1).map((c) => ({ ...c, labels: { truth: c.labels['truth']! } }));
  const noSubgroup = evaluateAcceptance({ plan: PLAN, thresholds, cases: data }).criteria.filter(
    (c) => c.status === 'fail',
  );
  assert.deepEqual(
    noSubgroup.map((c) => [c.id, c.found]),
    [['subgroup site', '200 image(s) lack it — the locked dataset does not fit this plan']],
  );
  const noTruth = cases(0.1).map((c, i) => (i === 3 ? { ...c, labels: { site: 'north' } } : c));
  const result = evaluateAcceptance({ plan: PLAN, thresholds, cases: noTruth }).criteria.filter(
    (c) => c.status === 'fail',
  );
  assert.deepEqual(
    result.map((c) => c.id),
    ['truth'],
  );
});

test('a plan that names the patient label judges with intervals that respect patients', () => {
  const plan: ChangeControlPlan = {
    ...PLAN,
    acceptance: { ...PLAN.acceptance, patient: 'patient' },
  };
  // 50 patients with 4 images each, sharing a patient level: not 200 independent images.
  const random = seededRandom(5);
  const data: GateCase[] = [];
  for (let p = 0; p < 50; p++) {
    const positive = p % 2 === 0;
    const level = (positive ? 1 : -1) + 1.5 * normalDraw(random);
    for (let k = 0; k < 4; k++) {
      const signal = level + 0.3 * normalDraw(random);
      const prob = (x: number): number => 1 / (1 + Math.exp(-x));
      data.push({
        sopInstanceUid: `${p}.${k}`,
        labels: {
          truth: positive ? '1' : '0',
          site: p % 3 === 0 ? 'north' : 'south',
          patient: `P${p}`,
        },
        active: { pneumonia: prob(signal) },
        candidate: { pneumonia: prob(signal + 0.5 * normalDraw(random)) },
      });
    }
  }
  const clustered = evaluateAcceptance({ plan, thresholds, cases: data }).criteria;
  const plain = evaluateAcceptance({ plan: PLAN, thresholds, cases: data }).criteria;
  const width = (criteria: typeof plain): number => {
    const bound = criteria.find((c) => c.id === 'sensitivity-lower-bound')!.numbers;
    return bound['upper']! - bound['lower']!;
  };
  assert.match(
    clustered.find((c) => c.id === 'auc-non-inferiority')!.requirement,
    /clustered by patient, 50 patients/,
  );
  assert.match(
    clustered.find((c) => c.id === 'sensitivity-lower-bound')!.requirement,
    /patient bootstrap, 2000 resamples/,
  );
  assert.ok(width(clustered) > width(plain), `${width(clustered)} vs ${width(plain)}`);
  const missing = evaluateAcceptance({ plan, thresholds, cases: cases(0.1) }).criteria.filter(
    (c) => c.status === 'fail',
  );
  assert.deepEqual(
    missing.map((c) => [c.id, c.found]),
    [['patients', '200 image(s) do not — the locked dataset does not fit this plan']],
  );
});
