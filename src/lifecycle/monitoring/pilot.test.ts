import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aucWithDelong, wilsonInterval } from '../validation/index.js';
import {
  buildPilotReport,
  periodOf,
  readRadiologistAnswers,
  renderPilotHtml,
  type AnalysedImage,
  type PilotStudy,
} from './index.js';

function study(i: number, probability: number, day: number): PilotStudy {
  const image: AnalysedImage = {
    studyInstanceUid: `1.9.${i}`,
    sopInstanceUid: `1.9.${i}.1`,
    model: { id: 'cxr', version: '2.0.0' },
    performedAt: new Date(Date.UTC(2026, 10, day, 9)),
    inputs: null,
    ood: null,
    findings: { pneumonia: { probability, threshold: 0.5, present: probability >= 0.5 } },
  };
  // A second, lower-scoring image: the study takes its highest score.
  const second: AnalysedImage = {
    ...image,
    sopInstanceUid: `1.9.${i}.2`,
    findings: { pneumonia: { probability: probability / 2, threshold: 0.5, present: false } },
  };
  return { studyInstanceUid: `1.9.${i}`, accessionNumber: `ACC${i}`, images: [image, second] };
}

test('ISO weeks and months in UTC', () => {
  assert.equal(periodOf(new Date('2026-12-03T10:00:00Z'), 'week'), '2026-W49');
  assert.equal(periodOf(new Date('2027-01-01T10:00:00Z'), 'week'), '2026-W53');
  assert.equal(periodOf(new Date('2026-12-31T23:00:00Z'), 'month'), '2026-12');
});

test('the pilot report matches answers by study or accession, per study, overall, per period and subgroup', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pilot-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // 40 studies over two months; truth alternates; the model is right in 30 of 40.
  const studies: PilotStudy[] = [];
  const rows = ['study_instance_uid,accession_number,pneumonia,site'];
  const truth: (0 | 1)[] = [];
  const scores: number[] = [];
  for (let i = 0; i < 40; i++) {
    const positive = i % 2 === 0;
    const right = i % 4 !== 3 && i % 8 !== 0;
    const probability = positive === right ? 0.6 + (i % 5) / 20 : 0.1 + (i % 7) / 20;
    studies.push(study(i, probability, i < 20 ? 5 + i : 30 + (i - 20)));
    // Half are keyed by study UID, half by accession number only.
    rows.push(
      `${i % 2 === 0 ? `1.9.${i}` : ''},ACC${i},${positive ? 1 : 0},${i % 3 === 0 ? 'north' : 'south'}`,
    );
    truth.push(positive ? 1 : 0);
    scores.push(probability);
  }
  studies.push(study(99, 0.9, 20)); // analysed, never answered
  rows.push('1.9.100,,,north'); // answered row for a study not analysed, and no verdict
  const csv = join(dir, 'answers.csv');
  await writeFile(csv, `${rows.join('\n')}\n`);
  const answers = readRadiologistAnswers(csv, ['pneumonia']);
  assert.deepEqual(answers.subgroupColumns, ['site']);

  const report = buildPilotReport({
    model: { id: 'cxr', version: '2.0.0' },
    labels: [{ id: 'pneumonia', threshold: 0.5 }],
    studies,
    answers,
    generatedAt: 'now',
  });
  assert.deepEqual(report.studies, { analysed: 41, answered: 40, unanswered: 1 });
  const label = report.labels[0]!;
  assert.equal(label.answered, 40);
  const expectedAuc = aucWithDelong({ truth, scores });
  assert.ok(Math.abs(label.overall.auc.estimate! - expectedAuc.auc) < 1e-12);
  assert.ok(Math.abs(label.overall.auc.ci![0] - expectedAuc.ci[0]) < 1e-12);
  assert.ok(Math.abs(label.overall.auc.ci![1] - expectedAuc.ci[1]) < 1e-12);
  const tp = truth.filter((v, i) => v === 1 && scores[i]! >= 0.5).length;
  assert.equal(label.overall.sensitivity.successes, tp);
  assert.deepEqual(label.overall.sensitivity.ci, wilsonInterval(tp, 20));
  assert.deepEqual(
    label.overTime.map((p) => [p.period, p.metrics.cases]),
    [
      ['2026-11', 21],
      ['2026-12', 19],
    ],
  );
  assert.deepEqual(
    label.subgroups.columns.map((c) => [c.column, c.groups.map((g) => `${g.value}:${g.cases}`)]),
    [['site', ['north:14', 'south:26']]],
  );
  const html = renderPilotHtml(report);
  assert.match(html, /Shadow pilot: cxr@2.0.0/);
  assert.match(html, /<svg/);
});

test('bad answer files are refused with the line and what to write', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pilot-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const write = async (text: string): Promise<string> => {
    const path = join(dir, `${Math.random()}.csv`);
    await writeFile(path, text);
    return path;
  };
  const cases: Array<[string, RegExp]> = [
    ['image,pneumonia\na,1\n', /needs a column "study_instance_uid" or "accession_number"/],
    ['accession_number,effusion\nA,1\n', /no column for the model's label/],
    ['accession_number,pneumonia\nA,yes\n', /line 2: pneumonia is "yes"/],
    ['accession_number,pneumonia\nA,1\nA,0\n', /line 3: the accession number A is answered twice/],
  ];
  for (const [text, expected] of cases) {
    const path = await write(text);
    assert.throws(() => readRadiologistAnswers(path, ['pneumonia']), expected);
  }
  assert.throws(() => readRadiologistAnswers(join(dir, 'none.csv'), ['pneumonia']), /E_/);
});
