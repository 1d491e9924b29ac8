import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildValidationReport,
  compareModels,
  delongTest,
  normalDraw,
  seededRandom,
  type ValidationModel,
  type ValidationRow,
} from './index.js';

const model: ValidationModel = {
  id: 'cxr-pneumonia',
  version: '1.2.0',
  name: 'Chest X-ray <pneumonia> triage',
  intendedUse: 'Adult frontal chest radiographs; second reader for pneumonia.',
  labels: [
    { id: 'pneumonia', meaning: 'Pneumonia present', threshold: 0.5 },
    { id: 'effusion', meaning: 'Pleural effusion', threshold: 0.4 },
  ],
};

function rows(seed: number, strength: number): ValidationRow[] {
  const random = seededRandom(seed);
  const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
  return Array.from({ length: 80 }, (_, i) => {
    const pneumonia = (i % 3 === 0 ? 1 : 0) as 0 | 1;
    const effusion = (i % 4 === 0 ? 1 : 0) as 0 | 1;
    return {
      image: `images/${String(i).padStart(3, '0')}.png`,
      truth: { pneumonia, effusion },
      score: {
        pneumonia: sigmoid(normalDraw(random) + strength * (pneumonia - 0.5)),
        effusion: sigmoid(normalDraw(random) + 2 * (effusion - 0.5)),
      },
      subgroups: { sex: i % 2 === 0 ? 'F' : 'M', site: i < 70 ? 'main' : 'annex' },
    };
  });
}

const options = {
  bootstrapResamples: 200,
  bandResamples: 100,
  generatedAt: '2026-01-01T00:00:00Z',
  dataset: 'labels.csv',
};

describe('validation report', () => {
  const data = rows(5, 3);
  const report = buildValidationReport({ model, rows: data, options });

  it('report.json has every image score, AUC with CIs, operating point, calibration and subgroups', () => {
    const json = report.json;
    assert.equal(json.schema, 'radiolens.validation-report/1');
    assert.equal(json.cases.length, 80);
    assert.equal(json.cases[7]!.score.pneumonia, data[7]!.score.pneumonia);
    assert.deepEqual(
      json.labels.map((l) => l.id),
      ['pneumonia', 'effusion'],
    );
    const p = json.labels[0]!;
    assert.equal(p.positives, 27);
    assert.ok(p.auc.ci[0] < p.auc.estimate && p.auc.estimate < p.auc.ci[1]);
    assert.ok(p.auc.bootstrapCi[0] < p.auc.estimate && p.auc.estimate < p.auc.bootstrapCi[1]);
    assert.equal(p.operatingPoint.threshold, 0.5);
    assert.equal(p.calibration!.bins.length, 15);
    assert.deepEqual(
      p.subgroups.columns.map((c) => c.column),
      ['sex', 'site'],
    );
    const text = JSON.stringify(json);
    assert.ok(!text.includes('NaN'));
    assert.ok(!text.includes('Infinity'));
  });

  it('is reproducible: same input, same report', () => {
    const again = buildValidationReport({ model, rows: data, options });
    assert.equal(JSON.stringify(again.json), JSON.stringify(report.json));
    assert.equal(again.html, report.html);
  });

  it('report.html is self-contained with ROC band, reliability diagram and tables', () => {
    const html = report.html;
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 4);
    assert.match(html, /<polygon points="[^"]+" fill="#9ecae1"/); // the CI band
    assert.match(html, /Reliability: pneumonia/);
    assert.match(html, /Operating point at threshold 0\.5/);
    assert.match(html, /Subgroups/);
    assert.match(html, /Chest X-ray &lt;pneumonia&gt; triage/); // escaped
    assert.doesNotMatch(html, /<script|<link|src="http|href="http/);
    assert.doesNotMatch(html, /NaN/);
  });

  it('rejects bad input with a message naming the image or label', () => {
    const broken = data.map((r, i) =>
      i === 3 ? { ...r, score: { ...r.score, pneumonia: Number.NaN } } : r,
    );
    assert.throws(
      () => buildValidationReport({ model, rows: broken, options }),
      /E_BAD_INPUT: label "pneumonia": image images\/003\.png has score NaN/,
    );
    const single = data.map((r) => ({ ...r, truth: { ...r.truth, effusion: 0 as const } }));
    assert.throws(
      () => buildValidationReport({ model, rows: single, options }),
      /label "effusion": all 80 cases are negative/,
    );
    assert.throws(() => buildValidationReport({ model, rows: [], options }), /no labelled images/);
    assert.throws(
      () => buildValidationReport({ model, rows: [...data, data[0]!], options }),
      /listed twice/,
    );
  });
});

describe('compareModels', () => {
  const a = rows(5, 3);
  const b = rows(6, 1).map((row, i) => ({ ...row, truth: a[i]!.truth }));
  it('is a paired DeLong test per shared label, A − B', () => {
    const comparison = compareModels(a, [...b].reverse());
    assert.deepEqual(
      comparison.map((c) => c.label),
      ['effusion', 'pneumonia'],
    );
    const pneumonia = comparison[1]!;
    const direct = delongTest(
      a.map((r) => r.truth.pneumonia!),
      a.map((r) => r.score.pneumonia!),
      b.map((r) => r.score.pneumonia!),
    );
    assert.equal(pneumonia.difference, direct.difference);
    assert.equal(pneumonia.p, direct.p);
    assert.ok(pneumonia.difference > 0);
  });
  it('refuses different image sets or different truth', () => {
    assert.throws(() => compareModels(a, b.slice(1)), /model A has 80 images, model B 79/);
    const renamed = b.map((r, i) => (i === 0 ? { ...r, image: 'other.png' } : r));
    assert.throws(
      () => compareModels(a, renamed),
      /image images\/000\.png was scored by model A only/,
    );
    const flipped = b.map((r, i) =>
      i === 1 ? { ...r, truth: { ...r.truth, pneumonia: 1 as const } } : r,
    );
    assert.throws(() => compareModels(a, flipped), /truth 0 for "pneumonia" in A but 1 in B/);
  });
});
