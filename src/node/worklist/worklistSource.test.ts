/**
 * The worklist's entries from a real node database: the analysis log, the job queue, the
 * instance store and the answers, as the node writes them.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { syntheticInstance } from '../../../test/support/store.js';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { FeedbackStore } from '../feedback/index.js';
import { JobQueue } from '../queue/index.js';
import { AnalysisLog } from '../service/analysisLog.js';
import { InstanceStore, openNodeDatabase } from '../store/index.js';
import { WorklistSource } from './worklistSource.js';

it('latest live analysis per study and model id, failures until a success, answers, no shadow', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-worklist-source-'));
  const data = join(dir, 'data');
  const db = openNodeDatabase(data);
  try {
    const store = InstanceStore.onDatabase(data, db);
    const uids: string[] = [];
    for (const study of ['a', 'b', 'c']) {
      const stored = await store.storeInstance(syntheticInstance({ study, instance: '1' }), {
        source: 'test',
      });
      uids.push(stored.instance.studyInstanceUid);
      await new Promise((r) => setTimeout(r, 5));
    }
    const [a, b, c] = uids as [string, string, string];
    const log = new AnalysisLog(db);
    const summary = async (name: string, probability: number): Promise<string> => {
      await mkdir(join(data, 'results', name), { recursive: true });
      const findings = [
        {
          sopInstanceUid: '1.2',
          label: 'pneumonia',
          code: { meaning: 'Pneumonia' },
          probability,
          threshold: 0.5,
          ood: null,
        },
      ];
      await writeFile(
        join(data, 'results', name, 'analysis.json'),
        JSON.stringify({ findings, warnings: [] }),
      );
      return join('results', name, 'analysis.json');
    };
    const entry = (
      jobId: number,
      studyInstanceUid: string,
      model: string,
      mode: 'clinical' | 'shadow',
      summaryPath: string,
    ) =>
      log.record({
        jobId,
        studyInstanceUid,
        accessionNumber: null,
        model,
        mode,
        completedAt: jobId * 1000,
        summaryPath,
      });
    entry(1, a, 'cxr-pneumonia@1.0.0', 'clinical', await summary('1', 0.9));
    entry(2, a, 'cxr-pneumonia@1.2.0', 'clinical', await summary('2', 0.3)); // replaces job 1
    entry(3, a, 'cxr-pneumonia@2.0.0', 'shadow', await summary('3', 0.99)); // never listed
    entry(4, b, 'cxr-pneumonia@1.2.0', 'clinical', 'results/missing/analysis.json');
    // Study c: one failed job of the live model, and one of a model that later succeeded.
    const queue = new JobQueue(db, { leaseMs: 10_000 });
    const failJob = (key: string, study: string, model: string, payload = {}): void => {
      queue.enqueue({ key, studyInstanceUid: study, model, maxAttempts: 1, payload });
      const claimed = queue.claim('w')!;
      assert.equal(queue.fail(claimed, 'broken'), 'failed');
    };
    failJob('c|cxr-pneumonia', c, 'cxr-pneumonia');
    failJob('c|cxr-pneumonia|shadow', c, 'other@1.0.0', { shadow: true });
    failJob('b|cxr-pneumonia', b, 'cxr-pneumonia@1.1.0');
    const keyOf = (uid: string): string => `key-${uids.indexOf(uid)}-abcdef`;
    new FeedbackStore(db).record(
      feedbackAnswer({ studyKey: keyOf(a), model: { id: 'cxr-pneumonia', version: '1.2.0' } }),
      'rita',
    );
    const entries = new WorklistSource(db, { dataDir: data, studyKeyOf: keyOf }).entries();
    const arrival = (uid: string): number =>
      (
        db
          .prepare('SELECT MIN(received_at) AS t FROM instances WHERE study_instance_uid = ?')
          .get(uid) as { t: number }
      ).t;
    assert.deepEqual(
      entries.map((e) => [
        e.studyKey,
        e.model,
        e.status,
        e.finding?.probability ?? null,
        e.arrivedAt,
      ]),
      [
        [keyOf(a), 'cxr-pneumonia@1.2.0', 'answered', 0.3, arrival(a)],
        // An unreadable summary: listed, with no finding to place it by.
        [keyOf(b), 'cxr-pneumonia@1.2.0', 'analysed', null, arrival(b)],
        [keyOf(c), 'cxr-pneumonia', 'failed', null, arrival(c)],
      ],
    );
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('a node on a shared database (its job queue in PostgreSQL, no jobs table here) lists its analyses', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-worklist-shared-'));
  const data = join(dir, 'data');
  const db = openNodeDatabase(data);
  try {
    const store = InstanceStore.onDatabase(data, db);
    const { instance } = await store.storeInstance(
      syntheticInstance({ study: 'shared', instance: '1' }),
      { source: 'test' },
    );
    await mkdir(join(data, 'results', '7'), { recursive: true });
    await writeFile(
      join(data, 'results', '7', 'analysis.json'),
      JSON.stringify({
        findings: [
          {
            sopInstanceUid: instance.sopInstanceUid,
            label: 'pneumonia',
            code: { meaning: 'Pneumonia' },
            probability: 0.8,
            threshold: 0.5,
            ood: null,
          },
        ],
        warnings: [],
        caveats: [],
      }),
    );
    new AnalysisLog(db).record({
      jobId: 7,
      studyInstanceUid: instance.studyInstanceUid,
      accessionNumber: null,
      model: 'cxr-pneumonia@1.2.0',
      mode: 'clinical',
      completedAt: 1000,
      summaryPath: join('results', '7', 'analysis.json'),
    });
    assert.equal(
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").get(),
      undefined,
      'no job queue in this database',
    );
    const source = new WorklistSource(db, { dataDir: data, studyKeyOf: () => 'key' });
    const entries = source.entries();
    // An answer given on another ingest node (the answers are in PostgreSQL, ADR 0188): the
    // study shows answered here though this node database has no answer.
    assert.deepEqual(
      source.entries(new Set(['key|cxr-pneumonia'])).map((e) => e.status),
      ['answered'],
    );
    assert.deepEqual(
      entries.map((e) => [e.model, e.status, e.finding?.probability ?? null]),
      [['cxr-pneumonia@1.2.0', 'analysed', 0.8]],
    );
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
