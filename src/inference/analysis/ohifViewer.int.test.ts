/**
 * End to end in the radiologist's viewer (issue #12 item 3): the real OHIF Viewer (npm's
 * built `@ohif/app`) against Orthanc's DICOMweb holding a radiograph and Radiolens' SR and SC
 * for it, driven by Debian's Chromium through playwright-core. Screenshots are kept under
 * test-artifacts/ohif/ (git-ignored) and their paths printed. Two studies: one analysed by a
 * test model, one by the shipped lung-field classifier (cxr-pneumonia 2.0.3 with cxr-lungs),
 * whose SR also carries the heatmap's share inside the lung field (the default 1.2.1 is drawn
 * through the node in src/node/viewer/ohifNode.int.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../test/support/browser.js';
import { importImages } from '../../lifecycle/imports/index.js';
import { ModelRegistry } from '../models/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { OrthancServer } from '../../../test/support/orthanc.js';
import {
  assertFindingDrawn,
  ensureOhifApp,
  openSr,
  recordConsole,
  serveOhif,
  srExtensionProblems,
  waitForOurSeries,
  type ConsoleMessage,
  type OhifServer,
} from '../../../test/support/ohifViewer.js';
import { dicomArtifacts } from '../results/index.js';
import { analyzeFiles } from './index.js';
import type { StudyOutcome } from './types.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts', 'ohif');
/** Under a loaded CI machine OHIF's first render takes a while; these are ceilings, not tunings. */
const LOAD_TIMEOUT_MS = 180_000;

let work: string;
let orthanc: OrthancServer;
let ohif: OhifServer;
let browser: Browser;
let study: StudyOutcome;
/** A second sample analysed by the shipped lung-field classifier. */
let lungFieldStudy: StudyOutcome;
const consoleMessages: ConsoleMessage[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-ohif-'));
  await mkdir(ARTIFACTS, { recursive: true });
  await writeTestModelPackage(join(work, 'models', 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
    size: 32,
    labels: 1,
    edit: (m) => ({ ...m, intendedUse: { ...m.intendedUse, allowMissing: ['ViewPosition'] } }),
  });
  const imported = await importImages(join(repoRoot, 'samples', 'cxr', 'samples.csv'), {
    outDir: join(work, 'dicom'),
    bodyPart: 'CHEST',
    patientIdColumn: 'patient_id',
  });
  const source = imported.imported[0]!.dicom;
  const run = await analyzeFiles([source], {
    registry: new ModelRegistry(join(work, 'models')),
    outDir: join(work, 'out'),
  });
  study = run.studies[0]!;
  assert.equal(study.problem, null);
  // The lung-field classifier alone in its registry (with the lung model it names), so it is
  // the version analyze runs.
  const lungFieldModels = join(work, 'lung-field-models');
  await cp(join(repoRoot, 'models', 'cxr-lungs'), join(lungFieldModels, 'cxr-lungs'), {
    recursive: true,
  });
  await cp(
    join(repoRoot, 'models', 'cxr-pneumonia', '2.0.3'),
    join(lungFieldModels, 'cxr-pneumonia', '2.0.3'),
    { recursive: true },
  );
  const lungFieldSource = imported.imported[1]!.dicom;
  const lungFieldRun = await analyzeFiles([lungFieldSource], {
    registry: new ModelRegistry(lungFieldModels),
    outDir: join(work, 'out-lung-field'),
  });
  lungFieldStudy = lungFieldRun.studies[0]!;
  assert.equal(lungFieldStudy.problem, null);
  assert.equal(lungFieldStudy.model?.version, '2.0.3');
  const [dist, server] = await Promise.all([
    ensureOhifApp(),
    OrthancServer.start({ dicomWeb: true }),
  ]);
  orthanc = server;
  for (const file of [
    source,
    ...dicomArtifacts(study.artifacts).map((a) => a.path),
    lungFieldSource,
    ...dicomArtifacts(lungFieldStudy.artifacts).map((a) => a.path),
  ]) {
    await orthanc.upload(await readFile(file));
  }
  ohif = await serveOhif(dist, orthanc.url);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await ohif?.close();
  await orthanc?.stop();
  await rm(work, { recursive: true, force: true });
});

async function shot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
}

test('OHIF opens the study from Orthanc, lists our series, and draws the SR finding with its name and probability', async () => {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  recordConsole(page, consoleMessages);
  try {
    await page.goto(`${ohif.url}/viewer?StudyInstanceUIDs=${study.studyInstanceUid}`);
    // The study browser lists the series the PACS holds: the source, and ours.
    const sr = await waitForOurSeries(page, LOAD_TIMEOUT_MS);
    await shot(page, '1-study');
    await openSr(page, sr);
    await page.waitForTimeout(5_000);
    await shot(page, '2-sr-opened');
    await writeFile(join(ARTIFACTS, 'console.json'), JSON.stringify(consoleMessages, null, 2));
    await writeFile(join(ARTIFACTS, 'body.txt'), await page.locator('body').innerText());
    // No error from the SR extension, whatever it then draws, nor a group it passed over.
    const problems = srExtensionProblems(consoleMessages);
    assert.deepEqual(problems.errors, [], 'no console error from the SR extension');
    assert.deepEqual(problems.skipped, [], 'every finding group is drawn');
    const finding = study.record!.findings[0]!;
    const lines = await assertFindingDrawn(
      page,
      { meaning: finding.finding.meaning, probability: finding.probability },
      LOAD_TIMEOUT_MS,
    );
    await writeFile(join(ARTIFACTS, 'viewport-text.json'), JSON.stringify(lines, null, 2));
    await shot(page, '3-finding-drawn');
  } finally {
    await page.close();
  }
});

test("OHIF draws the shipped lung-field classifier's finding, with the heatmap's share inside the lung field", async () => {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const messages: ConsoleMessage[] = [];
  recordConsole(page, messages);
  try {
    await page.goto(`${ohif.url}/viewer?StudyInstanceUIDs=${lungFieldStudy.studyInstanceUid}`);
    const sr = await waitForOurSeries(page, LOAD_TIMEOUT_MS);
    await openSr(page, sr);
    await page.waitForTimeout(5_000);
    const problems = srExtensionProblems(messages);
    assert.deepEqual(problems.errors, [], 'no console error from the SR extension');
    assert.deepEqual(problems.skipped, [], 'every finding group is drawn');
    const finding = lungFieldStudy.record!.findings[0]!;
    const lines = await assertFindingDrawn(
      page,
      { meaning: finding.finding.meaning, probability: finding.probability },
      LOAD_TIMEOUT_MS,
    );
    await writeFile(
      join(ARTIFACTS, 'lung-field-viewport-text.json'),
      JSON.stringify(lines, null, 2),
    );
    await shot(page, '4-lung-field-finding-drawn');
    assert.ok(
      lines.some((line) => /inside lung field/i.test(line)),
      `the lung-field share is drawn: ${JSON.stringify(lines)}`,
    );
  } finally {
    await page.close();
  }
});
