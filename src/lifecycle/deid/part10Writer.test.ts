import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { readTaggedFile, stringValue } from './dicomIo.js';
import { type TaggedDataset } from '../../foundation/dicom/index.js';
import { locatePixelData } from './pixelLocator.js';
import { encodePart10LittleEndian } from '../../foundation/dicom/index.js';
import { buildEveryAttributeFile } from '../../../test/support/deid.js';

/** A comparable rendering of a dataset: numbers as dcmjs parses them, binaries hashed. */
function render(dataset: TaggedDataset): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(dataset)
        .filter((t) => !t.endsWith('0000'))
        .sort()
        .map((t) => [t, dataset[t]!.Value ?? []]),
    ),
    (_k, v: unknown) =>
      v instanceof ArrayBuffer ? createHash('sha1').update(new Uint8Array(v)).digest('hex') : v,
  );
}

test('our little-endian encoder round-trips every conformance file it accepts, and the synthetic one', () => {
  let encoded = 0;
  const files = ['cornerstone3D', 'pydicom-data'].flatMap((d) =>
    readdirSync(join(conformanceDir, d))
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => join(conformanceDir, d, f)),
  );
  for (const path of files) {
    let file;
    try {
      file = readTaggedFile(readFileSync(path), path);
    } catch {
      continue; // damaged or not Part 10: covered by the batch tests
    }
    const syntax = stringValue(file.meta['00020010'])!;
    if (!['1.2.840.10008.1.2', '1.2.840.10008.1.2.1'].includes(syntax)) continue;
    if (file.dict['7FE00010']?.Value?.length !== 1) continue; // encapsulated: copied raw instead
    const bytes = encodePart10LittleEndian(file, syntax);
    if (bytes === undefined) continue;
    encoded += 1;
    const back = readTaggedFile(bytes, `${path} (re-encoded)`);
    assert.equal(render(back.dict), render(file.dict), path);
  }
  assert.ok(encoded >= 20, `only ${encoded} files encoded`);
  const synthetic = buildEveryAttributeFile();
  const bytes = encodePart10LittleEndian(synthetic, '1.2.840.10008.1.2.1')!;
  assert.equal(
    Object.keys(readTaggedFile(bytes, 'synthetic').dict).length,
    Object.keys(synthetic.dict).length,
  );
});

test('the pixel locator finds the top-level Pixel Data element, nested sequences skipped', () => {
  for (const name of [
    'CTImage.dcm_LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2.dcm',
    'CT0012.fragmented_no_bot_jpeg_baseline.51.dcm',
  ]) {
    const bytes = readFileSync(join(conformanceDir, 'cornerstone3D', name));
    const syntax = stringValue(readTaggedFile(bytes, name, true).meta['00020010'])!;
    const range = locatePixelData(bytes, syntax)!;
    assert.ok(range !== undefined, name);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(view.getUint32(range.start, true), 0x00107fe0, `${name}: starts at (7FE0,0010)`);
    assert.ok(range.end <= bytes.byteLength);
  }
  assert.equal(locatePixelData(new Uint8Array(200), '1.2.840.10008.1.2.1'), undefined);
});
