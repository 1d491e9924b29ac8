import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import { deidentifyBytes } from './deidentify.js';
import { readTaggedFile, stringValue, writeTaggedFile } from './dicomIo.js';
import { DeidKeys } from './keys.js';
import { burnedInTextRisk, parsePixelCleaningRules } from './pixels.js';
import { buildEveryAttributeFile } from '../../../test/support/deid.js';

const keys = new DeidKeys(Buffer.alloc(32, 5));
const read = (rel: string): Uint8Array => readFileSync(join(conformanceDir, rel));

test('ultrasound and secondary capture are quarantined with the reason', () => {
  for (const [file, why] of [
    ['pydicom-data/US1_UNCR.dcm', /Ultrasound/],
    ['pydicom-data/SC_rgb.dcm', /Secondary Capture/],
  ] as const) {
    const r = deidentifyBytes(read(file), { options: new Set(), keys }, file);
    assert.equal(r.kind, 'quarantined', file);
    if (r.kind === 'quarantined') assert.match(r.reason, why);
  }
});

test('Burned In Annotation YES is quarantined even for CT', () => {
  const f = buildEveryAttributeFile();
  f.dict['00280301'] = { vr: 'CS', Value: ['YES'] };
  assert.match(burnedInTextRisk(f.dict) ?? '', /Burned In Annotation/);
  const r = deidentifyBytes(writeTaggedFile(f), { options: new Set(), keys }, 'ct');
  assert.equal(r.kind, 'quarantined');
});

test('Clean Pixel Data with a region rule blanks the region and releases the image', () => {
  const rules = parsePixelCleaningRules(
    {
      rules: [
        {
          name: 'us-header',
          match: { modality: ['US'] },
          regions: [{ x: 0, y: 0, width: 640, height: 40 }],
        },
      ],
    },
    'rules.json',
  );
  const source = read('pydicom-data/US1_UNCR.dcm');
  const r = deidentifyBytes(
    source,
    { options: new Set(['cleanPixelData']), keys, pixelRules: rules },
    'us',
  );
  assert.equal(r.kind, 'deidentified');
  if (r.kind !== 'deidentified') return;
  assert.equal(r.pixelsCleaned, 'us-header');
  const out = readTaggedFile(r.bytes, 'out').dict;
  const before = new Uint8Array(
    readTaggedFile(source, 'in').dict['7FE00010']!.Value![0] as ArrayBuffer,
  );
  const after = new Uint8Array(out['7FE00010']!.Value![0] as ArrayBuffer);
  const columns = Number(stringValue(out['00280011']));
  const rowBytes = columns * 3; // RGB, 8 bit, interleaved
  assert.ok(
    after.subarray(0, 40 * rowBytes).every((b) => b === 0),
    'header rows blanked',
  );
  assert.deepEqual(after.subarray(40 * rowBytes), before.subarray(40 * rowBytes), 'rest untouched');
  assert.ok(
    before.subarray(0, 40 * rowBytes).some((b) => b !== 0),
    'the region had content',
  );
  assert.equal(stringValue(out['00280301']), 'NO');
  const codes = (out['00120064']!.Value as Record<string, unknown>[]).map((i) =>
    stringValue(i['00080100'] as never),
  );
  assert.ok(codes.includes('113101'));
});

test('compressed pixels cannot be cleaned: quarantined, never passed', () => {
  const rules = parsePixelCleaningRules(
    {
      rules: [
        {
          name: 'all-us',
          match: { modality: ['US'] },
          regions: [{ x: 0, y: 0, width: 10, height: 10 }],
        },
      ],
    },
    'rules.json',
  );
  const r = deidentifyBytes(
    read('pydicom-data/US1_J2KR.dcm'),
    { options: new Set(['cleanPixelData']), keys, pixelRules: rules },
    'us',
  );
  assert.equal(r.kind, 'quarantined');
  if (r.kind === 'quarantined') assert.match(r.reason, /compressed.*decompress/);
});

test('invalid pixel rule files are rejected with the file named', () => {
  assert.throws(
    () => parsePixelCleaningRules({ rules: [{ name: 'x', match: {}, regions: [] }] }, 'bad.json'),
    (e: unknown) =>
      e instanceof RadiolensError && e.code === 'E_DEID_CONFIG' && /bad\.json/.test(e.message),
  );
});

test('Pixel Data bytes are untouched for every transfer syntax of the CT image', () => {
  for (const name of [
    'CTImage.dcm_LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2.dcm',
    'CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
    'CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
    'CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm',
    'CTImage.dcm_JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91.dcm',
    'CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm',
    'CT0012.fragmented_no_bot_jpeg_baseline.51.dcm',
  ]) {
    const source = read(`cornerstone3D/${name}`);
    const r = deidentifyBytes(source, { options: new Set(), keys }, name);
    assert.equal(r.kind, 'deidentified', name);
    if (r.kind !== 'deidentified') continue;
    const before = readTaggedFile(source, 'in').dict['7FE00010']!.Value as ArrayBuffer[];
    const after = readTaggedFile(r.bytes, 'out').dict['7FE00010']!.Value as ArrayBuffer[];
    assert.equal(after.length, before.length, `${name}: fragment count`);
    before.forEach((frag, i) =>
      assert.ok(Buffer.from(frag).equals(Buffer.from(after[i]!)), `${name}: fragment ${i} differs`),
    );
  }
});

test('a file whose pixel data was cut in half is refused with E_TRUNCATED, not zero-filled', () => {
  for (const file of [
    'cornerstone3D/CTImage.dcm',
    'pydicom-data/MR2_UNCI.dcm',
    'pydicom-data/MR2_J2KR.dcm',
  ]) {
    const whole = read(file);
    const half = whole.subarray(0, Math.floor(whole.byteLength * 0.6));
    assert.throws(
      () => deidentifyBytes(half, { options: new Set(), keys }, file),
      (error: unknown) =>
        error instanceof RadiolensError &&
        error.code === 'E_TRUNCATED' &&
        /cut short/.test(error.message),
      file,
    );
    // The whole file still goes through.
    assert.equal(deidentifyBytes(whole, { options: new Set(), keys }, file).kind, 'deidentified');
  }
});
