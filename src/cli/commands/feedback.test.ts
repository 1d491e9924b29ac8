/**
 * `radiolens feedback export` fed straight into the readers of `radiolens validate` and
 * `radiolens stats mrmc`: the export is only useful if those accept it unchanged.
 */
import assert from 'node:assert/strict';
import { readFile, rm, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readValidationLabels } from '../../lifecycle/validation/index.js';
import { FeedbackStore } from '../../node/feedback/index.js';
import { InstanceStore } from '../../node/store/index.js';
import { feedbackAnswer } from '../../../test/support/feedback.js';
import { syntheticInstance, syntheticUids } from '../../../test/support/store.js';
import { AuditLog, verifyAuditLog } from '../../foundation/audit/index.js';
import { auditLogPath } from '../../node/access/index.js';
import { runFeedbackExport } from './feedback.js';
import { runStatsMrmc } from './stats.js';

/** A data directory with `cases` stored images and two readers' answers on each. */
async function withAnswers(run: (dir: string, sops: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-feedback-export-'));
  const store = InstanceStore.open(dir);
  try {
    const sops: string[] = [];
    for (let i = 0; i < 8; i++) {
      await store.storeInstance(syntheticInstance({ study: `s${i}`, instance: '1' }), {
        source: `case ${i}`,
      });
      sops.push(syntheticUids(`s${i}`, '1').sopInstanceUid);
    }
    const feedback = new FeedbackStore(store.db);
    sops.forEach((sop, i) => {
      const probability = 0.1 + 0.1 * i;
      const aiCall = probability >= 0.5 ? 'positive' : 'negative';
      // Reader a corrects the AI on cases 3 (missed) and 4 (false alarm); reader b is
      // uncertain on case 0, wrongly overrules the AI on case 6 and agrees otherwise.
      const a =
        i === 3
          ? { answer: 'disagree' as const, correctLabel: 'pneumonia' }
          : i === 4
            ? { answer: 'disagree' as const, correctLabel: 'none' }
            : { answer: 'agree' as const };
      const b =
        i === 0
          ? { answer: 'uncertain' as const }
          : i === 6
            ? { answer: 'disagree' as const, correctLabel: 'none' }
            : { answer: 'agree' as const };
      for (const [user, answer] of [
        ['reader-a', a],
        ['reader-b', b],
      ] as const) {
        feedback.record(
          feedbackAnswer({
            sourceSopInstanceUid: sop,
            probability,
            aiCall,
            timeToAnswerMs: 3000 + 100 * i,
            ...answer,
          }),
          user,
          1000 + i,
        );
      }
    });
    await run(dir, sops);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('radiolens feedback export', () => {
  it('--format validate writes labels that readValidationLabels reads, pointing at the stored images', async () => {
    await withAnswers(async (dir, sops) => {
      const out = join(dir, 'exports', 'labels.csv');
      const result = await runFeedbackExport({ data: dir, out });
      // Cases 3, 4 and 6: the readers disagree (a tie) → left out.
      assert.equal(result.rows, 5);
      // The export is an audit record, in an intact chain.
      const audit = new AuditLog(auditLogPath(dir));
      const [record] = await audit.entries();
      assert.equal(record?.action, 'feedback.export');
      assert.deepEqual(record?.details, { rows: 5 });
      assert.equal((await verifyAuditLog(audit.path)).ok, true);
      const images = readValidationLabels(out, { labels: ['pneumonia'] });
      assert.equal(images.length, 5);
      const store = InstanceStore.open(dir);
      try {
        for (const image of images) {
          const stored = sops
            .map((s) => store.findInstance(s)!)
            .find((r) => join(dir, r.path) === image.imagePath);
          assert.ok(stored, `${image.image} is a stored object`);
          const i = sops.indexOf(stored.sopInstanceUid);
          assert.equal(image.truth['pneumonia'], 0.1 + 0.1 * i >= 0.5 ? 1 : 0, `case ${i}`);
          assert.deepEqual(
            await readFile(image.imagePath),
            Buffer.from(await store.readInstanceBytes(stored)),
          );
        }
      } finally {
        store.close();
      }
    });
  });

  it('--format mrmc writes readings that stats mrmc analyses: the AI alone against the radiologists', async () => {
    await withAnswers(async (dir, sops) => {
      const truthCsv = join(dir, 'truth.csv');
      // Reference standard: cases 3, 5, 6 and 7 positive (the AI ranks case 4 above 3).
      await writeFile(
        truthCsv,
        `case,truth\n${sops.map((s, i) => `${s},${[3, 5, 6, 7].includes(i) ? 1 : 0}`).join('\n')}\n`,
      );
      const out = join(dir, 'mrmc.csv');
      const result = await runFeedbackExport({ data: dir, out, format: 'mrmc', truth: truthCsv });
      assert.equal(result.rows, 8 * 2 * 2);
      const stats = runStatsMrmc({
        csv: out,
        reader: 'reader',
        case: 'case',
        modality: 'modality',
        truth: 'truth',
        score: 'score',
        time: 'time_ms',
      });
      const auc = stats.json['reader_auc'] as Record<string, Record<string, number>>;
      assert.deepEqual(Object.keys(auc).sort(), ['ai', 'radiologist']);
      // Reader a corrected the AI on case 3 and so is perfect; b's errors cost AUC.
      assert.equal(auc['radiologist']!['reader-a'], 1);
      assert.ok(auc['radiologist']!['reader-b']! < 1);
      assert.ok(auc['ai']!['reader-a']! < 1);
      assert.match(stats.text, /radiologist/);
    });
  });

  it('refuses an mrmc export without a reference truth, and a data directory without a node', async () => {
    await withAnswers(async (dir) => {
      await assert.rejects(
        runFeedbackExport({ data: dir, out: join(dir, 'x.csv'), format: 'mrmc' }),
        /--truth/,
      );
      await assert.rejects(
        runFeedbackExport({ data: dir, out: join(dir, 'x.csv'), format: 'excel' }),
        /--format/,
      );
    });
    await assert.rejects(
      runFeedbackExport({ data: join(tmpdir(), 'no-such-node'), out: 'x.csv' }),
      /no node database/,
    );
  });
});
