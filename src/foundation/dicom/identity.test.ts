/**
 * readInstanceIdentity reads with our header reader where it can and must say exactly what
 * parseDicom (dcmjs) says: the same identity for every corpus file, and the same error code
 * for the same damage.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRadiolensError } from '../core/index.js';
import { conformanceDir } from '../../../test/support/index.js';
import { identityOf, parseDicom, readInstanceIdentity } from './parse.js';
import { readHeaderLittleEndian } from './part10Reader.js';

const files = ['cornerstone3D', 'pydicom-data'].flatMap((folder) =>
  readdirSync(join(conformanceDir, folder))
    .filter((name) => name !== 'LICENSE')
    .map((name) => join(folder, name)),
);

function errorCode(read: () => unknown): string {
  try {
    read();
    return 'none';
  } catch (error) {
    return isRadiolensError(error) ? error.code : `not a RadiolensError: ${String(error)}`;
  }
}

describe('readInstanceIdentity agrees with parseDicom', { concurrency: 2 }, () => {
  let fastPath = 0;
  it('finds the corpus', () => assert.ok(files.length > 100, `${files.length} files`));
  for (const file of files) {
    it(file, () => {
      const bytes = readFileSync(join(conformanceDir, file));
      if (readHeaderLittleEndian(bytes) !== undefined) fastPath++;
      assert.deepEqual(
        { ...readInstanceIdentity(bytes, file) },
        identityOf(parseDicom(bytes, file)),
      );
      // Damage: the same refusal from both, whichever reader ran.
      const cut = bytes.subarray(0, Math.floor(bytes.byteLength * 0.6));
      assert.equal(
        errorCode(() => readInstanceIdentity(cut, file)),
        errorCode(() => parseDicom(cut, file)),
      );
    });
  }
  it('took the fast path for most files (it is what ingest runs)', () => {
    assert.ok(fastPath > files.length / 2, `${fastPath} of ${files.length}`);
  });
});
