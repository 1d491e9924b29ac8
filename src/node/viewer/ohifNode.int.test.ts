/**
 * The OHIF Viewer served by the node itself (issue #13 Deliver 3; ADR 0195): a real node with
 * a study analysed by the shipped model, the pinned `@ohif/app` installed by the product's
 * installer, a radiologist logged in (the browser context carries the session cookie), and
 * `/ohif/viewer?StudyInstanceUIDs=…` opened in Debian's Chromium through playwright-core —
 * the series load from the node's own DICOMweb, the SR's finding is drawn with its name and
 * probability, the SR extension logs no error, and the page breaks none of its security
 * headers (CSP, cross-origin isolation). Screenshots under test-artifacts/ohif-node/.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../test/support/browser.js';
import { repoRoot } from '../../../test/support/index.js';
import { httpCall } from '../../../test/support/httpClient.js';
import { auditLogPath } from '../access/index.js';
import {
  assertFindingDrawn,
  ensureOhifApp,
  openSr,
  recordConsole,
  srExtensionProblems,
  waitForOurSeries,
  type ConsoleMessage,
} from '../../../test/support/ohifViewer.js';
import {
  READING_ROOM_PASSWORD,
  USER_OF,
  startReadingRoomNode,
  type ReadingRoomNode,
} from '../../../test/support/readingRoomNode.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts', 'ohif-node');
/** Under a loaded CI machine OHIF's first render takes a while; these are ceilings, not tunings. */
const LOAD_TIMEOUT_MS = 180_000;

let room: ReadingRoomNode;
let browser: Browser;
const consoleMessages: ConsoleMessage[] = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  room = await startReadingRoomNode({ ohifDir: await ensureOhifApp() });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await room?.stop();
});

async function shot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
}

test('a radiologist opens the study in the OHIF Viewer served by the node: series from its DICOMweb, the SR finding drawn', async () => {
  const { cookie } = await room.login('radiologist');
  const context = JSON.parse(
    (await httpCall(`${room.base}/api/studies/${room.studyKey}/context`, { headers: { cookie } }))
      .body,
  ) as {
    viewer: { available: boolean; url: string };
    analyses: { findings: { meaning: string; probability: number }[] }[];
  };
  assert.equal(context.viewer.available, true);

  const browserContext = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  // Log in as the pages do: the browser context keeps the session cookie for every request.
  const login = await browserContext.request.post(`${room.base}/api/login`, {
    data: { user: USER_OF.radiologist, password: READING_ROOM_PASSWORD },
  });
  assert.equal(login.status(), 200);
  const page = await browserContext.newPage();
  recordConsole(page, consoleMessages);
  try {
    const response = await page.goto(`${room.base}${context.viewer.url}`);
    assert.equal(response?.status(), 200);
    const headers = response!.headers();
    assert.match(headers['content-security-policy'] ?? '', /script-src 'self' 'wasm-unsafe-eval'/);
    assert.equal(headers['cross-origin-embedder-policy'], 'require-corp');
    const sr = await waitForOurSeries(page, LOAD_TIMEOUT_MS);
    await shot(page, '1-study');
    assert.equal(await page.evaluate('crossOriginIsolated'), true, 'cross-origin isolated');
    await openSr(page, sr);
    await page.waitForTimeout(5_000);
    await shot(page, '2-sr-opened');
    await writeFile(join(ARTIFACTS, 'console.json'), JSON.stringify(consoleMessages, null, 2));
    await writeFile(join(ARTIFACTS, 'body.txt'), await page.locator('body').innerText());
    const problems = srExtensionProblems(consoleMessages);
    assert.deepEqual(problems.errors, [], 'no console error from the SR extension');
    assert.deepEqual(problems.skipped, [], 'every finding group is drawn');
    // The viewer's own policy lets it run: no script, worker, wasm or style refused.
    const refused = consoleMessages.filter((m) =>
      /Content Security Policy|Refused to/i.test(m.text),
    );
    assert.deepEqual(refused, [], 'nothing refused by the content security policy');
    const lines = await assertFindingDrawn(
      page,
      context.analyses[0]!.findings[0]!,
      LOAD_TIMEOUT_MS,
    );
    await writeFile(join(ARTIFACTS, 'viewport-text.json'), JSON.stringify(lines, null, 2));
    await shot(page, '3-finding-drawn');
    // What the viewer read through the node's DICOMweb is in the audit log, by study key.
    const reads = (await readFile(auditLogPath(room.dataDir), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; subject: string })
      .filter((r) => r.subject === `study:${room.studyKey}`)
      .map((r) => r.action);
    for (const action of ['http.retrieveSeriesMetadata', 'http.retrieveFrames']) {
      assert.ok(reads.includes(action), `${action} audited (${[...new Set(reads)].join(', ')})`);
    }
  } finally {
    await writeFile(join(ARTIFACTS, 'console.json'), JSON.stringify(consoleMessages, null, 2));
    await browserContext.close();
  }
});

test('without a session the viewer is refused; a user without the radiologist role too', async () => {
  assert.equal((await httpCall(`${room.base}/ohif/viewer`)).status, 401);
  const { cookie } = await room.login('auditor');
  assert.equal((await httpCall(`${room.base}/ohif/viewer`, { headers: { cookie } })).status, 403);
});
