/**
 * Sweep: every file of the conformance corpus is read, and the first frame of every file
 * with pixels decodes to an array of the announced size. Which values are right is
 * proven in decode.test.ts and crossDecoder.test.ts; this catches a file nobody listed.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { conformanceDir } from '../../../test/support/index.js';
import { decodeFrame } from './decode.js';
import { readDicomFile } from './parse.js';

const files = ['cornerstone3D', 'pydicom-data'].flatMap((folder) =>
  readdirSync(join(conformanceDir, folder))
    .filter((name) => name !== 'LICENSE')
    .map((name) => join(folder, name)),
);

describe('every corpus file is read and decoded', { concurrency: 2 }, () => {
  it('finds the corpus', () => assert.ok(files.length > 100, `${files.length} files`));
  for (const file of files) {
    it(file, async () => {
      const instance = await readDicomFile(join(conformanceDir, file));
      if (!instance.hasPixelData) {
        assert.equal(file, 'cornerstone3D/no-pixel-data.dcm', 'only one corpus file has no pixels');
        return;
      }
      // The last frames of multi-frame files are compared in decode.test.ts.
      const frame = await decodeFrame(instance, 0);
      assert.equal(frame.pixels.length, frame.rows * frame.columns * frame.samplesPerPixel);
      assert.equal(frame.samplesPerPixel, frame.photometricInterpretation === 'RGB' ? 3 : 1);
    });
  }
});
