import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitedLog, createLogger, scrub, uidTag } from './log.js';

test('log lines are JSON with time, level and event; UIDs in messages become tags', () => {
  const lines: string[] = [];
  const logger = createLogger(
    (line) => lines.push(line),
    () => new Date('2026-01-02T03:04:05.000Z'),
  );
  const uid = '1.2.826.0.1.3680043.8.498.12345';
  logger.error('job-failed', {
    job: 3,
    error: scrub(`cannot read ${uid}/SR_${uid}.dcm from 10.0.0.1`),
  });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith('\n'));
  const line = JSON.parse(lines[0]!);
  assert.deepEqual(line, {
    time: '2026-01-02T03:04:05.000Z',
    level: 'error',
    event: 'job-failed',
    job: 3,
    error: `cannot read uid:${uidTag(uid)}/SR_uid:${uidTag(uid)}.dcm from 10.0.0.1`,
  });
  assert.ok(!lines[0]!.includes(uid));
  assert.match(uidTag(uid), /^[0-9a-f]{12}$/);
  assert.equal(
    scrub('model cxr-pneumonia@1.2.0 on 127.0.0.1'),
    'model cxr-pneumonia@1.2.0 on 127.0.0.1',
  );
});

test('a condition that repeats is logged once per interval, with the count left out', () => {
  const lines: string[] = [];
  let now = 0;
  const limited = new RateLimitedLog(
    createLogger((line) => lines.push(line)),
    60_000,
    () => now,
  );
  for (let i = 0; i < 6400; i++) {
    now = i * 9; // 6,400 failures in under a minute
    limited.log('error', 'stability-check-failed', { error: 'E_STORE: disk full' });
  }
  limited.log('warn', 'other-condition');
  assert.equal(lines.length, 2);
  now = 60_000;
  limited.log('error', 'stability-check-failed', { error: 'E_STORE: disk full' });
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(records[0]!['suppressed'], undefined);
  assert.equal(records[2]!['event'], 'stability-check-failed');
  assert.equal(records[2]!['suppressed'], 6399);
});

test('stack frames never reach a record below debug level; debug records are off by default', () => {
  const lines: string[] = [];
  const logger = createLogger((line) => lines.push(line));
  const error = new RangeError('The value of "value" is out of range. Received 257');
  logger.error('http-error', { error: String(error.stack) });
  logger.log('debug', 'http-error-stack', { stack: String(error.stack) });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!) as { error: string };
  assert.equal(record.error, 'RangeError: The value of "value" is out of range. Received 257');
  assert.doesNotMatch(lines[0]!, /\bat\s/);
  const debug: string[] = [];
  createLogger((line) => debug.push(line), undefined, 'debug').log('debug', 'x', {
    stack: String(error.stack),
  });
  assert.match(debug[0]!, /\\n\s+at /);
});
