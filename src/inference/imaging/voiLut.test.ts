import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { applyVoiLut, selectVoi } from './voiLut.js';
import { assertClose, monoFrame } from '../../../test/support/imaging.js';

const f32 = (values: number[]): Float32Array => Float32Array.from(values);

test('LINEAR follows PS3.3 C.11.2.1.2.1 at and around its edges', () => {
  // c = 2048, w = 4096: x ≤ c − 0.5 − (w−1)/2 = 0 → 0; x > c − 0.5 + (w−1)/2 = 4095 → 1;
  // in between ((x − 2047.5)/4095 + 0.5), i.e. x/4095.
  const x = [-5, 0, 1, 2048, 4094, 4095, 4096];
  const y = applyVoiLut(f32(x), { WindowCenter: 2048, WindowWidth: 4096 }, monoFrame(x));
  assertClose(y, [0, 0, 1 / 4095, 2048 / 4095, 4094 / 4095, 1, 1]);
  // c = 40, w = 400 (a CT soft-tissue window): edges at −160 and 239, y = (x + 160)/399.
  const ct = [-161, -160, -159, 40, 238, 239, 240];
  const yct = applyVoiLut(f32(ct), { WindowCenter: 40, WindowWidth: 400 }, monoFrame(ct));
  assertClose(yct, [0, 0, 1 / 399, 200 / 399, 398 / 399, 1, 1]);
});

test('LINEAR with width 1 is a threshold at c − 0.5', () => {
  const x = [9, 9.5, 9.6, 10];
  const y = applyVoiLut(f32(x), { WindowCenter: 10, WindowWidth: 1 }, monoFrame([0, 0, 0, 0]));
  assertClose(y, [0, 0, 1, 1]);
});

test('LINEAR_EXACT follows PS3.3 C.11.2.1.3.2', () => {
  // c = 2048, w = 4096: x ≤ 0 → 0, x > 4096 → 1, else (x − 2048)/4096 + 0.5 = x/4096.
  const x = [-1, 0, 1, 2048, 4095, 4096, 4097];
  const ds = { WindowCenter: '2048', WindowWidth: '4096', VOILUTFunction: 'LINEAR_EXACT' };
  const y = applyVoiLut(f32(x), ds, monoFrame(x));
  assertClose(y, [0, 0, 1 / 4096, 0.5, 4095 / 4096, 1, 1]);
});

test('SIGMOID follows PS3.3 C.11.2.1.3.1', () => {
  // y = 1 / (1 + exp(−4 (x − c) / w)); c = 100, w = 50.
  const x = [100, 150, 50, 1e6, -1e6];
  const ds = { WindowCenter: 100, WindowWidth: 50, VOILUTFunction: 'SIGMOID' };
  const y = applyVoiLut(f32(x), ds, monoFrame([0, 0, 0, 0, 0]));
  assertClose(y, [0.5, 1 / (1 + Math.exp(-4)), 1 / (1 + Math.exp(4)), 1, 0]);
  assertClose([y[1] as number], [0.98201379], 1e-7);
});

test('multiple windows: the first pair is used, whatever form dcmjs gives', () => {
  const x = [-160, 239];
  for (const ds of [
    { WindowCenter: [40, 300], WindowWidth: [400, 1500] },
    { WindowCenter: ['40', '300'], WindowWidth: ['400', '1500'] },
    { WindowCenter: '40\\300', WindowWidth: '400\\1500' },
  ]) {
    assert.deepEqual(selectVoi(f32(x), ds, monoFrame(x)), {
      kind: 'window',
      center: 40,
      width: 400,
      voiLutFunction: 'LINEAR',
    });
  }
});

test('MONOCHROME1 is inverted so that 0 is always black', () => {
  const x = [0, 2048, 4095];
  const ds = { WindowCenter: 2048, WindowWidth: 4096 };
  const y = applyVoiLut(f32(x), ds, monoFrame(x, { photometricInterpretation: 'MONOCHROME1' }));
  assertClose(y, [1, 1 - 2048 / 4095, 0]);
});

test('VOI LUT Sequence: first-mapped offset, clamping both ends, output scaled by bits', () => {
  const x = [5, 10, 11, 12, 13, 14, 100];
  const ds = { VOILUTSequence: [{ LUTDescriptor: [4, 10, 8], LUTData: [0, 85, 170, 255] }] };
  const y = applyVoiLut(f32(x), ds, monoFrame(x));
  assertClose(y, [0, 0, 1 / 3, 2 / 3, 1, 1, 1]);
});

test('VOI LUT Sequence: an unsigned-read first-mapped value is signed for signed input', () => {
  // 65526 is −10 in 2's complement: −10 → entry 0, −9 → entry 1, …
  const x = [-11, -10, -9, -7];
  const lut = { LUTDescriptor: [4, 65526, 16], LUTData: [0, 65535, 32768, 1] };
  const ds = { VOILUTSequence: [lut] };
  const y = applyVoiLut(f32(x), ds, monoFrame(x, { pixelRepresentation: 1 }));
  assertClose(y, [0, 0, 1, 1 / 65535]);
});

test('a window takes precedence over a VOI LUT Sequence; an invalid width is skipped', () => {
  const x = [0, 1];
  const lutItem = { LUTDescriptor: [2, 0, 8], LUTData: [255, 0] };
  const both = { WindowCenter: 1, WindowWidth: 2, VOILUTSequence: [lutItem] };
  assert.equal(selectVoi(f32(x), both, monoFrame(x)).kind, 'window');
  // LINEAR needs w ≥ 1: the LUT applies instead.
  const badWidth = { WindowCenter: 1, WindowWidth: 0.5, VOILUTSequence: [lutItem] };
  assertClose(applyVoiLut(f32(x), badWidth, monoFrame(x)), [1, 0]);
});

test('fallback without window or LUT: 0.5–99.5 percentile window ignores outliers', () => {
  const x = Array.from({ length: 1000 }, (_, i) => i);
  x.push(100000, -50000); // a burned-in marker and a dead pixel
  const selection = selectVoi(f32(x), {}, monoFrame(x));
  assert.equal(selection.kind, 'computedWindow');
  if (selection.kind !== 'computedWindow') return;
  assert.equal(selection.rule, 'percentile');
  // ranks 5 and 996 of 1002 sorted values are 4 and 994; one histogram bin is ≈ 2.3.
  const low = selection.center - selection.width / 2;
  const high = selection.center + selection.width / 2;
  assert.ok(Math.abs(low - 4) < 2.5, `low ${low}`);
  assert.ok(Math.abs(high - 994) < 2.5, `high ${high}`);
  const y = applyVoiLut(f32(x), {}, monoFrame(x));
  assert.equal(y[0], 0);
  assert.equal(y[999], 1);
  assert.ok(Math.abs((y[500] as number) - 0.5) < 0.01);
});

test('fallback ignores Pixel Padding Value (outside a CT field of view)', () => {
  // Stored −2000 padding (as its unsigned 16-bit form) with intercept −1024: most pixels.
  const stored = [
    ...new Array<number>(3000).fill(-2000),
    ...Array.from({ length: 1000 }, (_, i) => i),
  ];
  const ds = { PixelPaddingValue: 63536, RescaleIntercept: -1024, RescaleSlope: 1 };
  const values = f32(stored.map((v) => v - 1024));
  const selection = selectVoi(values, ds, monoFrame(stored, { pixelRepresentation: 1 }));
  assert.equal(selection.kind, 'computedWindow');
  if (selection.kind !== 'computedWindow') return;
  assert.ok(selection.center - selection.width / 2 > -1024 - 1, 'padding pulled the window');
});

test("a package's windowing rule: the fallback it declares, or its own window over the image's", () => {
  const x = [...Array.from({ length: 1000 }, (_, i) => 1000 + i), 4000];
  const frame = monoFrame(x, { bitsStored: 12 });
  const bounds = (s: ReturnType<typeof selectVoi>): [number, number] => {
    assert.equal(s.kind, 'computedWindow');
    if (s.kind !== 'computedWindow') return [NaN, NaN];
    return [s.center - s.width / 2, s.center + s.width / 2];
  };
  // min–max: exactly the smallest and largest values, outlier included.
  assert.deepEqual(
    bounds(selectVoi(f32(x), {}, frame, { kind: 'voiLut', fallback: 'minMax' })),
    [1000, 4000],
  );
  // The stored range of 12-bit unsigned data, through the rescale: independent of the pixels.
  const rescaled = { RescaleSlope: 2, RescaleIntercept: -10 };
  assert.deepEqual(
    bounds(selectVoi(f32(x), rescaled, frame, { kind: 'voiLut', fallback: 'storedRange' })),
    [-10, 2 * 4095 - 10],
  );
  const stored = applyVoiLut(f32([0, 2047.5, 4095]), {}, frame, {
    kind: 'voiLut',
    fallback: 'storedRange',
  });
  assertClose(stored, [0, 0.5, 1]);
  // A window in the file wins over any fallback ...
  const windowed = { WindowCenter: 2048, WindowWidth: 4096 };
  assert.equal(
    selectVoi(f32(x), windowed, frame, { kind: 'voiLut', fallback: 'minMax' }).kind,
    'window',
  );
  // ... but not over a rule that ignores the file's window.
  assert.deepEqual(bounds(selectVoi(f32(x), windowed, frame, { kind: 'minMax' })), [1000, 4000]);
  const [low, high] = bounds(
    selectVoi(f32(x), windowed, frame, { kind: 'percentile', low: 10, high: 90 }),
  );
  assert.ok(Math.abs(low - 1100) < 1 && Math.abs(high - 1900) < 1, `${low}–${high}`);
});

test('a truncated VOI LUT is refused with a clear error', () => {
  const ds = { VOILUTSequence: [{ LUTDescriptor: [4, 0, 16], LUTData: [0, 1] }] };
  assert.throws(
    () => applyVoiLut(f32([0]), ds, monoFrame([0])),
    (e: unknown) =>
      e instanceof RadiolensError && e.code === 'E_PIXEL_DATA' && /declares 4/.test(e.message),
  );
});
