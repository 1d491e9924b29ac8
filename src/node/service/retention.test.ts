/**
 * Retention on the embedded node (ADR 0189): its SQLite queue and outbox lose done jobs and
 * delivered entries past their age, in batches, and keep everything else (failed jobs are the
 * worklist's record there; failed entries wait to be requeued). The config section's defaults
 * and refusals, and the schedule's log lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, parseDestination } from '../delivery/index.js';
import { JobQueue } from '../queue/index.js';
import { openNodeDatabase } from '../store/index.js';
import { loadNodeConfig } from './config.js';
import { createLogger } from './log.js';
import { RETENTION_DEFAULTS, RetentionSchedule, embeddedPrune } from './retention.js';

const DAY = 86_400_000;

test('the embedded node prunes done jobs and delivered entries past their age, in batches, and keeps the rest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-retention-'));
  const db = openNodeDatabase(dir);
  try {
    const now = Date.now();
    let t = now - 40 * DAY;
    const queue = new JobQueue(db, { now: () => t });
    const outbox = new Outbox(db, { now: () => t });
    const finish = (key: string, outcome: 'done' | 'failed'): void => {
      queue.enqueue({ key, studyInstanceUid: key, model: 'm', maxAttempts: 1 });
      const claimed = queue.claim('w')!;
      if (outcome === 'done') queue.complete(claimed, {});
      else queue.fail(claimed, 'broken');
    };
    const destination = parseDestination('file:///tmp/radiolens-retention');
    const send = (key: string, outcome: 'delivered' | 'rejected'): void => {
      outbox.enqueue([
        { destination, key, payload: { kind: 'fhir-bundle', file: '/x', studyInstanceUid: key } },
      ]);
      const [claimed] = outbox.claimDue(1);
      outbox.settle(
        claimed!,
        outcome === 'delivered' ? { status: 'delivered' } : { status: 'rejected', reason: 'no' },
      );
    };
    for (let i = 0; i < 7; i++) finish(`old-done-${i}`, 'done');
    finish('old-failed', 'failed');
    for (let i = 0; i < 5; i++) send(`old-delivered-${i}`, 'delivered');
    send('old-rejected', 'rejected');
    t = now - 10 * DAY;
    finish('young-done', 'done');
    send('young-delivered', 'delivered');
    t = now - 40 * DAY;
    queue.enqueue({ key: 'old-queued', studyInstanceUid: 'q', model: 'm' });

    const prune = embeddedPrune(queue, outbox, { ...RETENTION_DEFAULTS, batchSize: 3 }, () => now);
    const summary = await prune();
    assert.deepEqual(summary.removed, { doneJobs: 7, failedJobs: 0, deliveredOutbox: 5 });
    const jobs = db.prepare('SELECT key, state FROM jobs ORDER BY key').all();
    assert.deepEqual(jobs, [
      { key: 'old-failed', state: 'failed' },
      { key: 'old-queued', state: 'queued' },
      { key: 'young-done', state: 'done' },
    ]);
    const entries = outbox.entries().map((e) => `${e.key}:${e.state}`);
    assert.deepEqual(entries.sort(), ['old-rejected:failed', 'young-delivered:delivered']);
    assert.deepEqual((await prune()).removed, { doneJobs: 0, failedJobs: 0, deliveredOutbox: 0 });
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('retention settings: defaults, the file overrides one at a time, nonsense refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-retention-config-'));
  try {
    assert.deepEqual(loadNodeConfig({}, '/m').retention, {
      doneJobsDays: 30,
      deliveredOutboxDays: 30,
      failedJobsDays: 90,
      unreadJobsDays: 90,
      intervalMinutes: 60,
      batchSize: 5000,
    });
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ retention: { doneJobsDays: 7, intervalMinutes: 15 } }));
    const config = loadNodeConfig({ config: file }, '/m').retention;
    assert.equal(config.doneJobsDays, 7);
    assert.equal(config.intervalMinutes, 15);
    assert.equal(config.deliveredOutboxDays, 30);
    await writeFile(file, JSON.stringify({ retention: { doneJobsDays: 0 } }));
    assert.throws(
      () => loadNodeConfig({ config: file }, '/m'),
      /doneJobsDays is a number of days above 0/,
    );
    await writeFile(file, JSON.stringify({ retention: { keepForever: true } }));
    assert.throws(() => loadNodeConfig({ config: file }, '/m'), /keepForever/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the schedule logs what a run removed, what it removed unread and what it kept, and survives a failing run', async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  let calls = 0;
  const schedule = new RetentionSchedule(
    async () => {
      calls += 1;
      if (calls === 2) throw new Error('E_DATABASE: connection lost');
      return {
        ran: true,
        removed: { doneJobs: 4, failedJobs: 0, deliveredOutbox: 8 },
        removedUnread: { 'ingest-old': { jobs: 2, from: 0, to: DAY } },
        keptUnread: { 'ingest-b': { jobs: 3, from: DAY, to: 2 * DAY } },
      };
    },
    { intervalMinutes: 60, logger },
  );
  await schedule.runOnce();
  await schedule.runOnce();
  const events = lines.map((l) => `${String(l['level'])}:${String(l['event'])}`);
  assert.deepEqual(events, [
    'info:retention-pruned',
    'error:retention-removed-unread',
    'warn:retention-kept-unread',
    'warn:retention-failed',
  ]);
  assert.equal(lines[0]!['deliveredOutbox'], 8);
  assert.equal(lines[1]!['node'], 'ingest-old');
  await schedule.stop();
});

test('the schedule logs the result files a run removed, also when no row went (ADR 0193)', async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const schedule = new RetentionSchedule(
    async () => ({
      ran: true,
      removed: { doneJobs: 0, failedJobs: 0, deliveredOutbox: 0 },
      resultFiles: { jobs: 2, files: 12, bytes: 34_000_000 },
      removedUnread: {},
      keptUnread: {},
    }),
    { intervalMinutes: 60, logger },
  );
  await schedule.runOnce();
  assert.deepEqual(
    lines.map((l) => [l['event'], l['resultFiles'], l['resultBytes']]),
    [['retention-pruned', 12, 34_000_000]],
  );
  await schedule.stop();
});
