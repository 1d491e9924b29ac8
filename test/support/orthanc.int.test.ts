import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicom } from '../../src/foundation/dicom/index.js';
import { part10DatasetOffset } from '../../src/foundation/dimse/index.js';
import { DicomStorageScp } from '../../src/node/ingest/dimse/index.js';
import { PduTap } from './pduTap.js';
import { InstanceStore } from '../../src/node/store/index.js';
import { OrthancServer } from './orthanc.js';
import { conformanceDir } from './paths.js';

/**
 * File, and whether Orthanc's sender (DCMTK) puts the held dataset on the wire unchanged: it
 * re-encodes sequences of undefined length with explicit lengths, so for such files we can
 * only be identical to the wire, not to Orthanc's file.
 */
const FILES: readonly [string, boolean][] = [
  ['cornerstone3D/CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm', true],
  ['cornerstone3D/CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm', true],
  ['pydicom-data/emri_small_big_endian.dcm', true],
  ['pydicom-data/JPEG-LL.dcm', false],
];

test('Orthanc C-STOREs to our SCP via /modalities/<id>/store; our copy is byte-identical', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-orthanc-test-'));
  const orthanc = await OrthancServer.start({ dicomWeb: true });
  const store = InstanceStore.open(dir);
  const scp = await DicomStorageScp.start(store, {
    aeTitle: 'RADIOLENS',
    port: 0,
    host: '127.0.0.1',
    allowedCallers: [{ aeTitle: orthanc.aeTitle, addresses: ['127.0.0.1'] }],
  });
  const tap = await PduTap.start({ targetPort: scp.port });
  try {
    // The DICOMweb plugin is loaded and answers QIDO-RS.
    assert.deepEqual(await orthanc.getJson('/dicom-web/studies'), []);

    const ids: string[] = [];
    for (const [file] of FILES) {
      ids.push(await orthanc.upload(await readFile(join(conformanceDir, file))));
    }
    await orthanc.registerModality('radiolens', {
      aeTitle: 'RADIOLENS',
      host: '127.0.0.1',
      port: tap.port,
    });
    await orthanc.storeToModality('radiolens', ids);
    assert.equal(tap.datasets.length, FILES.length);

    for (const [index, id] of ids.entries()) {
      const held = await orthanc.instanceFile(id);
      const tags = await orthanc.getJson<{ SOPInstanceUID: string }>(
        `/instances/${id}/simplified-tags`,
      );
      const ours = store.findInstance(tags.SOPInstanceUID);
      assert.ok(ours, `${tags.SOPInstanceUID} received`);
      assert.equal(ours.callingAeTitle, orthanc.aeTitle);
      const file = await store.readInstanceBytes(ours);
      // Compare datasets: the File Meta Information is each side's own (PS3.10 7.1).
      const kept = Buffer.from(file.subarray(part10DatasetOffset(file)));
      assert.ok(
        tap.datasets.some((onTheWire) => kept.equals(onTheWire)),
        `${id}: differs from what Orthanc sent`,
      );
      if (FILES[index]?.[1] === true) {
        const heldDataset = Buffer.from(held.subarray(part10DatasetOffset(held)));
        assert.ok(kept.equals(heldDataset), `${id}: dataset differs from Orthanc's file`);
      } else {
        // Re-encoded by the sender: the same attributes with the same values.
        assert.deepEqual(parseDicom(file, 'ours').dataset, parseDicom(held, 'orthanc').dataset);
      }
    }
  } finally {
    await tap.stop();
    await scp.stop();
    store.close();
    await orthanc.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
