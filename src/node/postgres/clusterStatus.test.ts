import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatClusterStatus, type ClusterStatus } from './clusterStatus.js';

const AT = Date.parse('2026-12-03T12:00:00Z');

test('the status table names each node with its state, last beat and lease, then the queue and outbox', () => {
  const status: ClusterStatus = {
    at: AT,
    schemaVersion: 2,
    nodes: [
      {
        nodeId: 'serve@ingest-a',
        role: 'serve',
        host: 'ingest-a',
        pid: 101,
        startedAt: AT - 3_600_000,
        heartbeatAt: AT - 4_000,
        leaseExpiresAt: AT + 26_000,
        stoppedAt: null,
        resultsReadTo: AT - 610_000,
        state: 'live',
      },
      {
        nodeId: 'worker@gpu-1',
        role: 'worker',
        host: 'gpu-1',
        pid: 202,
        startedAt: AT - 7_200_000,
        heartbeatAt: AT - 125_000,
        leaseExpiresAt: AT - 95_000,
        stoppedAt: null,
        resultsReadTo: null,
        state: 'expired',
      },
    ],
    jobs: {
      queued: 12,
      running: 3,
      done: 9000,
      failed: 2,
      oldestQueuedAgeMs: 90_000,
      expiredLeases: 1,
      oldestDoneAgeMs: 30 * 86_400_000 + 3_600_000,
    },
    outbox: {
      pending: 7,
      failing: 4,
      delivered: 18000,
      failed: 0,
      oldestPendingAgeMs: 5_400_000,
      oldestDeliveredAgeMs: 29.5 * 86_400_000,
    },
    retention: {
      nodeId: 'serve@ingest-a',
      finishedAt: AT - 1_200_000,
      policy: { doneJobsDays: 30, deliveredOutboxDays: 30, failedJobsDays: 90, unreadJobsDays: 90 },
      removed: { doneJobs: 4100, failedJobs: 1, deliveredOutbox: 8200 },
      removedUnread: {
        'serve@ingest-old': { jobs: 3, from: AT - 100 * 86_400_000, to: AT - 95 * 86_400_000 },
      },
    },
  };
  const text = formatClusterStatus(status);
  assert.match(text, /^schema version 2; database clock 2026-12-03T12:00:00\.000Z/);
  assert.match(
    text,
    /serve@ingest-a\s+serve\s+live\s+ingest-a:101\s+4\.0 s ago\s+26\.0 s left\s+10\.2 min ago/,
  );
  assert.match(text, /worker@gpu-1\s+worker\s+expired\s+gpu-1:202\s+2\.1 min ago\s+-/);
  assert.match(
    text,
    /jobs\s+queued 12\s+running 3 \(1 with an expired lease\)\s+done 9000\s+failed 2\s+oldest queued 1\.5 min\s+oldest done 30\.0 d/,
  );
  assert.match(
    text,
    /outbox\s+pending 7 \(4 retrying\)\s+delivered 18000\s+failed 0\s+oldest pending 1\.5 h\s+oldest delivered 29\.5 d/,
  );
  assert.match(
    text,
    /retention\s+done jobs 30 d, delivered 30 d, failed jobs 90 d, unread 90 d; failed outbox entries kept until requeued/,
  );
  assert.match(
    text,
    /last prune 20\.0 min ago by serve@ingest-a: removed 4100 done jobs, 1 failed jobs, 8200 delivered entries; removed unread: serve@ingest-old 3/,
  );
});

test('an empty cluster says so', () => {
  const text = formatClusterStatus({
    at: AT,
    schemaVersion: 2,
    nodes: [],
    jobs: {
      queued: 0,
      running: 0,
      done: 0,
      failed: 0,
      oldestQueuedAgeMs: null,
      expiredLeases: 0,
      oldestDoneAgeMs: null,
    },
    outbox: {
      pending: 0,
      failing: 0,
      delivered: 0,
      failed: 0,
      oldestPendingAgeMs: null,
      oldestDeliveredAgeMs: null,
    },
    retention: null,
  });
  assert.match(text, /\(no node has joined\)/);
  assert.match(text, /oldest queued -/);
  assert.match(text, /oldest done -/);
  assert.match(text, /retention\s+no prune has run yet/);
});
