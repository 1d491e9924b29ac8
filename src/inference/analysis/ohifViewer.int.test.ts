/**
 * End to end in the radiologist's viewer (issue #12 item 3): the real OHIF Viewer (npm's
 * built `@ohif/app`) against Orthanc's DICOMweb holding a radiograph and Radiolens' SR and SC
 * for it, driven by Debian's Chromium through playwright-core. Screenshots are kept under
 * test-artifacts/ohif/ (git-ignored) and their paths printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { importImages } from '../../lifecycle/imports/index.js';
import { ModelRegistry } from '../models/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { OrthancServer } from '../../../test/support/orthanc.js';
import { ensureOhifApp, serveOhif, type OhifServer } from '../../../test/support/ohifViewer.js';
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
const consoleMessages: Array<{ type: string; text: string }> = [];

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
  const [dist, server] = await Promise.all([
    ensureOhifApp(),
    OrthancServer.start({ dicomWeb: true }),
  ]);
  orthanc = server;
  for (const file of [source, ...dicomArtifacts(study.artifacts).map((a) => a.path)]) {
    await orthanc.upload(await readFile(file));
  }
  ohif = await serveOhif(dist, orthanc.url);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Software WebGL: cornerstone3D renders with WebGL, and CI has no GPU.
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
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
  page.on('console', (message) =>
    consoleMessages.push({ type: message.type(), text: message.text() }),
  );
  page.on('pageerror', (error) => consoleMessages.push({ type: 'pageerror', text: String(error) }));
  try {
    await page.goto(`${ohif.url}/viewer?StudyInstanceUIDs=${study.studyInstanceUid}`);
    // The study browser lists the series the PACS holds: the source, and ours by their
    // descriptions, "AI <model> <version> findings" / "… heatmap …" (ADR 0142).
    const sr = page.getByText(/AI \S+ \S+ findings/).first();
    await sr.waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page
      .getByText(/AI \S+ \S+ heatmap/)
      .first()
      .waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.locator('canvas').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await shot(page, '1-study');
    // OHIF 3.13 opens with a guided tour over the viewport; a reader would skip it.
    const skipTour = page.getByText('Skip all');
    if (await skipTour.isVisible()) await skipTour.click();

    // Open the SR: double-click its thumbnail, as a radiologist would.
    await sr.dblclick();
    await page.waitForTimeout(5_000);
    await shot(page, '2-sr-opened');
    await writeFile(join(ARTIFACTS, 'console.json'), JSON.stringify(consoleMessages, null, 2));
    await writeFile(join(ARTIFACTS, 'body.txt'), await page.locator('body').innerText());
    // No error from the SR extension (today's SR once made it throw reading
    // ReferencedSOPSequence), whatever it then draws.
    const srErrors = consoleMessages.filter(
      (m) =>
        (m.type === 'error' || m.type === 'pageerror') &&
        /\bSR\b|ReferencedSOPSequence|SCOORD|measurement|TypeError/i.test(m.text),
    );
    assert.deepEqual(srErrors, [], 'no console error from the SR extension');
    // Nor a group it passed over (it warns "… skipping annotation." for one it cannot draw).
    const skipped = consoleMessages.filter((m) => /skipping annotation/i.test(m.text));
    assert.deepEqual(skipped, [], 'every finding group is drawn');
    // The SR was opened and read by OHIF's SR extension: the finding drawn on the image with
    // its label. OHIF 3.13 draws a TID 1410 group that has an image region (SCOORD) as an
    // annotation in the viewport's SVG layer — the region's outline (or an arrow at a point)
    // and a text box of "<NUM concept meaning>: <value> <unit>" lines, one per NUM item. The
    // first NUM names the finding ("Probability of Pneumonia", ADR 0144), so the viewport shows
    // the finding's name with its probability.
    const finding = study.record!.findings[0]!;
    const value = (Math.round(finding.probability * 10000) / 100).toFixed(2);
    const expected = `Probability of ${finding.finding.meaning}: ${value} %`;
    const layer = page.locator('svg.svg-layer').first();
    const lines = (await layer.locator('text tspan').allTextContents()).map((l) => l.trim());
    await writeFile(join(ARTIFACTS, 'viewport-text.json'), JSON.stringify(lines, null, 2));
    assert.ok(
      lines.includes(expected),
      `the viewport draws "${expected}" (drawn: ${JSON.stringify(lines)}; page text in ${join(ARTIFACTS, 'body.txt')})`,
    );
    assert.ok(lines.includes(`Certainty of Finding: ${value} %`), 'and the standard concept');
    // The region itself is drawn too: a shape (polyline, or an arrow's line for a point) in
    // the same SVG layer, not only the text.
    assert.ok(
      (await layer.locator('polyline, path, line').count()) > 0,
      'the finding region is drawn in the viewport',
    );
    await shot(page, '3-finding-drawn');
  } finally {
    await page.close();
  }
});
