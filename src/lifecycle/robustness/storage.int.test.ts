import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRaster } from '../../foundation/raster/index.js';
import { dciodvfy, runOnDicom, sharedDir } from '../../../test/support/index.js';
import { imageVersions } from './index.js';

test('the stored versions are valid CR images to dciodvfy, and DCMTK reads their 12 bits', async () => {
  const path = join(sharedDir, 'data', 'cxr-site-nih', 'images', '00000150_002.png');
  const bytes = await readFile(path);
  const versions = imageVersions(decodeRaster(bytes, path), {
    name: '00000150_002.png',
    bytes,
    patientId: '00000150',
    viewPosition: 'PA',
  });
  for (const id of ['dicom8', 'dicom12', 'dicom12NoWindow'] as const) {
    const dicom = versions.find((v) => v.id === id)!.bytes;
    const result = dciodvfy(dicom);
    assert.deepEqual(result.errors, [], `${id}:\n${result.text}`);
    const dump = runOnDicom('dcmdump', [], dicom);
    assert.equal(dump.status, 0, dump.stderr);
    const bitsStored = /\(0028,0101\) US (\d+)/.exec(dump.stdout)?.[1];
    assert.equal(bitsStored, id === 'dicom8' ? '8' : '12', id);
    assert.equal(/\(0028,1050\)/.test(dump.stdout), id !== 'dicom12NoWindow', `${id} window`);
  }
});
