/**
 * The change-control gate on real data (issue #15): the shipped cxr-pneumonia packages, the
 * locked site test dataset that the plan names (1.2.0's, which the active 1.2.1 carries; rebuilt
 * here byte for byte), and the CLI.
 * Slow (both models analyse 118 radiographs per promotion), hence *.int.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLockedSiteTestDataset, repoRoot, runCli } from '../../../test/support/index.js';
import { parseManifest } from '../../inference/models/index.js';
import type { PromotionReport } from '../../lifecycle/pccp/index.js';

let work: string;
let registry: string;
let data: string;
let testRef: string;

/** The shipped active version, whose plan judges every candidate. */
const ACTIVE = '1.2.1';

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-gate-int-'));
  registry = join(work, 'models');
  data = join(work, 'data');
  await cp(join(repoRoot, 'models', 'cxr-pneumonia'), join(registry, 'cxr-pneumonia'), {
    recursive: true,
    filter: (source) => !source.includes(`${join('cxr-pneumonia', 'evidence')}`),
  });
  const created = await buildLockedSiteTestDataset(
    join(work, 'dataset'),
    join(work, 'dataset-work'),
  );
  const plan = parseManifest(
    await readFile(join(registry, 'cxr-pneumonia', ACTIVE, 'manifest.json'), 'utf8'),
  ).changeControl!;
  assert.equal(
    created.version,
    plan.acceptance.testDataset.version,
    'the locked site test dataset no longer rebuilds to the version the active plan locks: import-images or de-identification output changed. If that was intended, re-run tools/lock-site-test-dataset.ts and publish a new plan',
  );
  testRef = `${join(work, 'dataset')}@${created.version}`;
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** `radiolens models …` on the test's registry. */
const models = (...args: string[]): ReturnType<typeof runCli> =>
  runCli(['models', ...args, '--registry', registry]);

function activeVersion(): string {
  const run = runCli(['models', 'list', '--registry', registry, '--json']);
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { version: string; active: boolean }[]).find(
    (row) => row.active,
  )!.version;
}

test('promoting cxr-pneumonia@1.0.0 over the active 1.2.1 on the locked site test dataset is refused, for the right reasons, with the evidence kept and audited', () => {
  const run = models('promote', 'cxr-pneumonia@1.0.0', '--test', testRef, '--data', data, '--json');
  assert.equal(run.status, 1, run.stderr);
  const report = JSON.parse(run.stdout) as PromotionReport;
  assert.equal(report.decision, 'refuse');
  const failed = Object.fromEntries(report.failed.map((k) => [k.id, k]));
  // Out of the plan: the paediatric exclusion is gone, and the plan itself would be dropped.
  assert.match(failed['modification intended-use-change']!.found, /no longer excluded: "children/);
  assert.ok(failed['modification change-control-plan']);
  // The evidence: the numbers of record (models/cxr-pneumonia/evidence/*/validation-site-test-split.json).
  const auc = failed['auc-non-inferiority']!.numbers;
  assert.ok(
    Math.abs(auc['aucCandidate']! - 0.4436640327772899) < 0.005,
    `AUC 1.0.0 ${auc['aucCandidate']}`,
  );
  assert.ok(
    Math.abs(auc['aucActive']! - 0.8946444249341524) < 0.005,
    `AUC ${ACTIVE} ${auc['aucActive']}`,
  );
  assert.ok(auc['lower']! < -0.05);
  assert.equal(failed['sensitivity']!.found, '0.642 (43/67)');
  assert.ok(failed['sensitivity-lower-bound']);
  assert.ok(failed['calibration']!.numbers['ece']! > 0.15);
  assert.ok(failed['subgroup visit=follow-up'] && failed['subgroup visit=initial']);
  // What the plan allows is not held against it.
  const passed = report.criteria.filter((k) => k.status === 'pass').map((k) => k.id);
  assert.ok(
    passed.includes('modification head-refit') && passed.includes('modification operating-point'),
    passed.join(),
  );
  assert.ok(passed.includes('test-dataset') && passed.includes('analysed-fraction'));

  assert.equal(activeVersion(), ACTIVE, 'the active version did not change');
  const evidence = join(registry, 'cxr-pneumonia', 'evidence', '1.0.0');
  const files = existsSync(evidence) ? readdirSync(evidence).sort() : [];
  assert.equal(files.length, 2, files.join());
  assert.match(files[0]!, /^promotion-\d{8}T\d{6}Z-refused\.html$/);
  const verify = runCli(['audit', 'verify', '--data', data]);
  assert.equal(verify.status, 0, verify.stdout);
  assert.match(verify.stdout, /intact: 1 entry/);
});

test('a wrong or damaged test dataset is refused before any model runs', async () => {
  const wrong = models(
    'promote',
    'cxr-pneumonia@1.0.0',
    '--test',
    `${join(work, 'dataset')}@${'0'.repeat(64)}`,
    '--data',
    data,
    '--json',
  );
  assert.equal(wrong.status, 1);
  const report = JSON.parse(wrong.stdout) as PromotionReport;
  assert.deepEqual(report.cases, []);
  assert.match(
    report.failed.find((k) => k.id === 'test-dataset')!.requirement,
    /the test dataset is the locked one/,
  );
  const usage = models(
    'promote',
    'cxr-pneumonia@1.0.0',
    '--test',
    join(work, 'dataset'),
    '--data',
    data,
  );
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /write the locked test dataset as <dataset dir>@<version>/);
});

test('a candidate that meets the plan is promoted, routing and analyze follow it, and rollback returns', async () => {
  // 1.2.2: the active 1.2.1's network and plan under a new version (nothing else changed).
  const from = join(registry, 'cxr-pneumonia', ACTIVE);
  const to = join(registry, 'cxr-pneumonia', '1.2.2');
  await cp(from, to, { recursive: true });
  const manifest = JSON.parse(await readFile(join(to, 'manifest.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await writeFile(
    join(to, 'manifest.json'),
    JSON.stringify({ ...manifest, version: '1.2.2' }, null, 2),
  );

  const run = models('promote', 'cxr-pneumonia@1.2.2', '--test', testRef, '--data', data);
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(
    run.stdout,
    /^PROMOTED: cxr-pneumonia@1\.2\.2 is now the active version \(was cxr-pneumonia@1\.2\.1\)/,
  );
  assert.match(
    run.stdout,
    /✓ auc-non-inferiority \(pneumonia\): AUC 0\.89\d vs 0\.89\d: difference 0\.000/,
  );
  assert.equal(activeVersion(), '1.2.2');
  const state = JSON.parse(
    await readFile(join(registry, 'cxr-pneumonia', 'active.json'), 'utf8'),
  ) as {
    stack: string[];
    transitions: { evidence?: string }[];
  };
  assert.deepEqual(state.stack, ['1.2.0', '1.2.1', '1.2.2']);
  assert.ok(existsSync(join(registry, 'cxr-pneumonia', state.transitions.at(-1)!.evidence!)));

  const images = await readdir(join(work, 'dataset', 'objects'));
  const oneImage = join(work, 'dataset', 'objects', images[0]!);
  const old = runCli([
    'analyze',
    oneImage,
    '--out',
    join(work, 'out'),
    '--model',
    'cxr-pneumonia@1.2.1',
    '--registry',
    registry,
  ]);
  assert.equal(old.status, 2);
  assert.match(
    old.stderr,
    /E_MODEL_NOT_ACTIVE: cxr-pneumonia@1\.2\.1 is installed but not active \(the active version is 1\.2\.2\)/,
  );

  const back = models('rollback', 'cxr-pneumonia', '--data', data);
  assert.equal(back.status, 0, back.stderr);
  assert.match(
    back.stdout,
    /ROLLED BACK: cxr-pneumonia@1\.2\.1 is the active version again \(was 1\.2\.2\)/,
  );
  assert.equal(activeVersion(), ACTIVE);

  const audit = (await readFile(join(data, 'audit', 'audit.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { action: string; subject: string });
  assert.deepEqual(
    audit.slice(-2).map((e) => `${e.action} ${e.subject}`),
    ['model.promote cxr-pneumonia@1.2.2', 'model.rollback cxr-pneumonia@1.2.1'],
  );
  assert.equal(runCli(['audit', 'verify', '--data', data]).status, 0);
  // Someone edits the record of the promotion: verify names it.
  const lines = (await readFile(join(data, 'audit', 'audit.jsonl'), 'utf8')).trim().split('\n');
  const edited = lines.map((line, i) =>
    i === lines.length - 2 ? line.replace('model.promote', 'model.promote-refused') : line,
  );
  await writeFile(join(data, 'audit', 'audit.jsonl'), `${edited.join('\n')}\n`);
  const broken = runCli(['audit', 'verify', '--data', data]);
  assert.equal(broken.status, 1);
  assert.match(
    broken.stdout,
    new RegExp(`NOT INTACT: .* line ${lines.length - 1}: entry ${lines.length - 1} was edited`),
  );
});
