import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { inputPlacement, toModelInput } from './modelInput.js';
import { assertClose } from '../../../test/support/imaging.js';
import type { GreyImage, ImageInputSpec } from './types.js';

const grey: GreyImage = {
  width: 4,
  height: 2,
  data: Float32Array.from([0, 0.25, 0.5, 1, 1, 0.5, 0.25, 0]),
};

test('unit normalisation, 1 channel, stretch: the resized image as is', () => {
  const spec: ImageInputSpec = {
    width: 2,
    height: 2,
    channels: 1,
    resize: 'stretch',
    normalisation: { kind: 'unit' },
  };
  // 4×2 → 2×2: x halves by area (pairs averaged), y unchanged.
  assertClose(toModelInput(grey, spec), [0.125, 0.75, 0.75, 0.125]);
});

test('mean/std per channel, grey replicated into 3 CHW planes', () => {
  const spec: ImageInputSpec = {
    width: 2,
    height: 2,
    channels: 3,
    resize: 'stretch',
    normalisation: { kind: 'meanStd', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  const out = toModelInput(grey, spec);
  assert.equal(out.length, 12);
  const plane = [0.125, 0.75, 0.75, 0.125];
  const expected = [0, 1, 2].flatMap((c) =>
    plane.map((v) => (v - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!),
  );
  assertClose(out, expected, 1e-5);
});

test('letterbox keeps the aspect ratio, centres, and pads with normalised black', () => {
  const spec: ImageInputSpec = {
    width: 4,
    height: 4,
    channels: 1,
    resize: 'letterbox',
    normalisation: { kind: 'meanStd', mean: [0.5], std: [0.25] },
  };
  assert.deepEqual(inputPlacement(4, 2, spec), { x: 0, y: 1, width: 4, height: 2 });
  const pad = (0 - 0.5) / 0.25;
  const rows = Array.from(grey.data, (v) => (v - 0.5) / 0.25);
  assertClose(toModelInput(grey, spec), [pad, pad, pad, pad, ...rows, pad, pad, pad, pad]);
  // A tall image in a wide input is centred horizontally.
  assert.deepEqual(inputPlacement(100, 300, { width: 300, height: 300, resize: 'letterbox' }), {
    x: 100,
    y: 0,
    width: 100,
    height: 300,
  });
});

test('an inconsistent input spec is refused as a manifest problem', () => {
  const bad = (normalisation: ImageInputSpec['normalisation']): ImageInputSpec => ({
    width: 2,
    height: 2,
    channels: 3,
    resize: 'stretch',
    normalisation,
  });
  const isManifestError = (e: unknown): boolean =>
    e instanceof RadiolensError && e.code === 'E_MANIFEST_INVALID';
  assert.throws(
    () => toModelInput(grey, bad({ kind: 'meanStd', mean: [0.5], std: [0.2] })),
    isManifestError,
  );
  assert.throws(
    () => toModelInput(grey, bad({ kind: 'meanStd', mean: [0, 0, 0], std: [1, 0, 1] })),
    isManifestError,
  );
  assert.throws(() => toModelInput(grey, { ...bad({ kind: 'unit' }), width: 0 }), isManifestError);
});
