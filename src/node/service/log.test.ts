import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, scrub, uidTag } from './log.js';

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
