import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderSender, type DeliveryPayload } from './index.js';

const STUDY = '1.2.826.0.1.3680043.8.498.10001';

test('files land in <path>/<studyUid>/<name>, atomically and idempotently', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-folder-sender-'));
  try {
    const sr = join(dir, 'SR_1.dcm');
    const bundle = join(dir, 'fhir-bundle.json');
    await writeFile(sr, 'sr bytes');
    await writeFile(bundle, '{"resourceType":"Bundle"}');
    const payloads: DeliveryPayload[] = [
      { kind: 'dicom', file: sr, studyInstanceUid: STUDY, sopInstanceUid: `${STUDY}.9` },
      { kind: 'fhir-bundle', file: bundle, studyInstanceUid: STUDY },
    ];
    const out = join(dir, 'out');
    const sender = new FolderSender();
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await sender.send({ kind: 'folder', path: out }, payloads), [
        { status: 'delivered' },
        { status: 'delivered' },
      ]);
    }
    assert.deepEqual((await readdir(join(out, STUDY))).sort(), ['SR_1.dcm', 'fhir-bundle.json']);
    assert.equal(await readFile(join(out, STUDY, 'SR_1.dcm'), 'utf8'), 'sr bytes');

    // A study UID that is not a UID never becomes a path.
    const [evil] = await sender.send({ kind: 'folder', path: out }, [
      { kind: 'dicom', file: sr, studyInstanceUid: '../../etc', sopInstanceUid: '1.2' },
    ]);
    assert.equal(evil?.status, 'rejected');

    // A destination that cannot be written (here: its path is a file, which even root cannot
    // write into) is retried, not dropped.
    const notADirectory = join(dir, 'not-a-directory');
    await writeFile(notADirectory, '');
    const [blocked] = await sender.send(
      { kind: 'folder', path: notADirectory },
      payloads.slice(0, 1),
    );
    assert.equal(blocked?.status, 'retry');
    assert.match(
      blocked?.status === 'retry' ? blocked.reason : '',
      /cannot write into .*ENOTDIR|EEXIST/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
