/**
 * The models page's data from the repository's own registry (models/), and validation
 * reports summarised with the intervals they carry (ADR 0196).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../../test/support/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import {
  ModelCatalog,
  isValidationReport,
  registerSiteValidation,
  summariseReport,
  validationReportsIn,
} from './index.js';

const MODELS = join(repoRoot, 'models');
const REPORT = join(
  MODELS,
  'cxr-pneumonia',
  'evidence',
  '1.2.0',
  'validation-site-test-split.json',
);

test('a report is summarised with image-level intervals, or clustered ones when it has them', async () => {
  const report: unknown = JSON.parse(await readFile(REPORT, 'utf8'));
  assert.ok(isValidationReport(report));
  const plain = summariseReport(report, 'r.json', 'model')!;
  assert.equal(plain.images, 118);
  assert.equal(plain.patients, null);
  assert.deepEqual([plain.auc.low, plain.auc.high], [0.8371108502706485, 0.9521779995976564]);
  assert.match(plain.ci, /^95% CI per image: AUC DeLong; sensitivity and specificity Wilson/);
  const label = report.labels[0]!;
  const clustered = summariseReport(
    {
      ...report,
      labels: [
        {
          ...label,
          clustered: {
            unit: 'patient_id',
            auc: { ci: [0.8, 0.95], clusters: 90, level: 0.95 },
            bootstrap: { sensitivity: [0.9, 0.99], specificity: [0.2, 0.4] },
          },
        },
      ],
    },
    'r.json',
    'site',
  )!;
  assert.equal(clustered.patients, 90);
  assert.deepEqual([clustered.auc.low, clustered.auc.high], [0.8, 0.95]);
  assert.deepEqual([clustered.sensitivity!.low, clustered.sensitivity!.high], [0.9, 0.99]);
  assert.match(clustered.ci, /clustered by patient_id \(90\)/);
  assert.equal(summariseReport(report, 'r.json', 'model', 'no-such-label'), undefined);
  assert.equal(isValidationReport({ schema: 'radiolens.ood-report/1' }), false);
});

test('site reports are registered into the data folder; anything else is refused', async () => {
  const data = await mkdtemp(join(tmpdir(), 'radiolens-site-validation-'));
  try {
    const path = await registerSiteValidation(data, REPORT);
    assert.match(
      path,
      /site-validation\/cxr-pneumonia\/1\.2\.0\/validation-20261128T121640Z\.json$/,
    );
    const found = await validationReportsIn(
      join(data, 'site-validation', 'cxr-pneumonia', '1.2.0'),
      { id: 'cxr-pneumonia', version: '1.2.0' },
      'site',
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]?.origin, 'site');
    const other = await validationReportsIn(
      join(data, 'site-validation', 'cxr-pneumonia', '1.2.0'),
      { id: 'cxr-pneumonia', version: '2.0.0' },
      'site',
    );
    assert.deepEqual(other, [], 'a report of another version is not this one');
    await writeFile(join(data, 'not-a-report.json'), '{"schema":"something/1"}');
    await assert.rejects(
      registerSiteValidation(data, join(data, 'not-a-report.json')),
      /is not a validation report/,
    );
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

test('the catalogue: active state, routes, card by version, lineage and evidence', async () => {
  const catalog = new ModelCatalog({
    registry: new ModelRegistry(MODELS),
    dataDir: join(tmpdir(), 'radiolens-no-such-data-folder'),
    routesUsing: (id, version, active) => (active ? [`route of ${id}@${version}`] : []),
  });
  const list = await catalog.list();
  const byRef = new Map(list.map((m) => [`${m.id}@${m.version}`, m]));
  assert.equal(byRef.get('cxr-pneumonia@1.2.1')?.active, true);
  assert.deepEqual(byRef.get('cxr-pneumonia@1.2.1')?.routes, ['route of cxr-pneumonia@1.2.1']);
  assert.equal(byRef.get('cxr-pneumonia@1.2.0')?.active, false);
  assert.equal(byRef.get('cxr-pneumonia@2.0.0')?.active, false);
  assert.equal(byRef.get('cxr-lungs@1.0.0')?.task, 'segmentation');

  const v1 = await catalog.detail('cxr-pneumonia', '1.0.0');
  assert.equal(v1?.card?.source, 'MODEL_CARD-1.0.0.md', 'a version card beside the folder');
  const v12 = await catalog.detail('cxr-pneumonia', '1.2.0');
  assert.equal(v12?.card?.source, 'MODEL_CARD-1.2.0.md');
  assert.equal(v12?.lineage.parent, 'cxr-pneumonia@1.1.0');
  assert.ok(
    v12?.validationReports.some((r) => r.source === 'validation-site-test-split.json'),
    "the model's own evidence",
  );
  // 1.2.1: 1.2.0's files with the minMax window (ADR 0027), promoted by the gate.
  const v121 = await catalog.detail('cxr-pneumonia', '1.2.1');
  assert.equal(v121?.card?.source, 'MODEL_CARD.md', 'the current card names this version');
  assert.match(v121?.card?.markdown ?? '', /`cxr-pneumonia@1\.2\.1`/);
  assert.equal(v121?.lineage.parent, 'cxr-pneumonia@1.2.0');
  assert.ok(
    v121?.validationReports.some((r) => r.source === 'validation-site-test-split.json'),
    "the model's own evidence",
  );
  const v2 = await catalog.detail('cxr-pneumonia', '2.0.0');
  assert.equal(v2?.card, null, 'no card names 2.0.0 (its training record is not a card)');
  assert.equal(v2?.lineage.trainingRun?.['source'], 'training-run.json');
  assert.ok(
    v2?.lineage.datasets.some((d) => d.name === 'kermany'),
    'datasets of the run',
  );
  assert.ok(
    v2?.validationReports.some((r) => r.source === 'validation-site-test-split/report.json'),
  );
  // 2.0.1: 2.0.0's weights republished with the minMax window (ADR 0027); not the default
  // either (the gate refused it, ADR 0162), and its card is made by radiolens model-card.
  assert.equal(byRef.get('cxr-pneumonia@2.0.1')?.active, false);
  const v201 = await catalog.detail('cxr-pneumonia', '2.0.1');
  assert.equal(v201?.card?.source, 'MODEL_CARD-2.0.1.md');
  assert.match(v201?.card?.markdown ?? '', /`cxr-pneumonia@2\.0\.1`/);
  assert.equal(v201?.lineage.parent, 'cxr-pneumonia@2.0.0');
  assert.ok(
    v201?.validationReports.some((r) => r.source === 'validation-site-test-split/report.json'),
  );
  // 2.0.2: 2.0.1 with the lung field's edge guard (ADR 0165); refused by the gate likewise.
  assert.equal(byRef.get('cxr-pneumonia@2.0.2')?.active, false);
  const v202 = await catalog.detail('cxr-pneumonia', '2.0.2');
  assert.equal(v202?.card?.source, 'MODEL_CARD-2.0.2.md');
  assert.equal(v202?.lineage.parent, 'cxr-pneumonia@2.0.1');
  // 2.0.3: 2.0.2 with OOD statistics and their measured meaning (ADR 0167); refused likewise.
  assert.equal(byRef.get('cxr-pneumonia@2.0.3')?.active, false);
  const v203 = await catalog.detail('cxr-pneumonia', '2.0.3');
  assert.equal(v203?.card?.source, 'MODEL_CARD-2.0.3.md');
  assert.match(v203?.card?.markdown ?? '', /### What the flag means \(measured\)/);
  assert.equal(v203?.lineage.parent, 'cxr-pneumonia@2.0.2');
  assert.equal(await catalog.detail('cxr-pneumonia', '9.9.9'), undefined);
});
