/**
 * Drift monitoring on real data (issue #15), against the reference the active cxr-pneumonia
 * ships (1.2.1's, 1.2.0's byte for byte; its site test split): the site's own held-out images
 * (the tuning split, other patients) are not drift; the same images 20% brighter, and
 * paediatric radiographs from another hospital, are. Through the CLI (analyze, then monitor
 * report --results) and through a node's data directory (monitor report --data and the node's
 * scheduled check). Slow, hence *.int.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsvFile } from '../../foundation/csv/index.js';
import { importImages } from '../../lifecycle/imports/index.js';
import {
  KERMANY_DIR,
  repoRoot,
  runCli,
  siteSplitRows,
  writeBrightenedCopies,
} from '../../../test/support/index.js';
import { openNodeDatabase } from '../../node/store/index.js';
import { AnalysisLog, loadNodeConfig } from '../../node/service/index.js';
import { nodeDriftCheck } from '../monitoringSources.js';

let work: string;
const sets = ['site', 'brighter', 'paediatric'] as const;
type Set = (typeof sets)[number];
const sops = new Map<Set, Map<string, string>>();

async function dicomFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.dcm')).map((f) => join(dir, f));
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-drift-int-'));
  const tuning = await siteSplitRows('tuning');
  const site = join(work, 'site.csv');
  await writeFile(
    site,
    `image,patient_id\n${tuning.map((r) => `${r.image},${r.patientId}`).join('\n')}\n`,
  );
  const bright = await writeBrightenedCopies(
    tuning.slice(0, 60).map((r) => r.image),
    1.2,
    join(work, 'brighter-png'),
  );
  // Kermany images that were 224×224 copies, now 256×256: large enough for the intended use.
  const kermany = readCsvFile(join(KERMANY_DIR, 'labels.csv'))
    .rows.filter((r) => r['original_width'] === '224' && r['original_height'] === '224')
    .slice(0, 60);
  const paediatric = join(work, 'paediatric.csv');
  await writeFile(
    paediatric,
    `image\n${kermany.map((r) => join(KERMANY_DIR, r['image']!)).join('\n')}\n`,
  );
  const imports: Record<Set, string> = { site, brighter: join(work, 'brighter-png'), paediatric };
  for (const set of sets) {
    const report = await importImages(imports[set], {
      outDir: join(work, 'dicom', set),
      bodyPart: 'CHEST',
      ...(set === 'site' ? { patientIdColumn: 'patient_id' } : {}),
    });
    sops.set(set, new Map(report.imported.map((i) => [i.sopInstanceUid, i.image])));
    const run = runCli([
      'analyze',
      ...(await dicomFiles(join(work, 'dicom', set))),
      '--out',
      join(work, 'results', set),
    ]);
    assert.equal(run.status, 0, run.stderr);
  }
  assert.equal(bright.length, 60);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

interface ReportJson {
  drift: boolean;
  tests: {
    feature: string;
    test: string;
    statistic: number;
    threshold: number;
    drift: boolean;
    p: number | null;
  }[];
  window: { images: number };
}

function monitor(set: Set, ...extra: string[]): { status: number | null; report: ReportJson } {
  const run = runCli([
    'monitor',
    'report',
    '--results',
    join(work, 'results', set),
    '--model',
    'cxr-pneumonia',
    '--out',
    join(work, 'reports', set),
    '--json',
    ...extra,
  ]);
  assert.ok(run.status === 0 || run.status === 3, run.stderr);
  return { status: run.status, report: JSON.parse(run.stdout) as ReportJson };
}

test("the site's own held-out images are not drift", () => {
  const { status, report } = monitor('site');
  assert.equal(status, 0);
  assert.equal(report.drift, false, JSON.stringify(report.tests.filter((t) => t.drift)));
  assert.equal(report.window.images, 109);
  for (const t of report.tests) {
    assert.deepEqual(Object.keys(t).slice(0, 5), [
      'feature',
      'test',
      'statistic',
      'threshold',
      'drift',
    ]);
    assert.ok(typeof t.threshold === 'number' && typeof t.drift === 'boolean');
  }
});

test('brighter site images and paediatric radiographs are drift, on the features that changed', () => {
  const brighter = monitor('brighter');
  assert.equal(brighter.status, 3);
  const changed = brighter.report.tests.filter((t) => t.drift).map((t) => t.feature);
  assert.ok(changed.includes('pixel mean') && changed.includes('pixel median'), changed.join());
  assert.ok(!changed.includes('rows') && !changed.includes('manufacturer'), changed.join());

  const paediatric = monitor('paediatric');
  assert.equal(paediatric.status, 3);
  const different = paediatric.report.tests.filter((t) => t.drift).map((t) => t.feature);
  for (const feature of ['rows', 'columns', 'OOD distance', 'pixel mean', 'score: pneumonia']) {
    assert.ok(different.includes(feature), `${feature} not in ${different.join()}`);
  }
});

test("a node's data directory: monitor report --data with the radiologists' answers, and the node's scheduled check", async () => {
  const data = join(work, 'node');
  await mkdir(join(data, 'results'), { recursive: true });
  const db = openNodeDatabase(data);
  const log = new AnalysisLog(db);
  let job = 0;
  const record = async (set: Set, from: number): Promise<void> => {
    for (const study of (await readdir(join(work, 'results', set)))
      .filter((s) => !s.endsWith('.json'))
      .sort()) {
      job += 1;
      await cp(join(work, 'results', set, study), join(data, 'results', String(job), study), {
        recursive: true,
      });
      log.record({
        jobId: job,
        studyInstanceUid: study,
        accessionNumber: `ACC${job}`,
        model: 'cxr-pneumonia@1.2.1',
        mode: 'clinical',
        completedAt: from + job,
        summaryPath: join('results', String(job), study, 'analysis.json'),
      });
    }
  };
  await record('site', Date.UTC(2026, 11, 1));
  db.close();

  // Answers for the site images, keyed by accession number: agreement is tested too.
  const truth = new Map((await siteSplitRows('tuning')).map((r) => [r.image, r.pneumonia]));
  const entries = await readdir(join(data, 'results'));
  const rows = ['accession_number,pneumonia'];
  for (const jobDir of entries) {
    const [study] = await readdir(join(data, 'results', jobDir));
    const summary = JSON.parse(
      await readFile(join(data, 'results', jobDir, study!, 'analysis.json'), 'utf8'),
    ) as {
      findings: { sopInstanceUid: string }[];
    };
    rows.push(
      `ACC${jobDir},${truth.get(sops.get('site')!.get(summary.findings[0]!.sopInstanceUid)!)}`,
    );
  }
  await writeFile(join(work, 'answers.csv'), `${rows.join('\n')}\n`);
  const run = runCli([
    'monitor',
    'report',
    '--data',
    data,
    '--model',
    'cxr-pneumonia@1.2.1',
    '--labels',
    join(work, 'answers.csv'),
    '--out',
    join(work, 'reports', 'node'),
    '--json',
  ]);
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as ReportJson;
  const agreement = report.tests.find(
    (t) => t.feature === 'agreement with radiologists: pneumonia',
  );
  assert.ok(agreement !== undefined && agreement.drift === false, JSON.stringify(agreement));

  const config = loadNodeConfig(
    { data, modelsDir: join(repoRoot, 'models') },
    join(repoRoot, 'models'),
  );
  const check = nodeDriftCheck({
    ...config,
    monitoring: { ...config.monitoring!, lastImages: 60 },
  });
  const [quiet] = await check();
  assert.deepEqual(
    [quiet!.model, quiet!.drift, quiet!.windowImages],
    ['cxr-pneumonia@1.2.1', false, 60],
  );
  const reopened = openNodeDatabase(data);
  const later = new AnalysisLog(reopened);
  for (const [i, study] of (await readdir(join(work, 'results', 'brighter')))
    .filter((s) => !s.endsWith('.json'))
    .entries()) {
    await cp(join(work, 'results', 'brighter', study), join(data, 'results', `b${i}`, study), {
      recursive: true,
    });
    later.record({
      jobId: 1000 + i,
      studyInstanceUid: study,
      accessionNumber: null,
      model: 'cxr-pneumonia@1.2.1',
      mode: 'clinical',
      completedAt: Date.UTC(2026, 11, 2) + i,
      summaryPath: join('results', `b${i}`, study, 'analysis.json'),
    });
  }
  reopened.close();
  const [drifting] = await check();
  assert.equal(drifting!.drift, true);
  assert.ok(drifting!.features.includes('pixel mean'), drifting!.features.join());
  assert.match(drifting!.report!, /monitoring\/cxr-pneumonia@1\.2\.1\/report\.html$/);
});
