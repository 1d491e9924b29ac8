import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { DeidKeys } from './keys.js';
import { compareWithOrthanc } from '../../../test/support/deidComparison.js';
import { OrthancPeer, orthancAvailable } from '../../../test/support/orthancPeer.js';

const files = ['cornerstone3D', 'pydicom-data'].flatMap((d) =>
  readdirSync(join(conformanceDir, d))
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f) => join(conformanceDir, d, f)),
);

test('every difference from Orthanc /anonymize on the conformance corpus has a standard reason', async () => {
  // The trusted peer is part of the evidence: a missing Orthanc fails, never skips.
  assert.ok(orthancAvailable(), 'Orthanc is not installed: apt-get install orthanc');
  const peer = await OrthancPeer.start();
  try {
    const result = await compareWithOrthanc(
      files,
      { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 6)) },
      peer,
    );
    assert.ok(result.compared >= 30, `only ${result.compared} files compared`);
    const unexplained = result.attributes.filter((d) => d.reason === undefined);
    assert.deepEqual(
      unexplained.map(
        (d) => `${d.tag} ${d.name}: ours ${d.ours}, Orthanc ${d.orthanc} (${d.files[0]})`,
      ),
      [],
    );
    for (const f of result.files) {
      assert.ok(
        /^(quarantined|error)/.test(f.ours) || /^error/.test(f.orthanc),
        `${f.file}: only our quarantine, a clear error, or Orthanc's failure may differ per file`,
      );
    }
  } finally {
    await peer.stop();
  }
});
