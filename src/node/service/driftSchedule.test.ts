import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriftSchedule, type DriftCheckOutcome } from './driftSchedule.js';
import { createLogger } from './log.js';

const outcome = (drift: boolean): DriftCheckOutcome => ({
  model: 'cxr@1.2.0',
  drift,
  features: drift ? ['pixel mean'] : [],
  windowImages: 120,
  report: '/data/monitoring/cxr@1.2.0/report.html',
});

test('drift that persists raises one alert (log, /health, webhook) and its clearing is said too', async (t) => {
  const posts: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      posts.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const sequence = [false, true, true, true, false];
  let run = 0;
  const lines: string[] = [];
  const schedule = new DriftSchedule({
    check: () => Promise.resolve([outcome(sequence[run++]!)]),
    intervalMs: 60_000,
    persistence: 2,
    webhook,
    logger: createLogger((line) => lines.push(line)),
    now: () => new Date('2026-12-01T00:00:00Z'),
  });
  const events = (): string[] => lines.map((l) => JSON.parse(l).event as string);

  await schedule.runNow();
  await schedule.runNow();
  assert.deepEqual(events(), ['drift-check', 'drift-detected'], 'one drifting run is not an alert');
  assert.equal(schedule.health().alerts, 0);
  await schedule.runNow();
  assert.equal(events().at(-1), 'drift-alert');
  const health = schedule.health();
  assert.equal(health.alerts, 1);
  assert.deepEqual(
    { ...health.models['cxr@1.2.0'], checkedAt: 'x' },
    {
      drift: true,
      consecutive: 2,
      alert: true,
      features: ['pixel mean'],
      windowImages: 120,
      report: '/data/monitoring/cxr@1.2.0/report.html',
      checkedAt: 'x',
    },
  );
  await schedule.runNow();
  assert.equal(events().at(-1), 'drift-alert', 'logged while it stands');
  await schedule.runNow();
  assert.deepEqual(events().slice(-2), ['drift-check', 'drift-cleared']);
  assert.deepEqual(
    posts.map((p) => [p['event'], p['consecutiveRuns']]),
    [
      ['drift-alert', 2],
      ['drift-cleared', 0],
    ],
    'the webhook hears the start and the end of the alert, once each',
  );
  await schedule.stop();
});

test('a failing check is logged and shown, and an unreachable webhook does not stop the monitor', async () => {
  const lines: string[] = [];
  let fail = true;
  const schedule = new DriftSchedule({
    check: () =>
      fail ? Promise.reject(new Error('database locked')) : Promise.resolve([outcome(true)]),
    intervalMs: 60_000,
    persistence: 1,
    webhook: 'http://127.0.0.1:1/unreachable',
    logger: createLogger((line) => lines.push(line)),
  });
  await schedule.runNow();
  assert.equal(schedule.health().lastError, 'database locked');
  fail = false;
  await schedule.runNow();
  const events = lines.map((l) => JSON.parse(l).event as string);
  assert.deepEqual(events, ['drift-check-failed', 'drift-alert', 'drift-webhook-failed']);
  assert.equal(schedule.health().alerts, 1);
});
