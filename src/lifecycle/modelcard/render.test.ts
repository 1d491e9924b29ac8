import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateManifest } from '../../inference/models/index.js';
import { repoRoot, seededRandom, writeTestModelPackage } from '../../../test/support/index.js';
import { buildValidationReport } from '../validation/index.js';
import {
  faithfulnessReportSchema,
  FORMATTERS,
  localisationReportSchema,
  oodReportSchema,
  robustnessReportSchema,
  renderModelCard,
  trainingRunSchema,
  validationReportSchema,
  type ModelCardInput,
} from './index.js';

const NUMBER = /\d+(?:\.\d+)?/g;

/** Every string a number of the inputs can become in the card, and every digit run of their text. */
function traceable(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'number') {
    for (const text of [String(value), ...FORMATTERS.map((format) => format(value))]) {
      for (const m of text.match(NUMBER) ?? []) into.add(m);
    }
  } else if (typeof value === 'string') {
    for (const m of value.match(NUMBER) ?? []) into.add(m);
  } else if (Array.isArray(value)) {
    for (const v of value) traceable(v, into);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) traceable(v, into);
  }
  return into;
}

function untraceable(markdown: string, inputs: unknown): string[] {
  const allowed = traceable(inputs);
  return [...new Set(markdown.match(NUMBER) ?? [])].filter((n) => !allowed.has(n));
}

function validation(seed: number, separation: number, dataset: string) {
  const random = seededRandom(seed);
  const rows = Array.from({ length: 80 }, (_, i) => {
    const truth = (i % 2) as 0 | 1;
    const score = Math.min(
      1,
      Math.max(0, 0.5 + (truth ? separation : -separation) + 0.5 * (random() - 0.5)),
    );
    return {
      image: `img-${i}.png`,
      truth: { pneumonia: truth },
      score: { pneumonia: score },
      subgroups: {},
    };
  });
  const { json } = buildValidationReport({
    model: {
      id: 'cxr-test',
      version: '1.0.0',
      name: 'test',
      intendedUse: 'test',
      labels: [{ id: 'pneumonia', meaning: 'Pneumonia', threshold: 0.5 }],
    },
    rows,
    options: {
      seed: 3,
      bootstrapResamples: 200,
      bandResamples: 100,
      generatedAt: '2026-01-01T00:00:00Z',
      dataset,
    },
  });
  // Round-trip through JSON and the card's own schema, as the CLI reads it from disk.
  return validationReportSchema.parse(JSON.parse(JSON.stringify(json)));
}

const trainingRun = trainingRunSchema.parse({
  recipe: 'training/train.py',
  parameters: { epochs: 14, seed: 7, best_epoch: 13 },
  dataset: { path: 'cxr-train-kermany', version: 'sha256:7b6fdd7e' },
  splits: {
    train: { images: 2124, positive: 1061, patients: 1501 },
    tune: { images: 244, positive: 129, patients: 188 },
    test: { images: 314, positive: 151, patients: 209 },
  },
  split_rule: 'sha256("7:" + patient_id) mod 100: <80 train, <90 tune, else test',
  test_images: ['images/a.jpg'],
  history: [{ epoch: 14, train_loss: 0.0664, tune_loss: 0.0547, tune_auc: 0.9987 }],
  test: { auc: 0.9994 },
  shortcut_checks: { auc_image_size_only_all: 0.4559, auc_model_border_only_test: 0.9753 },
});

const ood = oodReportSchema.parse({
  schema: 'radiolens.ood-report/1',
  model: { id: 'cxr-test', version: '1.0.0' },
  variants: [
    {
      name: 'training population only',
      fitSources: ['seen.csv'],
      fitCount: 2368,
      percentile: 99,
      thresholdSource: 'out-of-fold',
      threshold: 15.3349,
      sets: [
        {
          name: 'site',
          expect: 'in-distribution',
          images: 576,
          decoded: 576,
          flagged: 338,
          rate: 338 / 576,
          ci: [0.546, 0.626],
          duplicates: 0,
          undecodable: [],
          details: [],
        },
        {
          name: 'non-chest',
          expect: 'out-of-distribution',
          images: 70,
          decoded: 68,
          flagged: 66,
          rate: 66 / 68,
          ci: [0.9, 0.99],
          duplicates: 1,
          undecodable: [{ path: 'x.dcm', problem: 'no pixel data' }],
          details: [
            { path: 'ot.dcm', kind: 'OT/-/MONOCHROME2', distance: 15.1, flagged: false },
            { path: 'ct.dcm', kind: 'CT/HEAD/MONOCHROME2', distance: 90.2, flagged: true },
          ],
        },
      ],
    },
  ],
});

const faithfulness = faithfulnessReportSchema.parse({
  schema: 'radiolens.faithfulness-report/1',
  model: { id: 'cxr-test', version: '1.0.0' },
  label: 'pneumonia',
  dataset: 'site.csv',
  settings: {
    step: 0.02,
    randomOrders: 3,
    seed: 1,
    baseline: { kind: 'blur', sigma: 14 },
    selection: 'first 100 by hash',
  },
  summary: {
    images: 100,
    gradCam: {
      deletion: { mean: 0.31, ci: [0.28, 0.34] },
      insertion: { mean: 0.72, ci: [0.69, 0.75] },
    },
    random: {
      deletion: { mean: 0.52, ci: [0.5, 0.54] },
      insertion: { mean: 0.55, ci: [0.53, 0.57] },
    },
    difference: {
      deletion: { mean: -0.21, ci: [-0.24, -0.18] },
      insertion: { mean: 0.17, ci: [0.14, 0.2] },
    },
    gradCamBetter: { deletion: 91, insertion: 88 },
  },
});

test('model card: every number in the Markdown is traceable to an input file; results fit the manifest schema', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-card-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'm'), {
      edit: (m) => ({
        ...m,
        lineage: {
          ...m.lineage,
          parent: { id: 'cxr-base', version: '1.0.0' },
          parameters: { l2: 0.001, trainImages: 349, optimiser: 'Newton' },
        },
        validation: [
          {
            dataset: 'site test',
            label: 'pneumonia',
            metric: 'auc',
            value: 0.8946444249341524,
            ci: { lower: 0.8371108502706485, upper: 0.9521779995976564, level: 0.95 },
            n: 118,
          },
          {
            dataset: 'site test',
            label: 'pneumonia',
            metric: 'DeLong p vs parent',
            value: 8.85475533094458e-12,
            n: 118,
          },
        ],
      }),
    });
    const input: ModelCardInput = {
      manifest: pkg.manifest,
      trainingRun,
      validations: [
        { name: 'internal', path: 'internal.json', report: validation(1, 0.3, 'internal.csv') },
        { name: 'site', path: 'site.json', report: validation(2, 0.02, 'site.csv') },
      ],
      ood: [{ path: 'ood.json', report: ood }],
      faithfulness: [{ name: 'site positives', path: 'f.json', report: faithfulness }],
    };
    const card = renderModelCard(input);
    assert.deepEqual(untraceable(card.markdown, input), []);
    // The checker itself catches a hand-typed number.
    assert.deepEqual(untraceable(`${card.markdown}\nAUC 0.8731`, input), ['0.8731']);

    const internalAuc = input.validations[0]!.report.labels[0]!.auc.estimate.toFixed(3);
    assert.match(
      card.markdown,
      new RegExp(`\\| internal \\| pneumonia \\| 80 \\(40/40\\) \\| ${internalAuc} `),
    );
    assert.match(
      card.markdown,
      /\| training population only \(2368 images\) \| 15\.335 \(p99, out-of-fold\) \| site \| in-distribution \| 338 \/ 576 \| 58\.7% /,
    );
    assert.match(
      card.markdown,
      /\| site positives \| `cxr-test@1\.0\.0` \| 100 \| 0\.310 \(0\.280–0\.340\) \| 0\.520 /,
    );
    // Failure-mode rules fire on the evidence.
    assert.match(card.markdown, /AUC falls from \d\.\d{3} on "internal" to \d\.\d{3}/);
    assert.match(card.markdown, /image border visible the model still reaches AUC 0\.975/);
    assert.match(card.markdown, /flags 58\.7% of "site"/);
    assert.match(
      card.markdown,
      /flags only 66 of 68 images of "non-chest" and misses the rest \(kinds: OT\/-\/MONOCHROME2\)/,
    );
    assert.doesNotMatch(card.markdown, /not more faithful than random/);

    const withResults = validateManifest({ ...pkg.manifest, validation: card.validation });
    assert.ok(withResults.ok, JSON.stringify(!withResults.ok && withResults.issues));
    const metrics = card.validation.map((e) => `${e.dataset}:${e.metric}`);
    assert.ok(metrics.includes('internal:auc') && metrics.includes('site:ood-false-flag-rate'));
    assert.ok(
      metrics.includes('non-chest:ood-detection-rate') &&
        metrics.includes('site positives:gradcam-deletion-auc'),
    );
    assert.match(card.markdown, /```json\n\[/);
    assert.match(card.markdown, /- Parent model: `cxr-base@1\.0\.0`/);
    assert.match(card.markdown, /- l2: 0\.001\n- trainImages: 349\n/);
    assert.match(
      card.markdown,
      /\| site test \| pneumonia \| DeLong p vs parent \| 8\.85e-12 \| {2}\| 118 \|/,
    );
    assert.match(
      card.markdown,
      /## Training data and its limits \(training run of the base model\)/,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('model card without optional evidence still renders, and says the heatmap is weak when it is', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-card-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'm'));
    const weak = faithfulnessReportSchema.parse({
      ...faithfulness,
      summary: { ...faithfulness.summary, gradCam: faithfulness.summary.random },
    });
    const card = renderModelCard({
      manifest: pkg.manifest,
      trainingRun: null,
      validations: [],
      ood: [],
      faithfulness: [{ name: 'w', path: 'w.json', report: weak }],
    });
    assert.doesNotMatch(card.markdown, /## Training data/);
    assert.match(card.markdown, /On "w" the Grad-CAM heatmap is not more faithful than random/);
    assert.equal(card.validation.length, 4);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test("model card: where the heatmap lies, stable decisions and the OOD flag's measured meaning, from the shipped model's evidence", async () => {
  const evidence = join(repoRoot, 'models', 'cxr-pneumonia', 'evidence', '1.2.0');
  const read = async <T>(path: string, schema: { parse: (v: unknown) => T }): Promise<T> =>
    schema.parse(JSON.parse(await readFile(join(evidence, path), 'utf8')));
  const work = await mkdtemp(join(tmpdir(), 'radiolens-card-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'm'));
    const input: ModelCardInput = {
      manifest: pkg.manifest,
      trainingRun: null,
      validations: [],
      ood: [
        { path: 'ood-evaluation.json', report: await read('ood-evaluation.json', oodReportSchema) },
      ],
      faithfulness: [],
      localisation: [
        {
          name: 'NIH pneumonia boxes',
          path: 'l.json',
          report: await read('localisation-nih-boxes/localisation.json', localisationReportSchema),
        },
        {
          name: 'lung-mask set',
          path: 'm.json',
          report: await read('localisation-lung-masks/localisation.json', localisationReportSchema),
        },
      ],
      robustness: [
        {
          name: 'NIH site test split',
          path: 'r.json',
          report: await read('robustness-site-test-split/robustness.json', robustnessReportSchema),
        },
      ],
    };
    const card = renderModelCard(input);
    assert.deepEqual(untraceable(card.markdown, input), []);
    assert.match(card.markdown, /## Where the heatmap lies/);
    assert.match(
      card.markdown,
      /\| NIH pneumonia boxes \| `cxr-pneumonia@1\.2\.0` \| pointing game/,
    );
    assert.match(card.markdown, /## Stable decisions/);
    assert.match(card.markdown, /### What the flag means \(measured\)/);
    // Rules fire on the evidence, each with its numbers.
    assert.match(card.markdown, /does not point at the disease better than chance/);
    assert.match(card.markdown, /of heatmap peaks lie inside the lungs \(target 90\.0%\)/);
    assert.match(card.markdown, /12-bit storage without a VOI window moves scores by/);
    assert.match(
      card.markdown,
      /The OOD flag \(as shipped in cxr-pneumonia@1\.2\.0\) does not predict a wrong decision/,
    );
    assert.match(card.markdown, /fires on only 0\.3% of paediatric chest radiographs \(1 \/ 314\)/);
    assert.match(card.markdown, /Not measured for the OOD flag .*lateral views/);
    const withResults = validateManifest({ ...pkg.manifest, validation: card.validation });
    assert.ok(withResults.ok, JSON.stringify(!withResults.ok && withResults.issues));
    const metrics = card.validation.map((e) => e.metric);
    for (const m of [
      'pointing-game-hit-rate',
      'heatmap-peaks-in-lungs',
      'flipped-decisions: dicom12NoWindow',
      'ood-distance-auc-for-wrong-decision',
    ])
      assert.ok(metrics.includes(m), m);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test("model card: a lung-field classifier's OOD flag is read beside its lung-field check (2.0.3's evidence)", async () => {
  const path = join(
    repoRoot,
    'models',
    'cxr-pneumonia',
    'evidence',
    '2.0.3',
    'ood-evaluation.json',
  );
  const report = oodReportSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  const work = await mkdtemp(join(tmpdir(), 'radiolens-card-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'm'));
    const input: ModelCardInput = {
      manifest: pkg.manifest,
      trainingRun: null,
      validations: [],
      ood: [{ path: 'ood-evaluation.json', report }],
      faithfulness: [],
    };
    const card = renderModelCard(input);
    // 0.95: the level the card's manifest entries give their Wilson intervals.
    assert.deepEqual(untraceable(card.markdown, [input, 0.95]), []);
    // Refused images are named apart, over distinct instances (the corpus repeats some).
    assert.match(card.markdown, /non-chest images \(conformance corpus\): 52 of 69/);
    assert.match(card.markdown, /\| refused by the lung-field check \| refused or flagged/);
    assert.match(
      card.markdown,
      /\| non-chest images \| 16 \/ 16 \| [^|]+\| 52 \/ 68 \| 68 \/ 68 = 100\.0%/,
    );
    assert.match(card.markdown, /\| MR images \| 0 \/ 0 \| none scored \| 5 \/ 5 \|/);
    // A kind is judged by what the check and the flag stop together.
    assert.match(
      card.markdown,
      /together stop only 15\.6% of paediatric chest radiographs \(418 \/ 2682: 3 refused, 415 flagged\)/,
    );
    assert.doesNotMatch(card.markdown, /fires on only .* of non-chest images/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('model card: an ECE is read against what perfect calibration shows on that many cases', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-card-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'm'));
    const report = validation(7, 0.2, 'site.csv');
    const label = report.labels[0]!;
    const withCalibration = (ece: number, upperEce: number) =>
      validationReportSchema.parse({
        ...report,
        labels: [
          {
            ...label,
            calibration: {
              ...label.calibration!,
              ece,
              consistency: { medianEce: upperEce * 0.7, upperEce, resamples: 2000 },
            },
          },
        ],
      });
    const card = (r: ReturnType<typeof withCalibration>) =>
      renderModelCard({
        manifest: pkg.manifest,
        trainingRun: null,
        validations: [{ name: 'site', path: 'v.json', report: r }],
        ood: [],
        faithfulness: [],
      }).markdown;
    // Above 0.1 but inside the noise of 80 cases: the sample cannot tell.
    assert.match(
      card(withCalibration(0.12, 0.15)),
      /scores may be poorly calibrated .*cannot tell/,
    );
    // Above 0.1 and beyond the noise: poorly calibrated.
    assert.match(card(withCalibration(0.3, 0.15)), /scores are poorly calibrated \(ECE 0\.300\)/);
    // Below 0.1 but beyond the noise: ranks, not probabilities.
    assert.match(
      card(withCalibration(0.08, 0.05)),
      /ECE 0\.080 is more than a perfectly calibrated/,
    );
    // Below 0.1 and inside the noise: no caveat.
    assert.doesNotMatch(
      card(withCalibration(0.04, 0.05)),
      /poorly calibrated|perfectly calibrated/,
    );
    // Every ECE is shown beside what chance gives on that many cases.
    assert.match(
      card(withCalibration(0.04, 0.05)),
      /site": 0\.040, where scores drawn as exact probabilities give a median of 0\.035 \(95th percentile 0\.050\) on 80 cases/,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
