/**
 * `radiolens pilot report` on a node's data directory: the shadow analyses the node logged,
 * matched with the radiologists' answers by accession number, into report.json and
 * report.html; live analyses are left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, writeTestModelPackage } from '../../../test/support/index.js';
import { writeFileAtomic } from '../../foundation/core/index.js';
import { AnalysisLog } from '../../node/service/index.js';
import { openNodeDatabase } from '../../node/store/index.js';
import type { PilotReport } from '../../lifecycle/monitoring/index.js';

test('pilot report: shadow analyses against the answers, by accession number; live ones left out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-pilot-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const registry = join(dir, 'models');
  await writeTestModelPackage(join(registry, 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
  });
  await writeTestModelPackage(join(registry, 'cxr-test', '2.0.0'), {
    id: 'cxr-test',
    version: '2.0.0',
    seed: 2,
  });
  const data = join(dir, 'data');
  const db = openNodeDatabase(data);
  const log = new AnalysisLog(db);
  const answers = ['accession_number,pneumonia,ward'];
  for (let i = 0; i < 30; i++) {
    const positive = i % 2 === 0;
    // The shadow model is right in 24 of 30 studies.
    const probability = positive === (i % 5 !== 0) ? 0.8 : 0.2;
    for (const [mode, model, offset] of [
      ['shadow', '2.0.0', 0],
      ['clinical', '1.0.0', 1000],
    ] as const) {
      const study = `1.2.826.0.1.${i}`;
      const summaryPath = join('results', String(i + offset), study, 'analysis.json');
      await writeFileAtomic(
        join(data, summaryPath),
        JSON.stringify({
          studyInstanceUid: study,
          model: { id: 'cxr-test', version: model },
          performedAt: new Date(Date.UTC(2026, 10, 20 + i)).toISOString(),
          findings: [
            {
              sopInstanceUid: `${study}.1`,
              label: 'pneumonia',
              probability: mode === 'shadow' ? probability : 0.5,
              threshold: 0.5,
              present: mode === 'shadow' ? probability >= 0.5 : true,
              ood: null,
            },
          ],
          inputs: {},
        }),
      );
      log.record({
        jobId: i + offset,
        studyInstanceUid: study,
        accessionNumber: `A${i}`,
        model: `cxr-test@${model}`,
        mode,
        completedAt: i,
        summaryPath,
      });
    }
    answers.push(`A${i},${positive ? 1 : 0},${i % 3 === 0 ? 'ICU' : 'ward'}`);
  }
  db.close();
  await writeFile(join(dir, 'answers.csv'), `${answers.join('\n')}\n`);

  const out = join(dir, 'pilot');
  const run = runCli([
    'pilot',
    'report',
    '--data',
    data,
    '--labels',
    join(dir, 'answers.csv'),
    '--out',
    out,
    '--registry',
    registry,
    '--period',
    'week',
  ]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(
    run.stdout,
    /^shadow pilot of cxr-test@2\.0\.0: 30 studies analysed, 30 with an answer/,
  );
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as PilotReport;
  const label = report.labels[0]!;
  // 15 positives: 12 called positive (i % 5 !== 0); 15 negatives: 12 called negative.
  assert.equal(label.overall.sensitivity.successes, 12);
  assert.equal(label.overall.sensitivity.total, 15);
  assert.equal(label.overall.specificity.successes, 12);
  assert.ok(label.overTime.length >= 4, 'weekly periods');
  assert.deepEqual(
    label.subgroups.columns.map((c) => c.column),
    ['ward'],
  );
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /<svg/);

  const none = runCli([
    'pilot',
    'report',
    '--data',
    join(dir, 'nowhere'),
    '--labels',
    join(dir, 'answers.csv'),
    '--out',
    out,
    '--registry',
    registry,
  ]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /holds no node database/);
});
