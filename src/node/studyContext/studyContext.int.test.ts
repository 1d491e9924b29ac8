/**
 * The reading room's JSON APIs through a real started node with a study analysed by the
 * shipped model (ADRs 0195–0197): a study's context (shape, the site's validation once
 * registered, the answers given, 404s, the audit record before serving), the models list and
 * one version, the results visible through the node's own DICOMweb, and /ohif/ naming its
 * remedy while the viewer is not installed.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../../test/support/index.js';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { httpCall } from '../../../test/support/httpClient.js';
import {
  startReadingRoomNode,
  type ReadingRoomNode,
} from '../../../test/support/readingRoomNode.js';
import { auditLogPath } from '../access/index.js';
import { registerSiteValidation } from '../modelCatalog/index.js';

interface Estimate {
  value: number;
  low: number;
  high: number;
}
interface Context {
  studyKey: string;
  studyInstanceUid: string;
  viewer: { available: boolean; url: string; remedy: string | null };
  analyses: {
    model: { id: string; version: string; name: string };
    performedAt: string;
    intendedUse: { summary: string; notFor: string[] };
    caveats: { code: string; image: string | null; text: string; demotes: boolean }[];
    findings: {
      sopInstanceUid: string;
      label: string;
      meaning: string;
      probability: number;
      threshold: number;
      present: boolean;
      heatmapInLungs: number | null;
      ood: { flagged: boolean; text: string | null };
      heatmap: { seriesInstanceUid: string } | null;
    }[];
    sr: { seriesInstanceUid: string; sopInstanceUid: string } | null;
    siteValidation: {
      source: string;
      date: string | null;
      images: number;
      patients: number | null;
      auc: Estimate;
      sensitivity: Estimate | null;
      specificity: Estimate | null;
      threshold: number | null;
      ci: string;
    } | null;
    answers: { label: string; answer: string; answeredAt: string }[];
  }[];
}

const SITE_REPORT = join(
  repoRoot,
  'models',
  'cxr-pneumonia',
  'evidence',
  '1.2.1',
  'validation-site-test-split.json',
);

describe('the reading room APIs of a node with an analysed study', () => {
  let room: ReadingRoomNode;
  let radiologist: { cookie: string; csrf: string };

  before(async () => {
    room = await startReadingRoomNode();
    radiologist = await room.login('radiologist');
  });
  after(async () => {
    await room?.stop();
  });

  const get = (path: string, cookie = radiologist.cookie) =>
    httpCall(`${room.base}${path}`, { headers: { cookie } });
  const context = async (): Promise<Context> => {
    const answer = await get(`/api/studies/${room.studyKey}/context`);
    assert.equal(answer.status, 200, answer.body);
    return JSON.parse(answer.body) as Context;
  };

  it("answers a study's context per the contract, audited before it is served", async () => {
    const body = await context();
    assert.equal(body.studyKey, room.studyKey);
    assert.equal(body.studyInstanceUid, room.studyInstanceUid);
    assert.deepEqual(body.viewer, {
      available: false,
      url: `/ohif/viewer?StudyInstanceUIDs=${room.studyInstanceUid}`,
      remedy: `radiolens viewer fetch --data ${room.dataDir}`,
    });
    assert.equal(body.analyses.length, 1);
    const [analysis] = body.analyses;
    assert.deepEqual(
      { id: analysis!.model.id, version: analysis!.model.version },
      { id: 'cxr-pneumonia', version: '1.2.1' },
    );
    assert.match(analysis!.model.name, /pneumonia/i);
    assert.ok(!Number.isNaN(Date.parse(analysis!.performedAt)));
    assert.match(analysis!.intendedUse.summary, /Second reader/);
    assert.ok(analysis!.intendedUse.notFor.length > 0);
    assert.ok(Array.isArray(analysis!.caveats));
    const [finding] = analysis!.findings;
    assert.equal(finding?.label, 'pneumonia');
    assert.equal(finding?.meaning, 'Pneumonia');
    assert.ok(finding!.probability >= 0 && finding!.probability <= 1);
    assert.ok(Math.abs(finding!.threshold - 0.22008690237998962) < 1e-9);
    assert.equal(finding!.present, finding!.probability >= finding!.threshold);
    assert.equal(typeof finding!.ood.flagged, 'boolean');
    assert.equal(finding!.ood.text === null, !finding!.ood.flagged);
    assert.match(finding!.heatmap?.seriesInstanceUid ?? '', /^[0-9.]+$/);
    assert.match(analysis!.sr?.sopInstanceUid ?? '', /^[0-9.]+$/);
    assert.equal(analysis!.siteValidation, null, 'no site report registered yet');
    assert.deepEqual(analysis!.answers, []);

    const log = await readFile(auditLogPath(room.dataDir), 'utf8');
    const records = log
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; subject: string; actor: string });
    assert.ok(
      records.some(
        (r) =>
          r.action === 'http.readStudyContext' &&
          r.subject === `study:${room.studyKey}` &&
          r.actor.includes('rita'),
      ),
      'the view is recorded with the study by its key',
    );
    assert.ok(!log.includes(room.studyInstanceUid), 'no Study Instance UID in the audit log');
  });

  it("shows the site's validated performance once a report is registered, and the answers given", async () => {
    await registerSiteValidation(room.dataDir, SITE_REPORT);
    const finding = (await context()).analyses[0]!.findings[0]!;
    const posted = await httpCall(`${room.base}/api/feedback`, {
      method: 'POST',
      headers: {
        cookie: radiologist.cookie,
        'x-csrf-token': radiologist.csrf,
        'content-type': 'application/json',
      },
      body: JSON.stringify(
        feedbackAnswer({
          studyKey: room.studyKey,
          model: { id: 'cxr-pneumonia', version: '1.2.1' },
          sourceSopInstanceUid: finding.sopInstanceUid,
          answer: 'uncertain',
        }),
      ),
    });
    assert.equal(posted.status, 201, posted.body);
    const analysis = (await context()).analyses[0]!;
    const site = analysis.siteValidation;
    assert.ok(site !== null);
    assert.match(site.source, /^validation-\d{8}T\d{6}Z\.json$/);
    assert.equal(site.images, 118);
    assert.ok(Math.abs(site.auc.value - 0.8946444249341524) < 1e-12);
    assert.ok(site.auc.low < site.auc.value && site.auc.value < site.auc.high);
    assert.ok(Math.abs(site.sensitivity!.value - 65 / 67) < 1e-12);
    assert.ok(Math.abs(site.specificity!.value - 15 / 51) < 1e-12);
    assert.ok(Math.abs(site.threshold! - 0.22008690237998962) < 1e-12);
    assert.match(site.ci, /^95% CI/);
    assert.equal(analysis.answers.length, 1);
    assert.equal(analysis.answers[0]?.answer, 'uncertain');
    assert.equal(analysis.answers[0]?.label, 'pneumonia');
  });

  it('answers 404 with a JSON problem for an unknown or malformed study key', async () => {
    for (const key of ['AAAAAAAAAAAAAAAAAAAAAA', 'x', '1.2.840.113619.2.55']) {
      const answer = await get(`/api/studies/${key}/context`);
      assert.equal(answer.status, 404, key);
      assert.match((JSON.parse(answer.body) as { error: string }).error, /no study/);
    }
  });

  it("serves the study's results through the node's own DICOMweb: the SR and the heatmap series", async () => {
    const analysis = (await context()).analyses[0]!;
    const answer = await get(`/dicomweb/studies/${room.studyInstanceUid}/series`);
    assert.equal(answer.status, 200, answer.body);
    const series = (JSON.parse(answer.body) as Record<string, { Value?: string[] }>[]).map((s) => ({
      uid: s['0020000E']?.Value?.[0],
      modality: s['00080060']?.Value?.[0],
    }));
    assert.equal(series.length, 4, JSON.stringify(series)); // the radiograph, SR, SC, Parametric Map
    const uids = series.map((s) => s.uid);
    assert.ok(uids.includes(analysis.sr!.seriesInstanceUid), 'the SR series');
    assert.ok(uids.includes(analysis.findings[0]!.heatmap!.seriesInstanceUid), 'the heatmap SC');
    assert.ok(series.some((s) => s.modality === 'SR'));
  });

  it('lists the models with their active state and routes; one version with card, lineage and reports', async () => {
    const dana = await room.login('data-scientist');
    const list = await get('/api/models', dana.cookie);
    assert.equal(list.status, 200, list.body);
    const models = (
      JSON.parse(list.body) as {
        models: {
          id: string;
          version: string;
          name: string;
          task: string;
          active: boolean;
          routes: string[];
        }[];
      }
    ).models;
    const active = models.find((m) => m.id === 'cxr-pneumonia' && m.version === '1.2.1');
    assert.equal(active?.active, true);
    assert.equal(active?.task, 'classification');
    assert.deepEqual(active?.routes, [
      'automatic: the installed model whose intended use fits the study',
    ]);
    const inactive = models.find((m) => m.id === 'cxr-pneumonia' && m.version === '2.0.0');
    assert.equal(inactive?.active, false);
    assert.deepEqual(inactive?.routes, []);

    const one = await get('/api/models/cxr-pneumonia/1.2.1', dana.cookie);
    assert.equal(one.status, 200, one.body);
    const detail = JSON.parse(one.body) as {
      id: string;
      manufacturer: string;
      intendedUse: { summary: string };
      labels: { id: string; meaning: string; threshold: number }[];
      card: { markdown: string } | null;
      lineage: {
        datasets: { name: string; version: string | null }[];
        trainingRun: unknown;
        parent: string | null;
      };
      validationReports: { source: string; origin: string; auc: Estimate; images: number }[];
      routes: string[];
    };
    assert.equal(detail.id, 'cxr-pneumonia');
    assert.ok(detail.manufacturer.length > 0);
    assert.deepEqual(
      detail.labels.map((l) => l.id),
      ['pneumonia'],
    );
    assert.match(detail.card?.markdown ?? '', /`cxr-pneumonia@1\.2\.1`/);
    assert.equal(detail.lineage.datasets[0]?.name, 'cxr-site-nih');
    assert.equal(detail.lineage.parent, 'cxr-pneumonia@1.2.0');
    assert.ok(
      detail.validationReports.some((r) => r.origin === 'site'),
      'the registered site report',
    );
    assert.ok(
      detail.validationReports.some(
        (r) => r.origin === 'model' && r.source === 'validation-site-test-split.json',
      ),
      "the model's evidence",
    );
    const v2 = JSON.parse((await get('/api/models/cxr-pneumonia/2.0.0', dana.cookie)).body) as {
      lineage: { trainingRun: { source: string } | null };
      card: unknown;
    };
    assert.equal(v2.lineage.trainingRun?.source, 'training-run.json');

    for (const path of ['/api/models/cxr-pneumonia/9.9.9', '/api/models/no-such-model/1.0.0']) {
      const missing = await get(path, dana.cookie);
      assert.equal(missing.status, 404, path);
      assert.match(missing.body, /GET \/api\/models/);
    }
  });

  it('answers /ohif/ with 404 naming `radiolens viewer fetch` while the viewer is not installed', async () => {
    for (const path of ['/ohif/', '/ohif/viewer']) {
      const answer = await get(path);
      assert.equal(answer.status, 404, path);
      const problem = JSON.parse(answer.body) as { error: string; remedy: string };
      assert.match(problem.error, /OHIF Viewer .* is not installed/);
      assert.match(problem.remedy, /radiolens viewer fetch --data /);
    }
  });
});
