import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fitOodStatistics,
  oodCaveat,
  parseOodStatistics,
  serialiseOodStatistics,
  type OodMeaning,
  type OodStatistics,
} from '../../inference/ood/index.js';
import {
  oodDetection,
  oodErrorAnalysis,
  oodMeaningFrom,
  renderOodReportHtml,
  type LabelledDistance,
  type OodVariantResult,
} from './index.js';

/** Statistics whose threshold is set by hand; the analysis reads only the threshold. */
function statsWithThreshold(threshold: number): OodStatistics {
  const base = fitOodStatistics(
    [
      [0, 1],
      [1, 0],
      [2, 2],
      [1, 3],
      [3, 1],
    ],
    { model: { id: 'm', version: '1.0.0', onnxSha256: 'a'.repeat(64) }, folds: 0 },
  );
  return { ...base, threshold };
}

test('error analysis: a distance that marks every wrong decision scores AUC 1, and rejecting by it lowers the risk', () => {
  // Ten images: the four most distant are exactly the wrong decisions (threshold 0.5).
  const items: LabelledDistance[] = Array.from({ length: 10 }, (_, k) => {
    const wrong = k >= 6;
    const truth = (k % 2) as 0 | 1;
    const right = truth === 1 ? 0.9 : 0.1;
    return {
      image: `i${k}`,
      patient: `p${k}`,
      distance: k,
      score: wrong ? 1 - right : right,
      truth,
    };
  });
  const a = oodErrorAnalysis(statsWithThreshold(5.5), items, 0.5, { resamples: 200 });
  assert.equal(a.errors, 4);
  assert.deepEqual([a.flagged.count, a.flagged.n], [4, 4]);
  assert.deepEqual([a.unflagged.count, a.unflagged.n], [0, 6]);
  assert.equal(a.aucForError!.estimate, 1);
  assert.equal(a.patients, 10);
  assert.equal(a.riskCoverage[0]!.coverage, 1);
  assert.equal(a.riskCoverage[0]!.risk, 0.4);
  assert.equal(a.riskCoverage.find((p) => p.kept === 6)!.risk, 0);
  assert.ok(a.aurc < a.aurcRandom, `${a.aurc} vs ${a.aurcRandom}`);
  // On the unflagged images the model is always right: AUC 1 there, lower over all.
  assert.equal(a.modelAuc.unflagged!.estimate, 1);
  assert.ok(a.modelAuc.all!.estimate < 1);
  assert.ok(a.modelAuc.difference!.estimate > 0);

  // The same decisions with distances unrelated to them: AUC near 0.5, no risk reduction.
  const shuffled = items.map((item, k) => ({
    ...item,
    distance: [3, 8, 1, 6, 9, 0, 2, 7, 4, 5][k]!,
  }));
  const b = oodErrorAnalysis(statsWithThreshold(5.5), shuffled, 0.5, { resamples: 200 });
  assert.ok(b.aucForError!.ci[0] < 0.5 && b.aucForError!.ci[1] > 0.5);

  // Without a wrong decision there is no AUC, and the reason is kept.
  const allRight = items.map((i) => ({ ...i, score: i.truth === 1 ? 0.9 : 0.1 }));
  const c = oodErrorAnalysis(statsWithThreshold(5.5), allRight, 0.5, { resamples: 200 });
  assert.equal(c.aucForError, null);
  assert.match(c.aucForErrorNote!, /positive/);
});

test('detection: flag rate with Wilson CI and AUC against the reference', () => {
  const stats = statsWithThreshold(3);
  const far = [
    { pooled: Float32Array.of(30, 30), kind: 'CT/HEAD/MONOCHROME2' },
    { pooled: Float32Array.of(-20, 40), kind: 'CT/-/MONOCHROME2' },
    { pooled: Float32Array.of(1.4, 1.4), kind: 'US/-/RGB' },
  ];
  const d = oodDetection(stats, 'CT', 'CT images', far, [0.1, 0.5, 1, 1.2, 0.8]);
  assert.equal(d.flagged.count, 2);
  assert.equal(d.flagged.n, 3);
  assert.ok(d.flagged.ci[0] < 2 / 3 && d.flagged.ci[1] > 2 / 3);
  assert.ok(d.auc!.estimate > 0.5);
  assert.deepEqual(d.kinds, ['CT/-/MONOCHROME2', 'CT/HEAD/MONOCHROME2', 'US/-/RGB']);
});

test('detection for a lung-field classifier: refusals count beside flags, the caveat says both', () => {
  const stats = statsWithThreshold(3);
  const scored = [
    { pooled: Float32Array.of(30, 30), kind: 'CR/HAND/MONOCHROME2' },
    { pooled: Float32Array.of(1.4, 1.4), kind: 'CR/KNEE/MONOCHROME2' },
  ];
  const d = oodDetection(stats, 'non-chest', 'non-chest images', scored, [0.5, 1, 1.2], 6);
  // Of 8 images: 6 refused before scoring, 1 of the 2 scored flagged → 7 stopped.
  assert.deepEqual([d.flagged.count, d.flagged.n], [1, 2]);
  assert.deepEqual([d.refused!.count, d.refused!.n], [6, 8]);
  assert.deepEqual([d.stopped!.count, d.stopped!.n], [7, 8]);
  assert.ok(d.stopped!.ci[0] < 7 / 8 && d.stopped!.ci[1] > 7 / 8);
  // A whole-image classifier's detection has no refusals to report.
  assert.equal(oodDetection(stats, 'CT', 'CT', scored, [0.5, 1]).refused, undefined);

  const meaning = oodMeaningFrom(
    {
      name: 'as shipped',
      fitSources: [],
      fitCount: 5,
      percentile: 99,
      thresholdSource: 'in-sample',
      threshold: 3,
      shrinkage: 0,
      sets: [],
      detection: [d],
    },
    { path: 'r.json', sha256: 'c'.repeat(64), generatedAt: 'now' },
  );
  assert.deepEqual(meaning.detection[0]!.refused, {
    count: 6,
    n: 8,
    estimate: 0.75,
    ci: d.refused!.ci,
  });
  const caveat = oodCaveat({ distance: 5, threshold: 3, flagged: true }, meaning);
  assert.match(
    caveat,
    /50% of non-chest images that the lung-field check let through \(1\/2; it refused 6\/8 before scoring\)/,
  );
});

test('the meaning travels in the statistics file, and the caveat says it with its numbers', () => {
  const variant: OodVariantResult = {
    name: 'as shipped',
    origin: 'given',
    fitSources: ['fit.csv'],
    fitCount: 5,
    percentile: 99,
    thresholdSource: 'in-sample',
    threshold: 3,
    shrinkage: 0.1,
    sets: [],
    errors: {
      ...oodErrorAnalysis(
        statsWithThreshold(3),
        Array.from({ length: 8 }, (_, k) => ({
          image: `i${k}`,
          patient: null,
          distance: k,
          score: k % 3 === 0 ? 0.9 : 0.1,
          truth: (k % 2) as 0 | 1,
        })),
        0.5,
        { resamples: 200 },
      ),
      reference: 'site test split',
      label: 'pneumonia',
    },
    detection: [
      {
        kind: 'paediatric',
        name: 'paediatric chest radiographs',
        flagged: { count: 1, n: 314, estimate: 1 / 314, ci: [0.0006, 0.0178] },
        auc: null,
        kinds: ['raster'],
      },
      {
        kind: 'CT',
        name: 'CT images',
        flagged: { count: 13, n: 13, estimate: 1, ci: [0.77, 1] },
        auc: null,
        kinds: [],
      },
    ],
    notMeasured: ['lateral views (none available)'],
  };
  const meaning = oodMeaningFrom(variant, {
    path: 'evidence/ood.json',
    sha256: 'b'.repeat(64),
    generatedAt: '2026-01-01T00:00:00.000Z',
  });
  // Only the kinds a reader asks about go into the caveat; the modality detail stays in the report.
  assert.deepEqual(
    meaning.detection.map((d) => d.kind),
    ['paediatric chest radiographs'],
  );
  assert.equal(meaning.reference.images, 8);
  const stats = { ...statsWithThreshold(3), meaning };
  const back = parseOodStatistics(serialiseOodStatistics(stats), 'with-meaning.json');
  assert.deepEqual(back.meaning, meaning);
  assert.throws(
    () =>
      parseOodStatistics(
        JSON.stringify({ ...stats, meaning: { ...meaning, detection: 'many' } }),
        'bad.json',
      ),
    /bad\.json is not OOD statistics/,
  );

  const flag = { distance: 4.25, threshold: 3, flagged: true };
  const caveat = oodCaveat(flag, meaning);
  assert.match(caveat, /feature distance 4\.25 > 3\.00/);
  assert.match(caveat, /Measured on 8 held-out images \(site test split\)/);
  const e = meaning.error!;
  assert.ok(
    caveat.includes(
      `${e.auc.estimate.toFixed(2)}, 95% CI ${e.auc.ci[0].toFixed(2)}–${e.auc.ci[1].toFixed(2)}`,
    ),
    caveat,
  );
  assert.match(caveat, /of 314 paediatric|paediatric chest radiographs \(1\/314\)/);
  assert.match(caveat, /not measured: lateral views/);
  assert.match(oodCaveat(flag, undefined), /has not been measured for this model/);
  const verdict = (auc: [number, number, number]): string =>
    oodCaveat(flag, {
      ...meaning,
      error: { ...e, auc: { estimate: auc[0], ci: [auc[1], auc[2]] } },
    } satisfies OodMeaning);
  assert.match(verdict([0.8, 0.7, 0.9]), /flagged images were more often wrong/);
  assert.match(verdict([0.3, 0.2, 0.4]), /the flag does not warn of errors/);
  assert.match(verdict([0.5, 0.4, 0.6]), /not shown to predict a wrong decision/);

  const html = renderOodReportHtml({
    schema: 'radiolens.ood-report/1',
    generatedAt: 'now',
    model: { id: 'm', version: '1' },
    variants: [variant],
  });
  assert.match(html, /The flag as a predictor of a wrong decision/);
  assert.match(html, /Not measured: lateral views/);
});
