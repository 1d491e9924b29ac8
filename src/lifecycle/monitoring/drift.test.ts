import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalDraw, seededRandom } from '../validation/index.js';
import {
  buildDriftReference,
  detectDrift,
  imagesOfAnalysis,
  noTruth,
  parseDriftReference,
  renderDriftHtml,
  selectWindow,
  type AnalysedImage,
  type TruthLookup,
} from './index.js';

const MODEL = { id: 'cxr', version: '1.0.0' };

interface Shape {
  brightness?: number;
  manufacturer?: (i: number) => string | null;
  scoreShift?: number;
  /** Images per patient cycle over this many patients (repeated imaging). */
  patients?: number;
}

/** Synthetic analysed images: a chest-like population with optional changes. */
function images(count: number, seed: number, shape: Shape = {}): AnalysedImage[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const mean = 0.5 + 0.05 * normalDraw(random) + (shape.brightness ?? 0);
    const truthy = random() < 0.5;
    const probability = Math.min(
      1,
      Math.max(0, (truthy ? 0.65 : 0.35) + 0.15 * normalDraw(random) + (shape.scoreShift ?? 0)),
    );
    const distance = 10 + 2 * normalDraw(random);
    return {
      studyInstanceUid: `1.2.${seed}.${i}`,
      sopInstanceUid: `1.2.${seed}.${i}.1`,
      model: MODEL,
      performedAt: new Date(Date.UTC(2026, 11, 1) + i * 3_600_000),
      inputs: {
        patient: shape.patients === undefined ? null : `p${seed}-${i % shape.patients}`,
        acquisition: {
          modality: 'CR',
          manufacturer: shape.manufacturer ? shape.manufacturer(i) : 'Agfa',
          manufacturerModelName: null,
          viewPosition: 'PA',
          bodyPartExamined: 'CHEST',
          photometricInterpretation: 'MONOCHROME2',
          bitsStored: 8,
          pixelSpacing: null,
          kvp: null,
          rows: 512,
          columns: 512,
        },
        pixels: {
          mean,
          std: 0.2 + 0.02 * normalDraw(random),
          p05: mean - 0.35,
          p50: mean,
          p95: mean + 0.35,
        },
      },
      ood: { distance, threshold: 16, flagged: distance > 16 },
      findings: { pneumonia: { probability, threshold: 0.5, present: probability >= 0.5 } },
    };
  });
}

function reference(
  source: readonly AnalysedImage[],
  truth: TruthLookup = noTruth,
): ReturnType<typeof buildDriftReference> {
  return buildDriftReference({
    model: { ...MODEL, modelSha256: 'a'.repeat(64) },
    labels: ['pneumonia'],
    images: source,
    truth,
    source: {
      description: 'synthetic',
      dataset: { id: 'synthetic', version: '1' },
      notAnalysed: 0,
      computedBy: 'test',
    },
  });
}

test('same population: no drift; every feature tested or skipped with a reason', () => {
  const ref = reference(images(150, 1));
  const report = detectDrift(ref, images(120, 2), { generatedAt: 'now' });
  assert.equal(report.drift, false, JSON.stringify(report.tests.filter((t) => t.drift)));
  assert.ok(
    report.tests.some((t) => t.feature === 'pixel mean' && t.test === 'Kolmogorov–Smirnov'),
  );
  assert.ok(
    report.tests.some((t) => t.feature === 'positive rate: pneumonia' && t.test === 'Fisher exact'),
  );
  assert.deepEqual(
    report.skipped.map((s) => `${s.feature}: ${s.reason}`),
    ['kVp: not recorded', 'agreement with radiologists: pneumonia: not recorded'],
  );
  // The reference survives a round trip through its schema.
  assert.deepEqual(parseDriftReference(JSON.parse(JSON.stringify(ref)), 'ref'), ref);
  assert.match(renderDriftHtml(report, ref), /No drift/);

  // Repeated images of patients: whole patients are permuted.
  const clustered = detectDrift(ref, images(120, 2, { patients: 30 }));
  assert.ok(clustered.tests.some((t) => t.test === 'Kolmogorov–Smirnov (patient permutation)'));
  assert.equal(clustered.drift, false);
});

test('brighter images, a new manufacturer and shifted scores are each reported as drift', () => {
  const ref = reference(images(150, 1));
  const brighter = detectDrift(ref, images(60, 3, { brightness: 0.08 }));
  assert.equal(brighter.drift, true);
  const flagged = brighter.tests.filter((t) => t.drift).map((t) => t.feature);
  assert.ok(flagged.includes('pixel mean'), flagged.join());
  assert.ok(!flagged.includes('manufacturer'));
  for (const t of brighter.tests) assert.ok(t.threshold <= 0.05 && t.decision === 'p <= threshold');

  const scanner = detectDrift(
    ref,
    images(60, 4, { manufacturer: (i) => (i % 3 === 0 ? 'Canon' : 'Agfa') }),
  );
  assert.deepEqual(
    scanner.tests.filter((t) => t.drift).map((t) => t.feature),
    ['manufacturer'],
  );

  const scores = detectDrift(ref, images(80, 5, { scoreShift: 0.2 }));
  const outputs = scores.tests.filter((t) => t.drift).map((t) => t.feature);
  assert.ok(
    outputs.includes('score: pneumonia') && outputs.includes('positive rate: pneumonia'),
    outputs.join(),
  );
  assert.match(renderDriftHtml(scores, ref), /Drift: \d+ of \d+ features/);
});

test('feedback: agreement with the radiologists is compared when answers exist', () => {
  const source = images(150, 1);
  const honest: TruthLookup = (image) => (image.findings['pneumonia']!.present ? 1 : 0);
  const ref = reference(source, (image) =>
    Number(image.sopInstanceUid.split('.')[3]) % 10 === 0
      ? honest(image, 'pneumonia') === 1
        ? 0
        : 1
      : honest(image, 'pneumonia'),
  );
  const window = images(100, 6);
  const worse: TruthLookup = (image) =>
    Number(image.sopInstanceUid.split('.')[3]) % 2 === 0
      ? honest(image, 'pneumonia') === 1
        ? 0
        : 1
      : honest(image, 'pneumonia');
  const report = detectDrift(ref, window, { truth: worse });
  const agreement = report.tests.find(
    (t) => t.feature === 'agreement with radiologists: pneumonia',
  )!;
  assert.equal(agreement.drift, true, 'agreement fell from 90% to 50%');
  assert.equal(
    detectDrift(ref, window).skipped.some((s) => s.feature.startsWith('agreement')),
    true,
    'no answers: not tested',
  );
});

test('small windows are not judged; large ones use PSI and Jensen–Shannon with fixed thresholds', () => {
  const ref = reference(images(150, 1));
  const small = detectDrift(ref, images(12, 7, { brightness: 0.2 }));
  assert.equal(small.drift, false);
  assert.equal(small.tests.length, 0);
  assert.match(small.skipped[0]!.reason, /12 value\(s\) in the window; the test needs at least 30/);

  const bigRef = reference(images(3000, 8));
  const big = detectDrift(bigRef, images(3000, 9));
  assert.ok(big.tests.every((t) => t.test === 'PSI' || t.test === 'Jensen–Shannon distance'));
  assert.equal(big.drift, false, JSON.stringify(big.tests.filter((t) => t.drift)));
  const shifted = detectDrift(bigRef, images(3000, 10, { brightness: 0.08 }));
  assert.ok(shifted.tests.find((t) => t.feature === 'pixel mean')!.drift);
});

test('analysis.json becomes one record per image; the window picks a model version, time and count', () => {
  const summary = {
    studyInstanceUid: '1.2.3',
    model: MODEL,
    performedAt: '2026-12-01T10:00:00.000Z',
    findings: [
      {
        sopInstanceUid: '1.2.3.1',
        label: 'pneumonia',
        probability: 0.7,
        threshold: 0.5,
        present: true,
        ood: null,
      },
      {
        sopInstanceUid: '1.2.3.2',
        label: 'pneumonia',
        probability: 0.2,
        threshold: 0.5,
        present: false,
        ood: null,
      },
    ],
    inputs: {},
    extra: 'ignored',
  };
  const parsed = imagesOfAnalysis(summary, 'a.json');
  assert.deepEqual(
    parsed.map((i) => [i.sopInstanceUid, i.findings['pneumonia']!.present, i.inputs]),
    [
      ['1.2.3.1', true, null],
      ['1.2.3.2', false, null],
    ],
  );
  assert.deepEqual(imagesOfAnalysis({ ...summary, model: null, findings: [] }, 'b.json'), []);
  assert.throws(
    () => imagesOfAnalysis({ findings: 3 }, 'c.json'),
    /E_BAD_INPUT: c.json is not an analysis summary/,
  );

  const all = [
    ...images(10, 1),
    ...images(5, 2).map((i) => ({ ...i, model: { id: 'cxr', version: '2.0.0' } })),
  ];
  assert.equal(selectWindow(all, { model: MODEL }).length, 10);
  assert.equal(selectWindow(all, { model: MODEL, last: 4 })[0]!.sopInstanceUid, '1.2.1.6.1');
  assert.equal(
    selectWindow(all, { model: MODEL, since: new Date(Date.UTC(2026, 11, 1, 8)) }).length,
    2,
  );
  assert.throws(
    () => selectWindow(all, { model: MODEL, last: 0 }),
    /--last must be a whole number/,
  );
});
