/**
 * The reading room end to end in headless Chromium (issue #13 Deliver 8): a real node
 * analyses four chest radiographs (the shipped samples, different probabilities); a
 * radiologist logs in, sees the worklist in the API's priority order, moves through it with
 * the keyboard, opens a study (the OHIF frame, the context panel), answers a finding; an
 * auditor sees the record of that answer; after logout the session is refused. Every page
 * is checked with axe-core (serious or critical violations fail) and must raise no CSP
 * violation. Screenshots go to test-artifacts/reading-room/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { importImages } from '../../lifecycle/imports/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { launchChromium, screenshot, seriousAxeViolations } from '../../../test/support/browser.js';
import {
  assertFindingDrawn,
  ensureOhifApp,
  openSr,
  waitForOurSeries,
} from '../../../test/support/ohifViewer.js';
import { cookieOf, httpCall } from '../../../test/support/httpClient.js';
import { waitFor } from '../../../test/support/node.js';
import { UserStore } from '../access/index.js';
import { InstanceStore, openNodeDatabase } from '../store/index.js';
import { startLoopbackNode } from '../../../test/support/loopbackNode.js';
import type { RadiolensNode } from '../service/service.js';
import type { StudyContext, WorklistAnswer } from './shared/apiTypes.js';
import { feedbackDraft } from './shared/views.js';

/** The little of the DOM the in-page functions below touch (the node build has no DOM types). */
interface InPage {
  readonly document: {
    readonly activeElement: {
      readonly id: string;
      readonly tagName: string;
      readonly name?: string;
      readonly classList: { contains(name: string): boolean };
      readonly dataset: Record<string, string | undefined>;
    } | null;
  };
}
type Dataset = { readonly dataset: Record<string, string | undefined> };

const SAMPLES = ['00000061_012.png', '00000150_002.png', '00001280_004.png', '00001299_000.png'];
const PASSWORD = 'a passphrase long enough';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'reading-room');
const TIMEOUT_MS = 60_000;
/** OHIF loads its bundles, the study and the SR in the frame: minutes on a loaded 2-core machine. */
const OHIF_LOAD_TIMEOUT_MS = 180_000;

describe('the reading room in a real browser', () => {
  let dir: string;
  let node: RadiolensNode;
  let base: string;
  let browser: Browser;
  let radiologist: BrowserContext;
  let page: Page;
  let apiCookie: string;
  let worklist: WorklistAnswer;
  let openedStudyKey: string;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  // Our pages only: the OHIF app in the study page's frame is a third-party app with its own
  // policy (ADR 0195) and its own console.
  const ours = (url: string): boolean => !url.includes('/ohif/');
  const watch = (p: Page): void => {
    p.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text()) && ours(message.location().url)) {
        cspViolations.push(`${message.location().url}: ${message.text()}`);
      }
    });
    p.on('pageerror', (error) => {
      if (ours(error.stack ?? '')) pageErrors.push(String(error.stack ?? error));
    });
  };
  const shot = async (p: Page, name: string): Promise<void> => {
    console.log(`# screenshot: ${await screenshot(p, ARTIFACTS, name)}`);
  };
  const accessible = async (p: Page, what: string): Promise<void> => {
    const violations = await seriousAxeViolations(p);
    assert.deepEqual(violations, [], `${what}: serious or critical axe violations`);
  };
  const logIn = async (p: Page, user: string): Promise<void> => {
    await p.getByLabel('User name').fill(user);
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Log in' }).click();
  };

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'radiolens-reading-room-'));
    const data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    const db = openNodeDatabase(data);
    const users = new UserStore(db);
    await users.add('rita', 'radiologist', PASSWORD);
    await users.add('aude', 'auditor', PASSWORD);
    db.close();
    const work = join(dir, 'images');
    await mkdir(work);
    const csv = ['image,patient_id,study'];
    for (const [i, name] of SAMPLES.entries()) {
      await writeFile(join(work, name), await readFile(join(repoRoot, 'samples', 'cxr', name)));
      csv.push(`${name},p${i},s${i}`);
    }
    await writeFile(join(work, 'images.csv'), `${csv.join('\n')}\n`);
    const report = await importImages(join(work, 'images.csv'), {
      outDir: join(work, 'dicom'),
      bodyPart: 'CHEST',
      viewPosition: 'PA',
      patientIdColumn: 'patient_id',
      groupByColumn: 'study',
    });
    assert.equal(report.imported.length, SAMPLES.length, JSON.stringify(report.problems));
    // The real OHIF app (npm's @ohif/app, fetched once into .cache/ by the product's installer).
    const ohifDir = await ensureOhifApp();
    ({ node, base } = await startLoopbackNode(dir, data, {
      viewer: { ohifDir },
      http: { allowAddresses: [] },
      quietPeriodSeconds: 1,
      worklist: { alertBudget: { maxUrgent: 1, windowHours: 24 } },
    }));
    const store = InstanceStore.open(data);
    try {
      for (const imported of report.imported) {
        await store.storeInstance(await readFile(imported.dicom), { source: 'test' });
      }
    } finally {
      store.close();
    }
    // The API's own view, read as a radiologist, is what the page must show.
    const login = await httpCall(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'rita', password: PASSWORD }),
    });
    assert.equal(login.status, 200, login.body);
    apiCookie = cookieOf(login);
    worklist = await waitFor(
      'four analysed studies on the worklist',
      async () => {
        const answer = await httpCall(`${base}/api/worklist`, { headers: { cookie: apiCookie } });
        const body = JSON.parse(answer.body) as WorklistAnswer;
        return body.total === SAMPLES.length ? body : undefined;
      },
      300_000,
      1000,
    );
    browser = await launchChromium();
    radiologist = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    page = await radiologist.newPage();
    watch(page);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the studies have different probabilities (the order means something)', () => {
    const probabilities = worklist.rows.map((r) => r.probability);
    assert.equal(new Set(probabilities).size, SAMPLES.length, JSON.stringify(probabilities));
  });

  it('a page asked for without a session sends the browser to the login page', async () => {
    await page.goto(`${base}/worklist`);
    await page.waitForURL(/\/login\?next=%2Fworklist$/, { timeout: TIMEOUT_MS });
    await page.getByLabel('User name').waitFor();
    await shot(page, '1-login');
    await accessible(page, 'login page');
    // A wrong password is said in words and logs nobody in.
    await page.getByLabel('User name').fill('rita');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong user name or password').waitFor({ timeout: TIMEOUT_MS });
  });

  it('the radiologist logs in and sees the worklist in the order of /api/worklist', async () => {
    await logIn(page, 'rita');
    await page.waitForURL(`${base}/worklist`, { timeout: TIMEOUT_MS });
    await page
      .locator('#worklist tbody tr')
      .nth(SAMPLES.length - 1)
      .waitFor({ timeout: TIMEOUT_MS });
    const shown = await page
      .locator('#worklist tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as unknown as Dataset).dataset['studyKey']));
    const api = JSON.parse(
      (await httpCall(`${base}/api/worklist`, { headers: { cookie: apiCookie } })).body,
    ) as WorklistAnswer;
    assert.deepEqual(
      shown,
      api.rows.map((r) => r.studyKey),
    );
    // The reason and the urgent mark of each row are the API's.
    const first = page.locator('#worklist tbody tr').first();
    assert.ok((await first.innerText()).includes(api.rows[0]!.reason.text));
    assert.equal(
      await page.locator('#worklist tbody tr .mark-urgent').count(),
      api.rows.filter((r) => r.urgent).length,
    );
    await page
      .getByText('Live: the list updates as results arrive.')
      .waitFor({ timeout: TIMEOUT_MS });
    await shot(page, '2-worklist');
    await accessible(page, 'worklist page');
  });

  it('filters narrow the list and say so when nothing matches', async () => {
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No study matches these filters').waitFor({ timeout: TIMEOUT_MS });
    assert.match(page.url(), /\/worklist\?status=failed$/);
    await shot(page, '3-worklist-empty');
    await page.getByRole('button', { name: 'Clear' }).click();
    await page
      .locator('#worklist tbody tr')
      .nth(SAMPLES.length - 1)
      .waitFor({ timeout: TIMEOUT_MS });
  });

  it('the keyboard reaches the filters, then the rows; j/k and the arrows move; Enter opens', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const order: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      order.push(
        await page.evaluate(() => {
          const a = (globalThis as unknown as InPage).document.activeElement;
          return (
            a?.id ||
            (a?.classList.contains('open') ? `row:${a.dataset['studyKey']}` : (a?.tagName ?? ''))
          );
        }),
      );
    }
    const filter = order.indexOf('f-status');
    const firstRow = order.indexOf(`row:${worklist.rows[0]!.studyKey}`);
    assert.ok(filter >= 0 && firstRow > filter, `Tab order: ${order.join(' → ')}`);
    const focused = (): Promise<string | undefined> =>
      page.evaluate(
        () => (globalThis as unknown as InPage).document.activeElement?.dataset['studyKey'],
      );
    const keys = worklist.rows.map((r) => r.studyKey);
    await page.locator('#worklist tbody a.open').first().focus();
    await page.keyboard.press('j');
    assert.equal(await focused(), keys[1]);
    await page.keyboard.press('ArrowDown');
    assert.equal(await focused(), keys[2]);
    await page.keyboard.press('k');
    assert.equal(await focused(), keys[1]);
    await page.keyboard.press('ArrowUp');
    assert.equal(await focused(), keys[0]);
    openedStudyKey = keys[0]!;
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/studies/${openedStudyKey}`, { timeout: TIMEOUT_MS });
  });

  it('the study page shows the OHIF frame and the finding context of /api/studies/{key}/context', async () => {
    const context = JSON.parse(
      (
        await httpCall(`${base}/api/studies/${openedStudyKey}/context`, {
          headers: { cookie: apiCookie },
        })
      ).body,
    ) as StudyContext;
    const analysis = context.analyses[0]!;
    const finding = analysis.findings[0]!;
    const panel = page.locator('#context');
    await panel.locator('.finding').first().waitFor({ timeout: TIMEOUT_MS });
    const text = await panel.innerText();
    assert.ok(text.includes(finding.probability.toFixed(2)), 'probability');
    assert.ok(text.includes(finding.threshold.toFixed(2)), 'operating point');
    assert.ok(text.includes(`${analysis.model.id}@${analysis.model.version}`), 'model and version');
    if (analysis.intendedUse?.summary) assert.ok(text.includes(analysis.intendedUse.summary));
    assert.ok(
      analysis.siteValidation === null
        ? text.includes('no site validation report')
        : text.includes('AUC'),
      'site validation',
    );
    // The viewer is installed (before()): the frame opens the study by its UID in OHIF.
    assert.equal(context.viewer.available, true);
    const src = await page.locator('iframe#ohif').getAttribute('src');
    assert.equal(src, `/ohif/viewer?StudyInstanceUIDs=${context.studyInstanceUid}`);
    // The frame really holds OHIF, not a refused frame (the viewer may be framed by the
    // node's own pages: X-Frame-Options SAMEORIGIN, frame-ancestors 'self').
    await page
      .frameLocator('iframe#ohif')
      .locator('#root')
      .waitFor({ state: 'attached', timeout: TIMEOUT_MS });
    // The finding drawn in OHIF inside the frame: the SR series opened, its finding's name
    // and probability drawn in the viewport's annotation layer with its region (ADR 0144).
    const viewer = page.frameLocator('iframe#ohif');
    await openSr(viewer, await waitForOurSeries(viewer, OHIF_LOAD_TIMEOUT_MS));
    await assertFindingDrawn(viewer, finding, OHIF_LOAD_TIMEOUT_MS);
    await shot(page, '4-study');
    await accessible(page, 'study page');
  });

  it('the answer buttons are reachable with Tab; an answer is recorded with its time', async () => {
    const form = page.locator('form.answer').first();
    const label = (await form.getAttribute('data-label'))!;
    // From the page's start, Tab reaches the first answer choice.
    await page.locator('main h1').click();
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(
        () => (globalThis as unknown as InPage).document.activeElement?.name === 'answer',
      );
    }
    assert.ok(reached, 'Tab reaches the answer choices');
    await form.getByLabel('Agree', { exact: true }).check();
    await form.getByLabel('Comment (optional, no patient identifiers)').fill('agree, browser test');
    await form.getByRole('button', { name: 'Record answer' }).click();
    await form.getByText(/^Recorded: agree/).waitFor({ timeout: TIMEOUT_MS });
    await shot(page, '5-answered');
    const answers = JSON.parse(
      (
        await httpCall(`${base}/api/feedback?studyKey=${openedStudyKey}`, {
          headers: { cookie: apiCookie },
        })
      ).body,
    ) as {
      answers: {
        answer: string;
        timeToAnswerMs: number;
        finding: { labelId: string };
        comment?: string;
      }[];
    };
    const recorded = answers.answers.find((a) => a.finding.labelId === label);
    assert.equal(recorded?.answer, 'agree');
    assert.equal(recorded?.comment, 'agree, browser test');
    assert.ok((recorded?.timeToAnswerMs ?? 0) > 0, 'time from opening to answering');
  });

  it('the auditor sees the record of that answer on the audit page', async () => {
    const auditor = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    try {
      const audit = await auditor.newPage();
      watch(audit);
      await audit.goto(`${base}/login`);
      await logIn(audit, 'aude');
      await audit.waitForURL(`${base}/audit`, { timeout: TIMEOUT_MS });
      const row = audit.locator('#audit tbody tr[data-action="feedback.answer"]').first();
      await row.waitFor({ timeout: TIMEOUT_MS });
      const text = await row.innerText();
      assert.ok(text.includes('rita'), text);
      assert.ok(text.includes(`study:${openedStudyKey}`), text);
      assert.match(await audit.locator('#chain').innerText(), /The chain is intact/);
      await shot(audit, '6-audit');
      await accessible(audit, 'audit page');
      // The auditor may not open the worklist: a page that says so, not the worklist.
      const refused = await audit.goto(`${base}/worklist`);
      assert.equal(refused?.status(), 403);
      await audit.getByText('Not for your role').waitFor();
    } finally {
      await auditor.close();
    }
  });

  it('the models pages list the installed versions and show one with its card and lineage', async () => {
    await page.getByRole('link', { name: 'Models', exact: true }).click();
    await page.waitForURL(`${base}/models`, { timeout: TIMEOUT_MS });
    const rows = page.locator('#models tbody tr');
    await rows.first().waitFor({ timeout: TIMEOUT_MS });
    const api = JSON.parse(
      (await httpCall(`${base}/api/models`, { headers: { cookie: apiCookie } })).body,
    ) as { models: { id: string; version: string; active?: boolean }[] };
    assert.equal(await rows.count(), api.models.length);
    await accessible(page, 'models page');
    await shot(page, '7-models');
    const active = api.models.find((m) => m.active === true) ?? api.models[0]!;
    await page.locator(`#models a[href="/models/${active.id}/${active.version}"]`).click();
    await page.waitForURL(`${base}/models/${active.id}/${active.version}`, { timeout: TIMEOUT_MS });
    await page.getByRole('heading', { name: 'Lineage' }).waitFor({ timeout: TIMEOUT_MS });
    const detail = JSON.parse(
      (
        await httpCall(`${base}/api/models/${active.id}/${active.version}`, {
          headers: { cookie: apiCookie },
        })
      ).body,
    ) as { card: { markdown: string } | null };
    const text = await page.locator('#model').innerText();
    if (detail.card !== null) {
      // The card is shown as text: its markdown comes through verbatim, never as markup.
      const firstLine = detail.card.markdown.split('\n').find((l) => l.trim() !== '')!;
      assert.ok(text.includes(firstLine.trim()), firstLine);
    } else {
      assert.ok(text.includes('This version ships no model card.'));
    }
    await accessible(page, 'model page');
    await shot(page, '8-model');
  });

  it('the worklist updates live when an answer is recorded elsewhere; worklist and study page show their error states', async () => {
    const second = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    try {
      const live = await second.newPage();
      watch(live);
      await live.goto(`${base}/login`);
      await logIn(live, 'rita');
      await live.waitForURL(`${base}/worklist`, { timeout: TIMEOUT_MS });
      // `/` sends a radiologist to the worklist.
      await live.goto(`${base}/`);
      await live.waitForURL(`${base}/worklist`, { timeout: TIMEOUT_MS });
      await live
        .getByText('Live: the list updates as results arrive.')
        .waitFor({ timeout: TIMEOUT_MS });
      // Another session answers a study that is still open: the page hears the notice and
      // shows the row as answered without a reload.
      const open = worklist.rows.find((r) => r.studyKey !== openedStudyKey && r.finding !== null)!;
      const row = live.locator(`#worklist tbody tr[data-study-key="${open.studyKey}"]`);
      assert.match(await row.innerText(), /\banalysed\b/);
      const login = await httpCall(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'rita', password: PASSWORD }),
      });
      const csrf = (JSON.parse(login.body) as { csrfToken: string }).csrfToken;
      const context = JSON.parse(
        (
          await httpCall(`${base}/api/studies/${open.studyKey}/context`, {
            headers: { cookie: cookieOf(login) },
          })
        ).body,
      ) as StudyContext;
      const analysis = context.analyses[0]!;
      const draft = feedbackDraft(
        open.studyKey,
        analysis,
        analysis.findings[0]!,
        { answer: 'uncertain', correctLabel: '', comment: '' },
        1500,
      );
      assert.ok(draft.ok);
      const posted = await httpCall(`${base}/api/feedback`, {
        method: 'POST',
        headers: {
          cookie: cookieOf(login),
          'x-csrf-token': csrf,
          'content-type': 'application/json',
        },
        body: JSON.stringify(draft.body),
      });
      assert.equal(posted.status, 201, posted.body);
      await waitFor('the row shown as answered', async () =>
        /\banswered\b/.test(await row.innerText()) ? true : undefined,
      );
      await shot(live, '9a-worklist-live');
      // The node unavailable (503), unreachable, or the session gone (401 → login).
      await live.route('**/api/worklist', (route) =>
        route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: '{"error":"audit log unavailable"}',
        }),
      );
      await live.getByRole('button', { name: 'Apply filters' }).click();
      await live
        .getByText(/the node is unavailable right now \(audit log unavailable\)/)
        .waitFor({ timeout: TIMEOUT_MS });
      assert.equal(await live.locator('#worklist').isVisible(), false);
      await shot(live, '9b-worklist-503');
      await live.unroute('**/api/worklist');
      await live.route('**/api/worklist', (route) => route.abort('connectionrefused'));
      await live.getByRole('button', { name: 'Apply filters' }).click();
      await live.getByText(/the node cannot be reached/).waitFor({ timeout: TIMEOUT_MS });
      await live.unroute('**/api/worklist');
      await live.route('**/api/worklist', (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: '{"error":"no session"}',
        }),
      );
      await live.getByRole('button', { name: 'Apply filters' }).click();
      await live.waitForURL(/\/login\?next=%2Fworklist$/, { timeout: TIMEOUT_MS });
      // The study page without the viewer says how to install it; an unknown key says so.
      await live.unroute('**/api/worklist');
      await logIn(live, 'rita');
      await live.waitForURL(`${base}/worklist`, { timeout: TIMEOUT_MS });
      const real = await httpCall(`${base}/api/studies/${open.studyKey}/context`, {
        headers: { cookie: cookieOf(login) },
      });
      const withoutViewer = {
        ...(JSON.parse(real.body) as StudyContext),
        viewer: { available: false, url: null, remedy: 'radiolens viewer fetch --data /srv/node' },
      };
      await live.route(`**/api/studies/${open.studyKey}/context`, (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify(withoutViewer),
        }),
      );
      await live.goto(`${base}/studies/${open.studyKey}`);
      await live
        .getByText('radiolens viewer fetch --data /srv/node')
        .waitFor({ timeout: TIMEOUT_MS });
      assert.equal(await live.locator('iframe').count(), 0);
      await live.locator('#context .finding').first().waitFor();
      await accessible(live, 'study page without the viewer');
      await shot(live, '9c-study-no-viewer');
      await live.goto(`${base}/studies/NoSuchStudyKey0000000`);
      await live.getByText('No study with this key on this node').waitFor({ timeout: TIMEOUT_MS });
    } finally {
      await second.close();
    }
  });

  it('after logout the session is refused: 401 on the API, the login page on navigation', async () => {
    const cookie = (await radiologist.cookies()).find((c) => c.name === 'radiolens_session');
    assert.ok(cookie, 'the browser holds a session cookie');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/login`, { timeout: TIMEOUT_MS });
    const answer = await httpCall(`${base}/api/worklist`, {
      headers: { cookie: `${cookie.name}=${cookie.value}` },
    });
    assert.equal(answer.status, 401);
    await page.goto(`${base}/studies/${openedStudyKey}`);
    await page.waitForURL(new RegExp(`/login\\?next=%2Fstudies%2F${openedStudyKey}$`), {
      timeout: TIMEOUT_MS,
    });
    await page.getByLabel('User name').waitFor();
    await shot(page, '10-logged-out');
  });

  it('no page broke its content security policy or threw', () => {
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(pageErrors, []);
  });
});
