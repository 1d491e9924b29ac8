import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sharedDir } from '../../../test/support/index.js';
import { splitByPatient } from './patientSplit.js';
import { readSiteLabels } from './siteData.js';

const site = readSiteLabels(join(sharedDir, 'data', 'cxr-site-nih', 'labels.csv'), {
  label: 'pneumonia',
  patientColumn: 'patient_id',
});
const cases = site.images.map((image) => ({ patientId: image.patientId, truth: image.truth }));

test('NIH site: no patient in two splits, every image assigned, about 60/20/20 of patients', () => {
  const split = splitByPatient(cases, { seed: 1 });
  const seen = new Map<string, string>();
  cases.forEach((c, i) => {
    const where = split.assignment[i]!;
    const before = seen.get(c.patientId);
    assert.ok(
      before === undefined || before === where,
      `patient ${c.patientId} in ${before} and ${where}`,
    );
    seen.set(c.patientId, where);
  });
  const { train, tuning, test: testPatients } = split.patients;
  const all = new Set([...train, ...tuning, ...testPatients]);
  assert.equal(
    all.size,
    train.length + tuning.length + testPatients.length,
    'patient lists are disjoint',
  );
  assert.equal(all.size, new Set(cases.map((c) => c.patientId)).size);
  assert.ok(Math.abs(train.length / all.size - 0.6) < 0.02, `train ${train.length}/${all.size}`);
  assert.ok(Math.abs(tuning.length / all.size - 0.2) < 0.02);
  for (const name of ['train', 'tuning', 'test'] as const) {
    const truths = cases.filter((_, i) => split.assignment[i] === name).map((c) => c.truth);
    assert.ok(truths.includes(1) && truths.includes(0), `${name} has both classes`);
  }
  assert.match(split.rule, /HMAC-SHA256/);
});

test('deterministic for a seed, independent of row order; another seed gives another split', () => {
  const a = splitByPatient(cases, { seed: 1 });
  const b = splitByPatient([...cases].reverse(), { seed: 1 });
  assert.deepEqual(a.patients, b.patients);
  const c = splitByPatient(cases, { seed: 2 });
  assert.notDeepEqual(a.patients.test, c.patients.test);
});

test('refuses bad fractions and empty patient ids', () => {
  assert.throws(
    () => splitByPatient(cases, { seed: 1, fractions: { train: 0.7, tuning: 0.2, test: 0.2 } }),
    /E_BAD_INPUT: split fractions/,
  );
  assert.throws(
    () => splitByPatient([{ patientId: ' ', truth: 1 }], { seed: 1 }),
    /empty patient id/,
  );
});
