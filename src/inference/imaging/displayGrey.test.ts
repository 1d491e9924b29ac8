import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { toDisplayGrey } from './displayGrey.js';
import { assertClose, monoFrame } from '../../../test/support/imaging.js';
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

test('the stored-value table path gives exactly the per-pixel result (window, LUT, MONOCHROME1, signed)', async () => {
  const { applyModalityLut } = await import('./modalityLut.js');
  const { applyVoiLut } = await import('./voiLut.js');
  const { greyByStoredValueTable } = await import('./displayGrey.js');
  // More pixels than distinct stored values, as in any real image.
  const rows = 96;
  const columns = 64;
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const cases: Array<{
    name: string;
    signed: boolean;
    photometric: 'MONOCHROME1' | 'MONOCHROME2';
    dataset: Record<string, unknown>;
  }> = [
    {
      name: 'window LINEAR',
      signed: false,
      photometric: 'MONOCHROME2',
      dataset: { WindowCenter: 1800, WindowWidth: 1200, RescaleSlope: 1, RescaleIntercept: 0 },
    },
    {
      name: 'window SIGMOID MONOCHROME1',
      signed: false,
      photometric: 'MONOCHROME1',
      dataset: { WindowCenter: '900', WindowWidth: '400', VOILUTFunction: 'SIGMOID' },
    },
    {
      name: 'signed CT rescale LINEAR_EXACT',
      signed: true,
      photometric: 'MONOCHROME2',
      dataset: {
        WindowCenter: 40,
        WindowWidth: 400,
        RescaleSlope: 1,
        RescaleIntercept: -1024,
        VOILUTFunction: 'LINEAR_EXACT',
      },
    },
    {
      name: 'VOI LUT sequence',
      signed: false,
      photometric: 'MONOCHROME2',
      dataset: {
        VOILUTSequence: [
          {
            LUTDescriptor: [4096, 0, 12],
            LUTData: Array.from({ length: 4096 }, (_, i) => 4095 - i),
          },
        ],
      },
    },
  ];
  for (const item of cases) {
    const pixels = new Int32Array(rows * columns);
    for (let p = 0; p < pixels.length; p++)
      pixels[p] = Math.floor(random() * 4096) - (item.signed ? 2048 : 0);
    const frame = {
      rows,
      columns,
      samplesPerPixel: 1 as const,
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: (item.signed ? 1 : 0) as 0 | 1,
      photometricInterpretation: item.photometric,
      pixels,
    };
    const expected = applyVoiLut(applyModalityLut(frame, item.dataset), item.dataset, frame);
    const actual = greyByStoredValueTable(frame, item.dataset, rows * columns);
    assert.ok(actual !== null, `${item.name}: table path taken`);
    assert.deepEqual(Array.from(actual), Array.from(expected), item.name);
  }
  // Without a window or VOI LUT the fallback depends on the histogram: no table.
  const plain = new Int32Array(rows * columns).map((_, i) => i % 1000);
  const frame = {
    rows,
    columns,
    samplesPerPixel: 1 as const,
    bitsAllocated: 16,
    bitsStored: 12,
    pixelRepresentation: 0 as const,
    photometricInterpretation: 'MONOCHROME2' as const,
    pixels: plain,
  };
  assert.equal(greyByStoredValueTable(frame, {}, rows * columns), null);
  assert.equal(
    greyByStoredValueTable(frame, {}, rows * columns, { kind: 'voiLut', fallback: 'minMax' }),
    null,
  );
  // The stored range does not depend on the pixels: the table applies, with the same values.
  const storedRange = { kind: 'voiLut', fallback: 'storedRange' } as const;
  const viaTable = greyByStoredValueTable(frame, {}, rows * columns, storedRange);
  assert.ok(viaTable !== null);
  assert.deepEqual(
    Array.from(viaTable),
    Array.from(applyVoiLut(applyModalityLut(frame, {}), {}, frame, storedRange)),
  );
  assert.ok(Math.abs(viaTable[999]! - 999 / 4095) < 1e-6);
});
