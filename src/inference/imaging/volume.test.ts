import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { buildVolume, type VolumeSlice } from './volume.js';
import { assertClose, monoFrame } from '../../../test/support/imaging.js';

type Vec3 = [number, number, number];

/** A 2×3 slice whose pixels all hold `value`, at `position`, with the given orientation. */
function slice(
  source: string,
  position: number[] | undefined,
  value: number,
  overrides: Record<string, unknown> = {},
  orientation: number[] = [1, 0, 0, 0, 1, 0],
): VolumeSlice {
  return {
    source,
    frame: monoFrame(new Array<number>(6).fill(value), { columns: 2 }),
    dataset: {
      ImagePositionPatient: position,
      ImageOrientationPatient: orientation,
      PixelSpacing: [0.7, 0.5],
      FrameOfReferenceUID: '1.2.3',
      RescaleSlope: 1,
      RescaleIntercept: -1000,
      ...overrides,
    },
  };
}

const shuffle = <T>(items: T[]): T[] => [items[3]!, items[0]!, items[4]!, items[2]!, items[1]!];

test('axial slices given shuffled come out sorted along the normal with spacing', () => {
  const slices = [0, 1, 2, 3, 4].map((k) => slice(`s${k}.dcm`, [-10, 20, 30 + 2.5 * k], 1000 + k));
  const volume = buildVolume(shuffle(slices));
  assert.deepEqual(volume.sliceSources, ['s0.dcm', 's1.dcm', 's2.dcm', 's3.dcm', 's4.dcm']);
  assert.equal(volume.width, 2);
  assert.equal(volume.height, 3);
  assert.equal(volume.depth, 5);
  // Pixel Spacing [row 0.7, column 0.5] → x steps 0.5 mm, y steps 0.7 mm.
  assertClose(volume.spacing, [0.5, 0.7, 2.5], 1e-9);
  assert.deepEqual(volume.origin, [-10, 20, 30]);
  assert.deepEqual(volume.direction, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  // Modality values: stored 1000 + k with intercept −1000 → k on every voxel of slice k.
  assert.equal(volume.data.length, 30);
  for (let k = 0; k < 5; k++)
    assertClose(volume.data.subarray(k * 6, k * 6 + 6), new Array<number>(6).fill(k));
});

test('an oblique stack is ordered by position projected on row × column', () => {
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  // Rows along (cos30, sin30, 0), columns straight down (0, 0, −1): normal = (−sin30, cos30, 0).
  const orientation = [c, s, 0, 0, 0, -1];
  const normal: Vec3 = [-s, c, 0];
  const origin: Vec3 = [5, -7, 12];
  const slices = [0, 1, 2, 3, 4].map((k) =>
    slice(
      `o${k}.dcm`,
      origin.map((o, i) => o + 3 * k * normal[i]!),
      k,
      {},
      orientation,
    ),
  );
  const volume = buildVolume(shuffle(slices));
  assert.deepEqual(volume.sliceSources, ['o0.dcm', 'o1.dcm', 'o2.dcm', 'o3.dcm', 'o4.dcm']);
  assertClose(volume.spacing, [0.5, 0.7, 3], 1e-9);
  assertClose(volume.origin, origin, 1e-9);
  assertClose(volume.direction, [c, s, 0, 0, 0, -1, -s, c, 0], 1e-9);
  // z of the patient plays no part: a naive sort on z would keep the shuffled order.
  assertClose(volume.data.subarray(0, 1), [-1000]);
});

test('positions written as DS strings are parsed', () => {
  const slices = [0, 1, 2].map((k) =>
    slice(`t${k}`, undefined, 0, { ImagePositionPatient: `0\\0\\${-2 * k}` }),
  );
  const volume = buildVolume(slices);
  assert.deepEqual(volume.sliceSources, ['t2', 't1', 't0']);
  assertClose(volume.spacing, [0.5, 0.7, 2], 1e-9);
});

test('a single slice takes its spacing from Spacing Between Slices or Slice Thickness', () => {
  assert.equal(
    buildVolume([slice('one', [0, 0, 0], 0, { SliceThickness: '1.25' })]).spacing[2],
    1.25,
  );
});

function refused(slices: VolumeSlice[], reason: RegExp): void {
  assert.throws(
    () => buildVolume(slices),
    (e: unknown) => {
      assert.ok(e instanceof RadiolensError, String(e));
      assert.equal(e.code, 'E_INCONSISTENT_SERIES');
      assert.match(e.message, reason);
      return true;
    },
  );
}

const regular = (): VolumeSlice[] => [0, 1, 2, 3].map((k) => slice(`r${k}.dcm`, [0, 0, 2 * k], 0));

test('refused: different orientation', () => {
  const slices = regular();
  slices[2] = slice('r2.dcm', [0, 0, 4], 0, {}, [1, 0, 0, 0, 0, -1]);
  refused(slices, /r2\.dcm has Image Orientation \(Patient\) 1\\0\\0\\0\\0\\-1/);
});

test('refused: different rows/columns', () => {
  const slices = regular();
  slices[1] = { ...slices[1]!, frame: monoFrame([0, 0, 0, 0], { columns: 2 }) };
  refused(slices, /r1\.dcm is 2×2 pixels but r0\.dcm is 2×3/);
});

test('refused: missing position', () => {
  const slices = regular();
  slices[3] = slice('r3.dcm', undefined, 0);
  refused(slices, /r3\.dcm has no usable Image Position \(Patient\)/);
});

test('refused: duplicate positions', () => {
  const slices = regular();
  slices[3] = slice('dup.dcm', [0, 0, 2], 0);
  refused(
    slices,
    /r1\.dcm and dup\.dcm are at the same position|dup\.dcm and r1\.dcm are at the same position/,
  );
});

test('refused: non-uniform spacing (a missing slice)', () => {
  const slices = [0, 1, 2, 4].map((k) => slice(`g${k}.dcm`, [0, 0, 2 * k], 0));
  refused(slices, /slice spacing is not uniform: 4\.000 mm between g2\.dcm and g4\.dcm/);
});

test('small rounding in positions is tolerated', () => {
  const slices = [0, 1, 2, 3].map((k) =>
    slice(`p${k}`, [0, 0, 0.62 * k + (k === 2 ? 0.004 : 0)], 0),
  );
  assert.equal(buildVolume(slices).depth, 4);
});

test('refused: mixed Frame of Reference UID', () => {
  const slices = regular();
  slices[2] = slice('r2.dcm', [0, 0, 4], 0, { FrameOfReferenceUID: '9.9.9' });
  refused(slices, /r2\.dcm has Frame of Reference UID 9\.9\.9 but r0\.dcm has 1\.2\.3/);
});

test('refused: positions off the normal (gantry tilt)', () => {
  const slices = [0, 1, 2, 3].map((k) => slice(`tilt${k}`, [0, 0.3 * k, 2 * k], 0));
  refused(slices, /tilt1 is 0\.300 mm off the slice normal/);
});

test('refused: missing pixel spacing, no slices', () => {
  const slices = regular();
  slices[0] = slice('r0.dcm', [0, 0, 0], 0, { PixelSpacing: undefined });
  refused(slices, /r0\.dcm has no usable Pixel Spacing/);
  refused([], /no slices/);
});
