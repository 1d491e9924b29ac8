/**
 * The reading room's pages without a browser: the answer the study page posts is accepted by
 * the server's own feedback schema; the context panel's lines; the worklist's filters (the
 * API's parser takes them) and keyboard moves; `next` and the viewer URL stay on the node;
 * the HTML shells escape what they print, carry no inline script or style, label every
 * control; the assets served are a fixed list; and no browser module builds markup from text.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { feedbackAnswerSchema } from '../feedback/index.js';
import { parseWorklistQuery } from '../worklist/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { PAGE_CSP, loadAssets, refusalPage, renderPage } from './index.js';
import type { ContextAnalysis, ContextFinding, WorklistRow } from './shared/apiTypes.js';
import {
  correctLabelChoices,
  estimateText,
  feedbackDraft,
  filtersFromSearch,
  findingLines,
  homeFor,
  nextRow,
  pageOf,
  rowView,
  safeNext,
  safeViewerUrl,
  siteValidationLines,
  worklistQuery,
} from './shared/views.js';

const finding: ContextFinding = {
  sopInstanceUid: '1.2.826.0.1.3680043.10.1.2',
  label: 'pneumonia',
  meaning: 'Pneumonia',
  probability: 0.78,
  threshold: 0.62,
  present: true,
  heatmapInLungs: 0.91,
  ood: { flagged: false, text: null },
  code: { value: '233604007', scheme: 'SCT', meaning: 'Pneumonia' },
};
const analysis: ContextAnalysis = {
  model: { id: 'cxr-pneumonia', version: '1.2.0', name: 'CXR pneumonia' },
  performedAt: '2026-12-03T10:00:00.000Z',
  intendedUse: { summary: 'Second reader', notFor: ['children'] },
  caveats: [
    { code: 'missing-view-position', image: finding.sopInstanceUid, text: 'no view position' },
    { code: 'other-image', image: '1.2.3', text: 'about another image' },
    { code: 'study', image: null, text: 'about the study' },
  ],
  findings: [finding, { ...finding, label: 'effusion', meaning: 'Pleural effusion' }],
  siteValidation: null,
  sr: { sopInstanceUid: '1.2.826.0.1.3680043.10.1.1' },
};
const KEY = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('the answer the study page posts', () => {
  it('is accepted by the feedback API schema for each answer', () => {
    for (const [answer, correctLabel] of [
      ['agree', ''],
      ['uncertain', ''],
      ['disagree', 'none'],
      ['disagree', 'effusion'],
    ] as const) {
      const draft = feedbackDraft(
        KEY,
        analysis,
        finding,
        { answer, correctLabel, comment: ' ok ' },
        4321.6,
      );
      assert.ok(draft.ok);
      const parsed = feedbackAnswerSchema.safeParse(draft.body);
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
      assert.equal(parsed.data.timeToAnswerMs, 4322);
      assert.equal(parsed.data.aiCall, 'positive');
      assert.equal(parsed.data.srSopInstanceUid, analysis.sr!.sopInstanceUid);
      assert.equal(parsed.data.comment, 'ok');
      assert.equal(parsed.data.correctLabel, answer === 'disagree' ? correctLabel : undefined);
    }
  });

  it('says what is missing instead of posting an answer the API would refuse', () => {
    const form = { answer: 'agree', correctLabel: '', comment: '' };
    assert.deepEqual(feedbackDraft(KEY, analysis, finding, { ...form, answer: '' }, 1), {
      ok: false,
      problem: 'choose agree, disagree or uncertain',
    });
    const noCorrect = feedbackDraft(KEY, analysis, finding, { ...form, answer: 'disagree' }, 1);
    assert.deepEqual(noCorrect, { ok: false, problem: 'a disagreement needs the correct answer' });
    const noSr = feedbackDraft(KEY, { ...analysis, sr: null }, finding, form, 1);
    assert.equal(noSr.ok, false);
    const noCode = feedbackDraft(KEY, analysis, { ...finding, code: null }, form, 1);
    assert.equal(noCode.ok, false);
  });

  it('offers "no finding" and the other labels as the correct answer of a disagreement', () => {
    assert.deepEqual(
      correctLabelChoices(analysis, finding).map(([v]) => v),
      ['none', 'effusion'],
    );
    // Below the operating point, disagreeing means the finding is there.
    assert.deepEqual(
      correctLabelChoices(analysis, { ...finding, present: false }).map(([v]) => v),
      ['none', 'pneumonia', 'effusion'],
    );
  });
});

describe('the finding-context panel', () => {
  it('shows probability, operating point, model and version, lungs and OOD', () => {
    const lines = new Map(findingLines(analysis, finding));
    assert.equal(lines.get('Probability'), '0.78');
    assert.equal(lines.get('Operating point'), '0.62');
    assert.match(lines.get('Model')!, /cxr-pneumonia@1\.2\.0/);
    assert.equal(lines.get('Heatmap in the lungs'), '91%');
    assert.equal(lines.get('Out of distribution'), 'not flagged');
    const flagged = new Map(
      findingLines(analysis, { ...finding, ood: { flagged: true, text: 'unlike training' } }),
    );
    assert.equal(flagged.get('Out of distribution'), 'unlike training');
  });

  it('says when there is no site validation report, and gives intervals when there is', () => {
    assert.deepEqual(siteValidationLines(null), [
      ['Site validation', "no site validation report for this model version on this site's data"],
    ]);
    const lines = new Map(
      siteValidationLines({
        source: 'site-2026.json',
        date: '2026-11-01T00:00:00Z',
        images: 118,
        patients: 90,
        auc: { value: 0.89, low: 0.83, high: 0.94 },
        sensitivity: { value: 0.8 },
        specificity: null,
        threshold: 0.62,
        ci: '95% bootstrap',
      }),
    );
    assert.equal(lines.get('AUC'), '0.89 (95% CI 0.83–0.94)');
    assert.equal(lines.get('Sensitivity'), '0.80');
    assert.equal(lines.get('Specificity'), 'not reported');
    assert.equal(lines.get('Validated on'), '118 images, 90 patients');
    assert.equal(lines.get('Report'), 'site-2026.json, 2026-11-01');
    assert.equal(estimateText(undefined), 'not reported');
  });
});

describe('the worklist page', () => {
  it('sends the filters as the API query, which the API accepts', () => {
    const filters = filtersFromSearch(
      '?status=analysed&finding=pneumonia&model=&from=2026-12-01&x=1',
    );
    assert.equal(worklistQuery(filters), '?status=analysed&finding=pneumonia&from=2026-12-01');
    const parsed = parseWorklistQuery(new URLSearchParams(worklistQuery(filters)));
    assert.ok(parsed.ok);
    assert.equal(worklistQuery(filtersFromSearch('')), '');
    assert.equal(
      worklistQuery(filtersFromSearch('?status=failed'), 50),
      '?status=failed&offset=50',
    );
    assert.ok(parseWorklistQuery(new URLSearchParams('?status=failed&offset=50')).ok);
  });

  it('pages through a list longer than one answer', () => {
    const rows = (n: number): unknown[] => Array.from({ length: n });
    assert.deepEqual(pageOf({ total: 120, offset: 0, limit: 50, rows: rows(50) }), {
      text: 'Showing 1–50 of 120',
      previous: null,
      next: 50,
    });
    assert.deepEqual(pageOf({ total: 120, offset: 100, limit: 50, rows: rows(20) }), {
      text: 'Showing 101–120 of 120',
      previous: 50,
      next: null,
    });
    assert.deepEqual(pageOf({ total: 0, offset: 0, limit: 50, rows: [] }), {
      text: 'Showing 0–0 of 0',
      previous: null,
      next: null,
    });
  });

  it('moves with ↓/j and ↑/k, stops at the ends, ignores other keys', () => {
    assert.equal(nextRow(null, 'j', 3), 0);
    assert.equal(nextRow(0, 'ArrowDown', 3), 1);
    assert.equal(nextRow(2, 'j', 3), 2);
    assert.equal(nextRow(1, 'k', 3), 0);
    assert.equal(nextRow(0, 'ArrowUp', 3), 0);
    assert.equal(nextRow(0, 'End', 3), 2);
    assert.equal(nextRow(2, 'Home', 3), 0);
    assert.equal(nextRow(1, 'x', 3), null);
    assert.equal(nextRow(null, 'j', 0), null);
  });

  it('shows a row with its mark, reason and the probability against the operating point', () => {
    const row: WorklistRow = {
      rank: 1,
      urgent: true,
      actionable: true,
      reason: { code: 'urgent', text: 'urgent: Pneumonia 0.81 ≥ 0.22 operating point' },
      status: 'analysed',
      studyKey: 'abc_DEF-123456',
      model: 'cxr-pneumonia@1.2.0',
      finding: { label: 'pneumonia', meaning: 'Pneumonia' },
      probability: 0.812,
      threshold: 0.22,
      outOfDistribution: false,
      intendedUseCaveat: true,
      arrivedAt: '2026-12-03T23:08:01.000Z',
    };
    const view = rowView(row);
    assert.equal(view.href, '/studies/abc_DEF-123456');
    assert.equal(view.mark, 'URGENT');
    assert.equal(view.probability, '0.81 / 0.22');
    assert.equal(view.arrived, '2026-12-03 23:08');
    assert.equal(view.flags, 'intended-use caveat');
    const coded = rowView({
      ...row,
      caveats: [
        { code: 'missing-view-position', image: '1.2.3', text: 'no View Position', demotes: false },
        {
          code: 'out-of-distribution',
          image: '1.2.3',
          text: 'unlike training data',
          demotes: true,
        },
      ],
    });
    assert.equal(coded.flags, 'no View Position; unlike training data');
    assert.equal(rowView({ ...row, urgent: false, actionable: false }).mark, '');
  });
});

describe('addresses stay on the node', () => {
  it('`next` after login is a path here, never another host or the login page', () => {
    assert.equal(safeNext('/studies/AAAAAAAAAAAAAAAAAAAAAA'), '/studies/AAAAAAAAAAAAAAAAAAAAAA');
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      '/login',
      'x',
      null,
    ]) {
      assert.equal(safeNext(bad), null, String(bad));
    }
    assert.equal(homeFor('radiologist'), '/worklist');
    assert.equal(homeFor('auditor'), '/audit');
    assert.equal(homeFor('data-scientist'), '/models');
  });

  it('the viewer frame shows only the node’s own /ohif/', () => {
    assert.equal(
      safeViewerUrl('/ohif/viewer?StudyInstanceUIDs=1.2.3'),
      '/ohif/viewer?StudyInstanceUIDs=1.2.3',
    );
    for (const bad of [
      'https://evil.example/ohif/',
      '//evil.example/ohif/',
      '/ohif//x',
      '/other',
      null,
    ]) {
      assert.equal(safeViewerUrl(bad), null, String(bad));
    }
  });
});

describe('the HTML shells', () => {
  const user = { name: 'rita', role: 'radiologist' as const };
  const pages = [
    renderPage({ page: 'login' }),
    renderPage({ page: 'worklist', user }),
    renderPage({ page: 'study', user, studyKey: KEY }),
    renderPage({ page: 'models', user }),
    renderPage({ page: 'model', user, id: 'cxr-pneumonia', version: '1.2.0' }),
    renderPage({ page: 'audit', user: { name: 'aude', role: 'auditor' } }),
  ];

  it('carry no inline script or style; scripts are modules from /assets/', () => {
    for (const html of pages) {
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      assert.equal(scripts.length, 1);
      assert.match(scripts[0]!, /^<script type="module" src="\/assets\/client\/\w+\.js">$/);
      assert.doesNotMatch(html, /<script[^>]*>[^<]/, 'no inline script');
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    }
    assert.match(PAGE_CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(PAGE_CSP, /unsafe-inline|unsafe-eval/);
    assert.match(PAGE_CSP, /frame-ancestors 'none'/);
  });

  it('label every control and name the user, escaped', () => {
    for (const html of pages) {
      for (const [, id] of html.matchAll(/<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"/g)) {
        assert.ok(html.includes(`<label for="${id}">`), `#${id} has a label`);
      }
    }
    const hostile = renderPage({ page: 'worklist', user: { name: 'a<b>"c', role: 'radiologist' } });
    assert.ok(hostile.includes('a&lt;b&gt;&quot;c'));
    assert.ok(!hostile.includes('a<b>'));
    assert.match(pages[1]!, /<a href="\/worklist" aria-current="page">Worklist<\/a>/);
    assert.match(pages[5]!, /href="\/audit"/);
    assert.doesNotMatch(pages[5]!, /href="\/worklist"/, 'an auditor is not offered the worklist');
  });

  it('a refused page sends the browser to log in and back, or says which role it needs', () => {
    const login = refusalPage(401, 'log in', '/studies/AAAAAAAAAAAAAAAAAAAAAA');
    assert.match(
      login,
      /<meta http-equiv="refresh" content="0; url=\/login\?next=%2Fstudies%2FAAAAAAAAAAAAAAAAAAAAAA">/,
    );
    const forbidden = refusalPage(403, 'your role (auditor) may not <use> this', '/worklist');
    assert.match(forbidden, /Not for your role/);
    assert.ok(forbidden.includes('&lt;use&gt;'));
    assert.doesNotMatch(forbidden, /refresh/);
  });
});

describe('the assets', () => {
  it('are app.css and the compiled modules of client/ and shared/, nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-assets-'));
    try {
      await mkdir(join(dir, 'client'));
      await mkdir(join(dir, 'shared'));
      await writeFile(join(dir, 'client', 'common.js'), 'export {};');
      await writeFile(join(dir, 'client', 'common.js.map'), '{}');
      await writeFile(join(dir, 'shared', 'views.js'), 'export {};');
      await writeFile(join(dir, 'shared', 'views.test.js'), 'test');
      await writeFile(join(dir, 'webRoutes.js'), 'server code');
      const assets = loadAssets(dir);
      assert.deepEqual([...assets.keys()].sort(), [
        'app.css',
        'client/common.js',
        'shared/views.js',
      ]);
      assert.equal(assets.get('client/common.js')?.type, 'text/javascript; charset=utf-8');
      assert.match(assets.get('app.css')!.body.toString('utf8'), /:focus-visible/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('no browser module writes markup from a string (innerHTML, outerHTML, insertAdjacentHTML, document.write, eval)', async () => {
    const dir = join(repoRoot, 'src', 'node', 'web');
    for (const folder of ['client', 'shared']) {
      for (const name of await readdir(join(dir, folder))) {
        if (!name.endsWith('.ts')) continue;
        const text = await readFile(join(dir, folder, name), 'utf8');
        assert.doesNotMatch(
          text,
          /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/,
          `${folder}/${name}`,
        );
      }
    }
  });
});
