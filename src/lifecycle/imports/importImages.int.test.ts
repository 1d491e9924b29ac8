import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicom, decodeFrame } from '../../foundation/dicom/index.js';
import { dciodvfy, repoRoot, sharedDir } from '../../../test/support/index.js';
import { importImages } from './index.js';

test('PNG and JPEG radiographs become dciodvfy-clean CR images with the same pixels and stable UIDs', async () => {
  const out = await mkdtemp(join(tmpdir(), 'radiolens-import-'));
  try {
    const jpeg = join(sharedDir, 'data', 'cxr-train-kermany', 'images', 'IM-0117-0001.jpg');
    const csv = join(out, 'list.csv');
    await writeFile(
      csv,
      `image,patient_id\n${join(repoRoot, 'samples', 'cxr', '00000061_012.png')},61\n${jpeg},117\n`,
    );
    const first = await importImages(csv, {
      outDir: join(out, 'a'),
      bodyPart: 'CHEST',
      patientIdColumn: 'patient_id',
    });
    assert.deepEqual(first.problems, []);
    assert.equal(first.imported.length, 2);
    for (const entry of first.imported) {
      const bytes = await readFile(entry.dicom);
      const check = dciodvfy(bytes);
      assert.deepEqual(check.errors, [], check.text);
      const instance = parseDicom(bytes, entry.dicom);
      assert.equal(instance.dataset['Modality'], 'CR');
      assert.equal(instance.dataset['PhotometricInterpretation'], 'MONOCHROME2');
      assert.equal(instance.studyInstanceUid, entry.studyInstanceUid);
      const frame = await decodeFrame(instance, 0);
      assert.equal(frame.pixels.length, frame.rows * frame.columns);
    }
    const jpegDataset = parseDicom(await readFile(first.imported[1]!.dicom), 'jpeg').dataset;
    assert.equal(jpegDataset['LossyImageCompression'], '01', 'a JPEG source is declared lossy');
    const again = await importImages(csv, {
      outDir: join(out, 'b'),
      bodyPart: 'CHEST',
      patientIdColumn: 'patient_id',
    });
    assert.deepEqual(
      again.imported.map((e) => e.sopInstanceUid),
      first.imported.map((e) => e.sopInstanceUid),
      're-import gives the same UIDs',
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a file that is neither PNG nor JPEG is reported by name and skipped', async () => {
  const out = await mkdtemp(join(tmpdir(), 'radiolens-import-'));
  try {
    await writeFile(join(out, 'bad.png'), 'not an image');
    const report = await importImages(out, { outDir: join(out, 'dicom'), bodyPart: 'CHEST' });
    assert.equal(report.imported.length, 0);
    assert.match(report.problems[0]!.error, /bad\.png/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
