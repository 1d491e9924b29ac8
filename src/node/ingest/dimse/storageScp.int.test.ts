import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { conformanceDir } from '../../../../test/support/index.js';
import { parseDicom } from '../../../foundation/dicom/index.js';
import { InstanceStore } from '../../store/index.js';
import { objectFilesIn, syntheticInstance } from '../../../../test/support/store.js';
import { runDcmtk } from '../../../../test/support/dcmtk.js';
import { PduTap } from '../../../../test/support/pduTap.js';
import { part10DatasetOffset } from '../../../foundation/dimse/index.js';
import { DicomStorageScp, type ScpEvent, type StorageScpOptions } from './index.js';

interface Node {
  store: InstanceStore;
  scp: DicomStorageScp;
  dir: string;
  events: ScpEvent[];
}

async function withNode(
  options: Partial<StorageScpOptions>,
  run: (node: Node) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-scp-'));
  const store = InstanceStore.open(join(dir, 'data'));
  const events: ScpEvent[] = [];
  const scp = await DicomStorageScp.start(store, {
    aeTitle: 'RADIOLENS',
    port: 0,
    host: '127.0.0.1',
    allowedCallers: [{ aeTitle: 'STORESCU', addresses: ['127.0.0.1'] }, { aeTitle: 'ECHOSCU' }],
    onEvent: (event) => events.push(event),
    ...options,
  });
  try {
    await run({ store, scp, dir, events });
  } finally {
    await scp.stop();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const corpus = (relative: string): string => join(conformanceDir, relative);

function datasetOf(file: Uint8Array): Uint8Array {
  return file.subarray(part10DatasetOffset(file));
}

test('C-ECHO from echoscu succeeds; a calling AE not on the allow-list is refused', async () => {
  await withNode({}, async ({ scp, events }) => {
    const ok = await runDcmtk('echoscu', [
      '-aet',
      'ECHOSCU',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(scp.port),
    ]);
    assert.equal(ok.code, 0, ok.output);
    const refused = await runDcmtk('echoscu', [
      '-aet',
      'INTRUDER',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(scp.port),
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /Calling AE Title Not Recognized/i);
    const wrongCalled = await runDcmtk('echoscu', [
      '-aet',
      'ECHOSCU',
      '-aec',
      'OTHER',
      '127.0.0.1',
      String(scp.port),
    ]);
    assert.notEqual(wrongCalled.code, 0);
    assert.match(wrongCalled.output, /Called AE Title Not Recognized/i);
    assert.deepEqual(
      events
        .filter((e) => e.type === 'association-rejected')
        .map((e) => e.type === 'association-rejected' && e.reason),
      ['calling-ae-not-allowed', 'called-ae-unknown'],
    );
  });
});

test('an allowed AE title calling from an address not on its list is refused', async () => {
  await withNode(
    { allowedCallers: [{ aeTitle: 'STORESCU', addresses: ['10.9.8.7'] }] },
    async ({ scp }) => {
      const refused = await runDcmtk('echoscu', [
        '-aet',
        'STORESCU',
        '-aec',
        'RADIOLENS',
        '127.0.0.1',
        String(scp.port),
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.output, /Calling AE Title Not Recognized/i);
    },
  );
});

const DEFLATED = '1.2.840.10008.1.2.1.99';

/**
 * File, the storescu option that proposes its transfer syntax first, that syntax, and
 * whether storescu sends the file's dataset unchanged (it re-deflates deflated datasets and
 * re-encodes sequences of undefined length with explicit lengths).
 */
const TRANSFER_SYNTAX_CASES: readonly [string, string[], string, boolean][] = [
  ['cornerstone3D/CTImage.dcm', ['-xi'], '1.2.840.10008.1.2', true],
  ['pydicom-data/emri_small.dcm', ['-xe'], '1.2.840.10008.1.2.1', true],
  ['pydicom-data/emri_small_big_endian.dcm', ['-xb'], '1.2.840.10008.1.2.2', true],
  [
    'cornerstone3D/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
    ['-xd'],
    '1.2.840.10008.1.2.1.99',
    false,
  ],
  [
    'cornerstone3D/CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm',
    ['-xy'],
    '1.2.840.10008.1.2.4.50',
    true,
  ],
  ['pydicom-data/JPEG-LL.dcm', ['-xs'], '1.2.840.10008.1.2.4.70', false],
  ['pydicom-data/emri_small_jpeg_ls_lossless.dcm', ['-xt'], '1.2.840.10008.1.2.4.80', false],
  ['pydicom-data/emri_small_jpeg_2k_lossless.dcm', ['-xv'], '1.2.840.10008.1.2.4.90', false],
  ['pydicom-data/emri_small_RLE.dcm', ['-xr'], '1.2.840.10008.1.2.5', false],
];

test('C-STORE from storescu stores the dataset byte-identical to the wire, in every common transfer syntax', async () => {
  await withNode({}, async ({ scp, store }) => {
    const tap = await PduTap.start({ targetPort: scp.port });
    try {
      for (const [file, propose, transferSyntaxUid, sentUnchanged] of TRANSFER_SYNTAX_CASES) {
        const sent = await readFile(corpus(file));
        const result = await runDcmtk('storescu', [
          ...propose,
          '-aet',
          'STORESCU',
          '-aec',
          'RADIOLENS',
          '127.0.0.1',
          String(tap.port),
          corpus(file),
        ]);
        assert.equal(result.code, 0, `${file}: ${result.output}`);
        const { sopInstanceUid } = parseDicom(sent, file);
        const stored = store.findInstance(sopInstanceUid);
        assert.ok(stored, `${file} indexed`);
        assert.equal(stored.transferSyntaxUid, transferSyntaxUid, file);
        assert.equal(stored.callingAeTitle, 'STORESCU');
        const kept = Buffer.from(datasetOf(await store.readInstanceBytes(stored)));
        const onTheWire = tap.datasets.at(-1);
        assert.ok(
          onTheWire !== undefined && kept.equals(onTheWire),
          `${file}: differs from the wire`,
        );
        if (sentUnchanged) {
          assert.ok(kept.equals(datasetOf(sent)), `${file}: differs from the file sent`);
        } else if (transferSyntaxUid === DEFLATED) {
          assert.ok(inflateRawSync(kept).equals(inflateRawSync(datasetOf(sent))), file);
        }
      }
      assert.equal(tap.datasets.length, TRANSFER_SYNTAX_CASES.length);
    } finally {
      await tap.stop();
    }
  });
});

test('an association aborted mid-transfer leaves no partial instance; the SCP keeps serving', async () => {
  await withNode({}, async ({ scp, store, events }) => {
    const file = corpus('pydicom-data/MR2_UNCI.dcm'); // 2 MB: about 130 PDUs of 16 KB
    const tap = await PduTap.start({ targetPort: scp.port, abortAfterDataPdus: 20 });
    try {
      const cut = await runDcmtk('storescu', [
        '-aet',
        'STORESCU',
        '-aec',
        'RADIOLENS',
        '127.0.0.1',
        String(tap.port),
        file,
      ]);
      assert.notEqual(cut.code, 0, 'storescu saw the association end');
      assert.equal(tap.aborted, true);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(store.studies(), [], 'nothing indexed');
      assert.ok(events.some((e) => e.type === 'association-aborted'));
      // Nothing half-written on disk either: no object files at all.
      assert.deepEqual(objectFilesIn(store.dataDir), []);
    } finally {
      await tap.stop();
    }
    const full = await runDcmtk('storescu', [
      '-aet',
      'STORESCU',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(scp.port),
      file,
    ]);
    assert.equal(full.code, 0, full.output);
    assert.equal(store.studies().length, 1);
  });
});

test('three senders at once: every instance is stored and acknowledged', async () => {
  await withNode({}, async ({ scp, store, dir }) => {
    const sends = [0, 1, 2].map(async (sender) => {
      const files: string[] = [];
      for (let i = 0; i < 4; i++) {
        const path = join(dir, `s${sender}-${i}.dcm`);
        await writeFile(
          path,
          syntheticInstance({ study: `sender${sender}`, instance: `${i}`, size: 64 }),
        );
        files.push(path);
      }
      return runDcmtk('storescu', [
        '-aet',
        'STORESCU',
        '-aec',
        'RADIOLENS',
        '127.0.0.1',
        String(scp.port),
        ...files,
      ]);
    });
    for (const result of await Promise.all(sends)) assert.equal(result.code, 0, result.output);
    assert.deepEqual(
      store.studies().map((s) => s.instanceCount),
      [4, 4, 4],
    );
  });
});

test('a storage failure is answered 0xA700 and leaves no row', async () => {
  await withNode({}, async ({ scp, store }) => {
    // A file where the folder for incoming objects should be: the durable write fails (even
    // as root).
    await rm(join(store.dataDir, 'objects', '.incoming'), { recursive: true });
    await writeFile(join(store.dataDir, 'objects', '.incoming'), 'in the way');
    const result = await runDcmtk('storescu', [
      '-v',
      '-aet',
      'STORESCU',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(scp.port),
      corpus('pydicom-data/emri_small.dcm'),
    ]);
    assert.match(result.output, /Refused: OutOfResources/, result.output);
    assert.deepEqual(store.studies(), []);
  });
});

test('a dataset the store cannot understand is answered 0xC000 and leaves no row', async () => {
  await withNode({}, async ({ scp, store, dir }) => {
    // No Study Instance UID: storescu sends it, our store must refuse it.
    const source = await readFile(corpus('pydicom-data/emri_small.dcm'));
    const broken = join(dir, 'no-study-uid.dcm');
    await writeFile(broken, source);
    const { execFileSync } = await import('node:child_process');
    execFileSync('dcmodify', ['-nb', '-ea', '(0020,000d)', broken]);
    const result = await runDcmtk('storescu', [
      '-v',
      '-aet',
      'STORESCU',
      '-aec',
      'RADIOLENS',
      '127.0.0.1',
      String(scp.port),
      broken,
    ]);
    assert.match(result.output, /Error: CannotUnderstand/, result.output);
    assert.deepEqual(store.studies(), []);
  });
});
