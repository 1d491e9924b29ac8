import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sharedDir } from '../../../test/support/index.js';
import { buildValidationReport, readValidationLabels, writeValidationReport } from './index.js';

const nihLabels = join(sharedDir, 'data', 'cxr-site-nih', 'labels.csv');

describe('readValidationLabels', () => {
  it('reads the NIH site labels: truth per label, image resolved against the CSV', () => {
    const images = readValidationLabels(nihLabels, { labels: ['pneumonia'] });
    assert.equal(images.length, 576);
    assert.equal(images.filter((i) => i.truth.pneumonia === 1).length, 300);
    assert.equal(images[0]!.image, 'images/00000061_012.png');
    assert.equal(
      images[0]!.imagePath,
      join(sharedDir, 'data', 'cxr-site-nih', 'images', '00000061_012.png'),
    );
    // patient_id/follow_up have too many values; finding restates the label: no automatic subgroups.
    assert.deepEqual(images[0]!.subgroups, {});
  });

  it('uses named subgroup columns', () => {
    const images = readValidationLabels(nihLabels, {
      labels: ['pneumonia'],
      subgroups: ['follow_up'],
    });
    assert.equal(images[0]!.subgroups.follow_up, '012');
  });

  describe('with a hand-made file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'radiolens-labels-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };

    it('picks up low-cardinality columns as subgroups automatically', () => {
      const path = file('a.csv', 'image,nodule,sex,site\na.png,1,F,x\nb.png,0,M,x\nc.png,0,F,y\n');
      assert.deepEqual(readValidationLabels(path, { labels: ['nodule'] })[0]!.subgroups, {
        sex: 'F',
        site: 'x',
      });
    });

    it('rejects a non-0/1 label, a missing label column, and an empty image', () => {
      const bad = file('b.csv', 'image,nodule\na.png,yes\n');
      assert.throws(
        () => readValidationLabels(bad, { labels: ['nodule'] }),
        /data row 1: label "nodule" is "yes"; it must be 1/,
      );
      assert.throws(() => readValidationLabels(bad, { labels: ['mass'] }), /no column "mass"/);
      const empty = file('c.csv', 'image,nodule\n,1\n');
      assert.throws(
        () => readValidationLabels(empty, { labels: ['nodule'] }),
        /the image column is empty/,
      );
    });

    it('writes report.json and report.html', async () => {
      const rows = Array.from({ length: 20 }, (_, i) => ({
        image: `${i}.png`,
        truth: { nodule: (i % 2) as 0 | 1 },
        score: { nodule: (i % 2) * 0.5 + (i % 5) / 10 },
        subgroups: {},
      }));
      const report = buildValidationReport({
        model: {
          id: 'm',
          version: '1',
          name: 'M',
          intendedUse: 'test',
          labels: [{ id: 'nodule', meaning: 'Nodule', threshold: 0.5 }],
        },
        rows,
        options: { bootstrapResamples: 100, bandResamples: 100 },
      });
      const paths = await writeValidationReport(join(dir, 'out'), report);
      assert.equal(JSON.parse(readFileSync(paths.json, 'utf8')).cases.length, 20);
      assert.match(readFileSync(paths.html, 'utf8'), /<svg /);
    });
  });
});
