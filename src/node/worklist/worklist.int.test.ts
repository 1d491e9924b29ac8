/**
 * The worklist through a real started node: four chest radiographs (the shipped samples)
 * stored one after another, analysed by the shipped model, read back as a radiologist in
 * priority order with their reasons; live notices as results arrive and when an answer is
 * recorded; the read audited; unknown query parameters refused.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importImages } from '../../lifecycle/imports/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { cookieOf, httpCall } from '../../../test/support/httpClient.js';
import { waitFor } from '../../../test/support/node.js';
import { UserStore, auditLogPath } from '../access/index.js';
import { InstanceStore, openNodeDatabase } from '../store/index.js';
import { startLoopbackNode } from '../../../test/support/loopbackNode.js';
import type { RadiolensNode } from '../service/service.js';
import { readAnalysisLog } from '../service/analysisLog.js';

const SAMPLES = ['00000061_012.png', '00000150_002.png', '00001280_004.png', '00001299_000.png'];
const PASSWORD = 'a passphrase long enough';

interface Row {
  rank: number;
  urgent: boolean;
  actionable: boolean;
  reason: { code: string; text: string };
  status: string;
  studyKey: string;
  studyInstanceUid: string;
  model: string;
  finding: { label: string; meaning: string } | null;
  probability: number | null;
  threshold: number | null;
  outOfDistribution: boolean;
  intendedUseCaveat: boolean;
  arrivedAt: string;
}
interface Worklist {
  alertBudget: { maxUrgent: number; windowHours: number; urgent: number };
  total: number;
  rows: Row[];
}

/** An open Server-Sent Events stream and the text it has sent so far. */
function openEvents(
  url: string,
  cookie: string,
): Promise<{ text: () => string; ended: () => boolean; close: () => void }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let ended = false;
    const req = request(url, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`events: ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', () => undefined);
      res.on('end', () => (ended = true));
      resolve({ text: () => text, ended: () => ended, close: () => req.destroy() });
    });
    req.on('error', () => undefined);
    req.end();
  });
}

describe('the worklist of a started node', () => {
  let dir: string;
  let data: string;
  let node: RadiolensNode;
  let base: string;
  let cookie: string;
  let csrf: string;
  const arrivalOrder: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'radiolens-worklist-'));
    data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    const db = openNodeDatabase(data);
    await new UserStore(db).add('rita', 'radiologist', PASSWORD);
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
    ({ node, base } = await startLoopbackNode(dir, data, {
      http: { allowAddresses: [] },
      quietPeriodSeconds: 1,
      worklist: { alertBudget: { maxUrgent: 1, windowHours: 24 } },
    }));
    const login = await httpCall(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'rita', password: PASSWORD }),
    });
    assert.equal(login.status, 200, login.body);
    cookie = cookieOf(login);
    csrf = (JSON.parse(login.body) as { csrfToken: string }).csrfToken;
    // Stored one after another through the node's own store, so arrival order is known.
    const store = InstanceStore.open(data);
    try {
      for (const imported of report.imported) {
        const bytes = await readFile(imported.dicom);
        await store.storeInstance(bytes, { source: 'test' });
        arrivalOrder.push(imported.studyInstanceUid);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      store.close();
    }
  });

  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const read = async (query = ''): Promise<{ status: number; body: string }> =>
    httpCall(`${base}/api/worklist${query}`, { headers: { cookie } });

  it('lists the analysed studies in priority order, with reasons; notices as results arrive', async () => {
    const events = await openEvents(`${base}/api/worklist/events`, cookie);
    const list: Worklist = await waitFor(
      'four analysed studies on the worklist',
      async () => {
        const answer = await read();
        assert.equal(answer.status, 200, answer.body);
        const body = JSON.parse(answer.body) as Worklist;
        return body.total === SAMPLES.length ? body : undefined;
      },
      300_000,
      1000,
    );
    await waitFor('a notice per result', async () =>
      (events.text().match(/"kind":"result"/g) ?? []).length >= SAMPLES.length ? true : undefined,
    );
    assert.match(events.text(), /^retry: 5000\nevent: ready/);
    for (const uid of arrivalOrder) assert.ok(!events.text().includes(uid), 'no study in a notice');
    assert.doesNotMatch(events.text(), /studyKey|probability/);

    // Each row carries the decisive finding of its analysis.json: the largest margin.
    const analyses = readAnalysisLog(data, { mode: 'clinical' });
    for (const row of list.rows) {
      assert.equal(row.status, 'analysed');
      const entry = analyses.find((a) => a.studyInstanceUid === row.studyInstanceUid)!;
      assert.equal(row.model, entry.model);
      const summary = JSON.parse(await readFile(join(data, entry.summaryPath), 'utf8')) as {
        findings: { probability: number; threshold: number; label: string }[];
      };
      const best = summary.findings.reduce((a, b) =>
        b.probability - b.threshold > a.probability - a.threshold ? b : a,
      );
      assert.equal(row.probability, best.probability);
      assert.equal(row.threshold, best.threshold);
      assert.equal(row.finding?.label, best.label);
      const above = best.probability >= best.threshold;
      assert.equal(row.actionable, above && !row.outOfDistribution && !row.intendedUseCaveat);
      assert.ok(row.reason.text.includes(best.probability.toFixed(2)), row.reason.text);
      assert.ok(row.reason.text.includes(above ? '≥' : 'below operating point'), row.reason.text);
    }
    // Actionable first (the urgent one, then the budget's overflow), then the rest; each tier
    // by arrival, which is the order the studies were stored in.
    const tier = (r: Row): number => (r.urgent ? 0 : r.actionable ? 1 : 2);
    const actionable = list.rows.filter((r) => r.actionable);
    assert.equal(list.alertBudget.urgent, Math.min(1, actionable.length));
    for (const [i, row] of list.rows.entries()) {
      assert.equal(row.rank, i + 1);
      if (i === 0) continue;
      const prev = list.rows[i - 1]!;
      assert.ok(tier(prev) <= tier(row), `${prev.reason.code} before ${row.reason.code}`);
      if (tier(prev) === tier(row)) {
        assert.ok(
          arrivalOrder.indexOf(prev.studyInstanceUid) < arrivalOrder.indexOf(row.studyInstanceUid),
          'by arrival within a tier',
        );
      }
    }
    // The budget's one mark goes to the largest margin above the operating point.
    const margin = (r: Row): number => r.probability! - r.threshold!;
    for (const row of actionable) assert.ok(margin(list.rows[0]!) >= margin(row));
    for (const row of actionable.filter((r) => !r.urgent)) {
      assert.equal(row.reason.code, 'actionable-budget-reached');
      assert.match(row.reason.text, /^alert budget reached \(1 urgent\)/);
    }
    events.close();
  });

  it('filters and pages; an unknown or malformed parameter is a 400 that names it', async () => {
    const paged = JSON.parse((await read('?limit=2&offset=1')).body) as Worklist;
    const all = JSON.parse((await read()).body) as Worklist;
    assert.equal(paged.total, SAMPLES.length);
    assert.deepEqual(
      paged.rows.map((r) => r.rank),
      all.rows.slice(1, 3).map((r) => r.rank),
    );
    const model = all.rows[0]!.model;
    assert.equal(
      (JSON.parse((await read(`?model=${model.split('@')[0]}`)).body) as Worklist).total,
      4,
    );
    assert.equal((JSON.parse((await read('?model=other-model')).body) as Worklist).total, 0);
    assert.equal((JSON.parse((await read('?status=failed')).body) as Worklist).total, 0);
    assert.equal((JSON.parse((await read('?to=2000-01-01')).body) as Worklist).total, 0);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal((JSON.parse((await read(`?from=${today}`)).body) as Worklist).total, 4);
    for (const [query, named] of [
      ['?patientName=DOE', 'patientName'],
      ['?status=urgent', 'status'],
      ['?limit=0', 'limit'],
      ['?from=yesterday', 'from'],
      ['?status=analysed&status=failed', 'status'],
    ] as const) {
      const answer = await read(query);
      assert.equal(answer.status, 400, query);
      assert.ok(answer.body.includes(named), answer.body);
    }
  });

  it('an answer is a notice, and the answered study leaves the prioritised rows', async () => {
    const before = JSON.parse((await read()).body) as Worklist;
    const first = before.rows[0]!;
    const events = await openEvents(`${base}/api/worklist/events`, cookie);
    // A second session's stream ends with its logout: it hears no more notices.
    const other = await httpCall(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'rita', password: PASSWORD }),
    });
    const otherCookie = cookieOf(other);
    const loggedOut = await openEvents(`${base}/api/worklist/events`, otherCookie);
    const logout = await httpCall(`${base}/api/logout`, {
      method: 'POST',
      headers: {
        cookie: otherCookie,
        'x-csrf-token': (JSON.parse(other.body) as { csrfToken: string }).csrfToken,
      },
    });
    assert.equal(logout.status, 200, logout.body);
    const [id, version] = first.model.split('@') as [string, string];
    const posted = await httpCall(`${base}/api/feedback`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify(
        feedbackAnswer({
          studyKey: first.studyKey,
          model: { id, version },
          finding: {
            code: '233604007',
            scheme: 'SCT',
            meaning: first.finding!.meaning,
            labelId: first.finding!.label,
          },
          aiCall: first.actionable ? 'positive' : 'negative',
        }),
      ),
    });
    assert.equal(posted.status, 201, posted.body);
    await waitFor('the answer notice', async () =>
      /"kind":"answer"/.test(events.text()) ? true : undefined,
    );
    events.close();
    await waitFor('the logged-out stream ended', () => loggedOut.ended() || undefined);
    assert.doesNotMatch(loggedOut.text(), /"kind":"answer"/);
    const after = JSON.parse((await read()).body) as Worklist;
    const moved = after.rows.find((r) => r.studyKey === first.studyKey)!;
    assert.equal(moved.status, 'answered');
    assert.equal(moved.reason.code, 'answered');
    assert.equal(after.rows.at(-1)!.studyKey, first.studyKey);
    assert.equal((JSON.parse((await read('?status=answered')).body) as Worklist).total, 1);
  });

  it('each read is in the audit log by route and parameter names, with no values or UIDs', async () => {
    const log = await readFile(auditLogPath(data), 'utf8');
    const reads = log
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; subject: string; details: unknown })
      .filter((entry) => entry.action === 'http.readWorklist');
    assert.ok(reads.length >= 10, `${reads.length} worklist reads recorded`);
    assert.ok(reads.every((entry) => entry.subject === '/api/worklist'));
    assert.ok(reads.some((entry) => JSON.stringify(entry.details).includes('"limit"')));
    assert.doesNotMatch(log, /DOE/);
    for (const uid of arrivalOrder) assert.ok(!log.includes(uid), 'no study UID in the audit log');
  });
});
