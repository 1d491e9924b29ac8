import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import type { ArrivingPart } from '../postgres/index.js';
import { InstanceStore, StudyStabilityTimer } from '../store/index.js';
import { syntheticInstance, syntheticUids } from '../../../test/support/store.js';
import { waitFor } from '../../../test/support/node.js';
import { createLogger } from './log.js';
import { StudyPartReports } from './studyParts.js';

async function withReports(
  report: (parts: readonly ArrivingPart[]) => Promise<void>,
  run: (parts: {
    store: InstanceStore;
    reports: StudyPartReports;
    lines: string[];
  }) => Promise<void>,
  before?: (store: InstanceStore) => Promise<void>,
  reportEveryMs = 2_000,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-parts-'));
  const store = InstanceStore.open(dir);
  const lines: string[] = [];
  await before?.(store);
  const reports = new StudyPartReports({
    store,
    timer: new StudyStabilityTimer(store, { quietPeriodMs: 60_000 }),
    report,
    sweep: () => Promise.resolve(0),
    logger: createLogger((line) => lines.push(line)),
    reportEveryMs,
    sweepEveryMs: 3_600_000,
  });
  try {
    reports.start();
    await run({ store, reports, lines });
  } finally {
    await reports.stop();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const receive = (store: InstanceStore, study: string, instance: string): Promise<unknown> =>
  store.storeInstance(syntheticInstance({ study, instance }), { source: `${study}/${instance}` });

test('a study’s first instance is reported at once; what arrives in the next interval goes in one report', async () => {
  const reported: ArrivingPart[][] = [];
  await withReports(
    async (parts) => void reported.push([...parts]),
    async ({ store }) => {
      // Started just now: the first report waits for the interval from the start.
      await new Promise((r) => setTimeout(r, 2_100));
      const started = performance.now();
      await receive(store, 's1', '1');
      await waitFor('the first report', () => reported.length === 1, 1_500, 10);
      assert.ok(performance.now() - started < 1_500, 'not held for the 2 s interval');
      assert.deepEqual(
        reported[0]!.map((p) => [p.studyInstanceUid, p.instances]),
        [[syntheticUids('s1', '1').studyInstanceUid, 1]],
      );
      await receive(store, 's1', '2');
      await receive(store, 's2', '1');
      await receive(store, 's1', '3');
      await waitFor('the second report', () => reported.length === 2, 5_000, 10);
      assert.ok(performance.now() - started >= 1_900, 'no sooner than the interval');
      assert.deepEqual(
        reported[1]!.map((p) => [p.studyInstanceUid, p.instances]).sort(),
        [
          [syntheticUids('s1', '1').studyInstanceUid, 3],
          [syntheticUids('s2', '1').studyInstanceUid, 1],
        ].sort(),
      );
    },
  );
});

test('while the database is away ingest goes on and the parts are reported when it answers; undeclared studies are reported at start', async () => {
  const reported: ArrivingPart[][] = [];
  let away = true;
  await withReports(
    async (parts) => {
      if (away) {
        throw new RadiolensError('E_DATABASE', 'the database is away — start it');
      }
      reported.push([...parts]);
    },
    async ({ store, reports, lines }) => {
      // An undeclared study from before the start is reported (it fails: the database is away).
      assert.equal(await reports.flush(), 0);
      await receive(store, 's4', '1');
      assert.equal(await reports.flush(), 0);
      assert.equal(
        lines.filter((l) => l.includes('"study-parts-unreported"')).length,
        1,
        'said once, not at every try',
      );
      assert.equal(store.studyInstances(syntheticUids('s4', '1').studyInstanceUid).length, 1);
      away = false;
      assert.equal(await reports.flush(), 2);
      assert.deepEqual(
        reported
          .at(-1)!
          .map((p) => p.studyInstanceUid)
          .sort(),
        [syntheticUids('s3', '1').studyInstanceUid, syntheticUids('s4', '1').studyInstanceUid],
      );
      assert.ok(lines.some((l) => l.includes('"study-parts-reported"')));
    },
    async (store) => {
      await receive(store, 's3', '1');
    },
    // Reported by hand here, never by the timer.
    3_600_000,
  );
});
