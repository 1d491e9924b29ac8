import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { readTaggedFile, stringValues } from './dicomIo.js';
import { type TaggedDataset } from '../../foundation/dicom/index.js';
import { readHeaderLittleEndian } from '../../foundation/dicom/index.js';

/** Tags and string values at every depth, the way the engine sees them. */
function flatten(
  dataset: TaggedDataset,
  prefix = '',
  out = new Map<string, string>(),
): Map<string, string> {
  for (const [tag, element] of Object.entries(dataset)) {
    if (tag.endsWith('0000') || parseInt(tag.slice(0, 4), 16) % 2 === 1) continue;
    if (element.vr === 'SQ') {
      (element.Value as TaggedDataset[]).forEach((item, i) =>
        flatten(item, `${prefix}${tag}[${i}].`, out),
      );
    } else if (!['OB', 'OW', 'UN', 'OF', 'OD', 'OL'].includes(element.vr)) {
      out.set(
        `${prefix}${tag}`,
        stringValues(element)
          .map((v) => v.trim())
          .join('\\'),
      );
    }
  }
  return out;
}

test('the lazy header reader sees what dcmjs sees on the conformance corpus', () => {
  let compared = 0;
  for (const d of ['cornerstone3D', 'pydicom-data']) {
    for (const name of readdirSync(join(conformanceDir, d)).filter((f) => f.endsWith('.dcm'))) {
      const bytes = readFileSync(join(conformanceDir, d, name));
      // bad_sequence.dcm holds a non-numeric "UID" that dcmjs mangles and we keep as written.
      if (name === 'bad_sequence.dcm') continue;
      const ours = readHeaderLittleEndian(bytes)?.file;
      if (ours === undefined) continue;
      let theirs;
      try {
        theirs = readTaggedFile(bytes, name); // full dcmjs parse
      } catch {
        continue;
      }
      delete theirs.dict['7FE00010'];
      const a = flatten(ours.dict);
      const b = flatten(theirs.dict);
      for (const [key, value] of b) {
        if (key.startsWith('00080005')) continue; // dcmjs rewrites it to ISO_IR 192
        const mine = a.get(key);
        const asNumbers = (v: string): number[] => v.split('\\').map(Number);
        const numeric =
          mine !== undefined && [...asNumbers(value), ...asNumbers(mine)].every(Number.isFinite);
        if (numeric) {
          assert.deepEqual(asNumbers(mine!), asNumbers(value), `${name} ${key}`);
        } else {
          assert.equal(mine, value, `${name} ${key}`);
        }
      }
      compared += 1;
    }
  }
  assert.ok(compared >= 60, `only ${compared} files compared`);
});

test('the lazy reader declines what it does not handle', () => {
  const bigEndian = readFileSync(
    join(
      conformanceDir,
      'cornerstone3D',
      'CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
    ),
  );
  assert.equal(readHeaderLittleEndian(bigEndian), undefined);
  assert.equal(readHeaderLittleEndian(new Uint8Array(300)), undefined);
});
