import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../core/index.js';
import { toDisplayGrey } from './displayGrey.js';
import { assertClose, monoFrame } from './testkit.js';
import type { PixelFrameLike } from './types.js';

test('modality → VOI → photometric for a CT-like frame', () => {
  // Stored 864 + intercept −1024 = −160 HU: the lower edge of a 40/400 window.
  const frame = monoFrame([864, 1263, 1064, 0], { columns: 2 });
  const ds = { RescaleSlope: 1, RescaleIntercept: -1024, WindowCenter: 40, WindowWidth: 400 };
  const grey = toDisplayGrey(frame, ds);
  assert.equal(grey.width, 2);
  assert.equal(grey.height, 2);
  assertClose(grey.data, [0, 1, 200 / 399, 0]);
});

test('MONOCHROME1 radiograph: high stored values come out dark', () => {
  const frame = monoFrame([0, 4095], { photometricInterpretation: 'MONOCHROME1', bitsStored: 12 });
  assertClose(toDisplayGrey(frame, { WindowCenter: 2048, WindowWidth: 4096 }).data, [1, 0]);
});

test('RGB → BT.601 luminance in [0,1]', () => {
  const frame: PixelFrameLike = {
    rows: 1,
    columns: 3,
    samplesPerPixel: 3,
    bitsAllocated: 8,
    bitsStored: 8,
    pixelRepresentation: 0,
    photometricInterpretation: 'RGB',
    pixels: Uint8Array.from([255, 0, 0, 0, 255, 0, 255, 255, 255]),
  };
  assertClose(toDisplayGrey(frame, {}).data, [0.299, 0.587, 1], 1e-6);
});

test('unsupported photometric interpretations and truncated frames are refused', () => {
  const palette = monoFrame([0, 1], { photometricInterpretation: 'PALETTE COLOR' });
  assert.throws(
    () => toDisplayGrey(palette, {}),
    (e: unknown) =>
      e instanceof RadiolensError &&
      e.code === 'E_UNSUPPORTED_PHOTOMETRIC' &&
      /PALETTE COLOR/.test(e.message),
  );
  const short = { ...monoFrame([0, 1]), rows: 2 };
  assert.throws(
    () => toDisplayGrey(short, {}),
    (e: unknown) => e instanceof RadiolensError && e.code === 'E_PIXEL_DATA',
  );
});

test('a 3000×3000 frame goes to display grey in well under a second', () => {
  const pixels = new Int32Array(9_000_000);
  for (let i = 0; i < pixels.length; i++) pixels[i] = i % 4096;
  const frame: PixelFrameLike = { ...monoFrame([0]), rows: 3000, columns: 3000, pixels };
  for (const ds of [{ WindowCenter: 2048, WindowWidth: 4096, RescaleSlope: 1.5 }, {}]) {
    const started = performance.now();
    const grey = toDisplayGrey(frame, ds);
    const ms = performance.now() - started;
    assert.equal(grey.data.length, 9_000_000);
    assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
  }
});
