import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { deidentifyFiles, folderSink, listInputFiles } from './batch.js';
import { writeTaggedFile } from './dicomIo.js';
import { DeidKeys } from './keys.js';
import { ReidentificationMap } from './reidMap.js';
import { buildEveryAttributeFile } from '../../../test/support/deid.js';

test('a batch reports every file: written, quarantined (why) or failed (clear error), no partial output', async () => {
  const root = await mkdtemp(join(tmpdir(), 'deid-batch-'));
  try {
    const input = join(root, 'in');
    const out = join(root, 'out');
    await mkdir(input);
    await copyFile(join(conformanceDir, 'pydicom-data', 'MR2_UNCR.dcm'), join(input, 'mr.dcm'));
    await copyFile(join(conformanceDir, 'pydicom-data', 'US1_UNCR.dcm'), join(input, 'us.dcm'));
    await copyFile(
      join(conformanceDir, 'pydicom-data', 'JLSL_RGB_ILV0.dcm'),
      join(input, 'raw.dcm'),
    );
    await writeFile(
      join(input, 'notes.txt'),
      'not dicom at all, but long enough to have a preamble '.repeat(4),
    );
    const truncated = writeTaggedFile(buildEveryAttributeFile());
    await writeFile(join(input, 'truncated.dcm'), truncated.subarray(0, 700));
    const noUid = buildEveryAttributeFile();
    delete noUid.dict['0020000D'];
    await writeFile(join(input, 'no-study-uid.dcm'), writeTaggedFile(noUid));

    const map = await ReidentificationMap.open(join(root, 'reid'), 'test');
    const files = await listInputFiles(input);
    let progress = 0;
    const report = await deidentifyFiles(
      files,
      { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 8)) },
      { sink: folderSink(out), map, root: input, onProgress: (done) => (progress = done) },
    );
    assert.equal(progress, 6);
    assert.deepEqual(
      report.instances.map((i) => i.source),
      ['mr.dcm'],
    );
    assert.deepEqual(
      report.quarantined.map((q) => q.file),
      ['us.dcm'],
    );
    const errors = Object.fromEntries(report.errors.map((e) => [e.file, e]));
    assert.equal(errors['notes.txt']?.code, 'E_NOT_DICOM');
    assert.equal(errors['raw.dcm']?.code, 'E_NOT_DICOM');
    assert.equal(errors['no-study-uid.dcm']?.code, 'E_DEID_MISSING_UID');
    assert.match(errors['no-study-uid.dcm']!.message, /no-study-uid\.dcm lacks Study Instance UID/);
    assert.ok(errors['truncated.dcm'], 'truncated file reported');
    assert.match(errors['truncated.dcm']!.message, /truncated\.dcm/);
    // Exactly one file written, nothing else (no temp files, no partial outputs).
    const written = await readdir(out, { recursive: true, withFileTypes: true });
    const paths = written.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    assert.deepEqual(paths, [report.instances[0]!.output]);
    assert.ok((report.counts['U'] ?? 0) > 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
