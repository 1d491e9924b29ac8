import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkIntendedUse, type IntendedUseDataset } from './intendedUse.js';
import type { ModelManifest } from './manifest.js';

let manifest: ModelManifest;
test.before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-iu-'));
  manifest = (await writeTestModelPackage(dir)).manifest;
  await rm(dir, { recursive: true, force: true });
});

const chestPa: IntendedUseDataset = {
  Modality: 'DX',
  BodyPartExamined: 'CHEST',
  ViewPosition: 'PA',
  Rows: 2048,
  Columns: 2500,
  BitsStored: 12,
  PhotometricInterpretation: 'MONOCHROME2',
};

test('a chest PA radiograph is in intended use; codes compare case- and padding-insensitively', () => {
  assert.deepEqual(checkIntendedUse(manifest, chestPa), { ok: true, caveats: [] });
  assert.equal(checkIntendedUse(manifest, { ...chestPa, BodyPartExamined: 'chest ', Modality: ['CR'] }).ok, true);
});

test('every failing criterion is reported in words', () => {
  const result = checkIntendedUse(manifest, {
    Modality: 'CT',
    BodyPartExamined: 'ABDOMEN',
    ViewPosition: 'LL',
    Rows: 128,
    Columns: 512,
    BitsStored: 24,
    PhotometricInterpretation: 'RGB',
  });
  assert.equal(result.ok, false);
  assert.deepEqual(result.ok ? [] : result.reasons, [
    "modality CT is not in the model's intended use (CR, DX)",
    "body part ABDOMEN is not in the model's intended use (CHEST)",
    "view position LL is not in the model's intended use (PA, AP)",
    'the image has 128 rows; the model needs at least 256',
    "bits stored 24 is outside the model's intended range (8–16)",
    "photometric interpretation RGB is not in the model's intended use (MONOCHROME1, MONOCHROME2)",
  ]);
});

test('missing Body Part Examined refuses unless the manifest allows it, then warns', () => {
  const legacy = { ...chestPa, BodyPartExamined: undefined };
  const refused = checkIntendedUse(manifest, legacy);
  assert.deepEqual(refused, {
    ok: false,
    reasons: ['the image has no Body Part Examined; the model is intended for CHEST'],
  });
  const tolerant = { ...manifest, intendedUse: { ...manifest.intendedUse, allowMissing: ['BodyPartExamined' as const] } };
  const accepted = checkIntendedUse(tolerant, { ...legacy, BodyPartExamined: '' });
  assert.equal(accepted.ok, true);
  assert.equal(accepted.ok ? accepted.caveats[0]!.code : '', 'missing-body-part');
  assert.match(accepted.ok ? accepted.caveats[0]!.text : '', /no Body Part Examined.*accepted/);
  // Allowing a missing body part never allows a wrong one.
  assert.equal(checkIntendedUse(tolerant, { ...chestPa, BodyPartExamined: 'KNEE' }).ok, false);
});

test('frame info overrides the top-level attributes; empty viewPositions means any view', () => {
  const result = checkIntendedUse(manifest, chestPa, { rows: 100, photometricInterpretation: 'YBR_FULL' });
  assert.deepEqual(result.ok ? [] : result.reasons, [
    'the image has 100 rows; the model needs at least 256',
    "photometric interpretation YBR_FULL is not in the model's intended use (MONOCHROME1, MONOCHROME2)",
  ]);
  const anyView = { ...manifest, intendedUse: { ...manifest.intendedUse, viewPositions: [] } };
  assert.equal(checkIntendedUse(anyView, { ...chestPa, ViewPosition: undefined }).ok, true);
  assert.equal(checkIntendedUse(anyView, { ...chestPa, ViewPosition: 'LL' }).ok, true);
});

test('missing Type 1 attributes refuse', () => {
  const result = checkIntendedUse(manifest, { BodyPartExamined: 'CHEST', ViewPosition: 'AP' });
  assert.deepEqual(result.ok ? [] : result.reasons, [
    'the image has no Modality; the model is intended for CR, DX',
    'the image has no Rows/Columns, so its size cannot be checked',
    'the image has no Bits Stored',
    'the image has no Photometric Interpretation',
  ]);
});
