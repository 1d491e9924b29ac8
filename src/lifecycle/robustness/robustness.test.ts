import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRaster, type GreyRaster } from '../../foundation/raster/index.js';
import { parseDicom } from '../../foundation/dicom/index.js';
import { readGreyImage } from '../../inference/imaging/index.js';
import { sharedDir, writeTestModelPackage } from '../../../test/support/index.js';
import {
  crop,
  describeWindowing,
  imageVersions,
  PERTURBATIONS,
  runRobustness,
  summariseRobustness,
  type ImageScores,
  type VersionId,
} from './index.js';

const nih = join(sharedDir, 'data', 'cxr-site-nih', 'images');

function raster(width: number, height: number, f: (i: number) => number): GreyRaster {
  return {
    width,
    height,
    bitDepth: 8,
    samples: Uint8Array.from({ length: width * height }, (_, i) => f(i)),
    lossy: false,
    convertedFromColour: false,
  };
}

test('each version is the change it claims, and the storage versions read back as the original', async () => {
  const path = join(nih, '00000150_002.png');
  const bytes = await readFile(path);
  const source = decodeRaster(bytes, path);
  const versions = imageVersions(source, {
    name: 'x.png',
    bytes,
    patientId: 'P1',
    viewPosition: 'PA',
  });
  const by = (id: VersionId) => versions.find((v) => v.id === id)!;
  assert.equal(by('original').bytes, bytes);
  const brighter = decodeRaster(by('brighter').bytes, 'b');
  const darker = decodeRaster(by('darker').bytes, 'd');
  for (const i of [0, 1000, 70000, 200000]) {
    const v = source.samples[i]!;
    assert.equal(brighter.samples[i], Math.min(255, Math.round(v * 1.05)));
    assert.equal(darker.samples[i], Math.round(v * 0.95));
  }
  const cropped = decodeRaster(by('cropped').bytes, 'c');
  assert.equal(cropped.width, 512 - 2 * 10);
  assert.equal(cropped.height, 512 - 2 * 10);
  assert.equal(cropped.samples[0], source.samples[10 * 512 + 10]);
  const jpeg = decodeRaster(by('jpeg85').bytes, 'j');
  assert.equal(jpeg.lossy, true);

  // Through the normal reader: 8-bit DICOM = the PNG exactly; 12-bit with its window within
  // the 12-bit rounding; without a window the pipeline's default decides.
  const work = await mkdtemp(join(tmpdir(), 'radiolens-rob-'));
  try {
    const grey: Record<string, Float32Array> = {};
    for (const v of versions) {
      const file = join(work, `${v.id}.${v.extension}`);
      await writeFile(file, v.bytes);
      grey[v.id] = (await readGreyImage(file)).grey.data;
    }
    assert.deepEqual(Array.from(grey['dicom8']!), Array.from(grey['original']!));
    let worst = 0;
    for (let i = 0; i < grey['original']!.length; i++)
      worst = Math.max(worst, Math.abs(grey['dicom12']![i]! - grey['original']![i]!));
    assert.ok(worst <= 0.5 / 4095 + 1e-6, `12-bit with window differs by ${worst}`);
    const twelve = parseDicom(by('dicom12NoWindow').bytes, 'n').dataset;
    assert.equal(twelve['BitsStored'], 12);
    assert.equal(twelve['WindowCenter'], undefined);
    assert.equal(twelve['ViewPosition'], 'PA');
    assert.equal(twelve['PatientID'], 'P1');
    const withWindow = parseDicom(by('dicom12').bytes, 'w').dataset;
    assert.equal(Number(withWindow['WindowWidth']), 4096);
    // The percentile default stretches this image: some value moves visibly.
    let moved = 0;
    for (let i = 0; i < grey['original']!.length; i++)
      moved = Math.max(moved, Math.abs(grey['dicom12NoWindow']![i]! - grey['original']![i]!));
    assert.ok(moved > 0.02, `no-window display moved only ${moved}`);
    // Declared as storedRange, the same file reads as the original again.
    const file = join(work, 'dicom12NoWindow.dcm');
    const stored = (
      await readGreyImage(file, { windowing: { kind: 'voiLut', fallback: 'storedRange' } })
    ).grey.data;
    let storedWorst = 0;
    for (let i = 0; i < stored.length; i++)
      storedWorst = Math.max(storedWorst, Math.abs(stored[i]! - grey['original']![i]!));
    assert.ok(storedWorst <= 0.5 / 4095 + 1e-6);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  assert.throws(
    () =>
      crop(
        raster(10, 10, () => 0),
        0.5,
      ),
    /leaves nothing/,
  );
  assert.match(describeWindowing(undefined), /0.5th to the 99.5th percentile/);
  assert.match(describeWindowing({ kind: 'voiLut', fallback: 'minMax' }), /minimum to its maximum/);
});

test('summary: score changes, flips in both directions, and the targets', () => {
  const image = (name: string, patient: string, ref: number, changed: number): ImageScores => {
    const scores = Object.fromEntries(
      [
        'original',
        'brighter',
        'darker',
        'cropped',
        'jpeg85',
        'dicom8',
        'dicom12',
        'dicom12NoWindow',
      ].map((id) => [id, ref]),
    ) as Record<VersionId, number>;
    scores.brighter = changed;
    return { image: name, patient, scores };
  };
  const images = [
    image('a', 'p1', 0.1, 0.3), // negative → positive at 0.25
    image('b', 'p1', 0.5, 0.2), // positive → negative
    image('c', 'p2', 0.6, 0.61),
    image('d', 'p3', 0.05, 0.05),
  ];
  const results = summariseRobustness(images, 0.25, { resamples: 200, seed: 1, level: 0.95 });
  const bright = results.find((r) => r.id === 'brightness+5')!;
  assert.equal(bright.images, 4);
  assert.equal(bright.flips.count, 2);
  assert.equal(bright.flips.toPositive, 1);
  assert.equal(bright.flips.toNegative, 1);
  assert.equal(bright.flips.share, 0.5);
  assert.ok(Math.abs(bright.meanAbsoluteChange.estimate - (0.2 + 0.3 + 0.01) / 4) < 1e-12);
  assert.ok(Math.abs(bright.meanChange.estimate - (0.2 - 0.3 + 0.01) / 4) < 1e-12);
  assert.equal(bright.meanAbsoluteChange.units, 3, 'patients are the units');
  assert.equal(bright.largestChange.image, 'b');
  assert.equal(bright.targets.flips.met, false);
  const still = results.find((r) => r.id === 'jpeg85')!;
  assert.equal(still.flips.count, 0);
  assert.equal(still.meanAbsoluteChange.estimate, 0);
  assert.equal(still.targets.flips.met, true);
  assert.equal(still.targets.flips.metByUpperBound, false, '0 of 4 does not show ≤ 2%');
  assert.equal(results.length, PERTURBATIONS.length);
});

test('real images through a real model: every version scored by the normal path', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-rob-run-'));
  try {
    const pkg = await writeTestModelPackage(join(work, 'pkg'), { size: 32 });
    const items = ['00000150_002.png', '00000459_041.png'].map((f, i) => ({
      path: join(nih, f),
      image: f,
      patient: `p${i}`,
    }));
    const run = await runRobustness(pkg, items, { viewPosition: 'PA', keepIn: join(work, 'v') });
    assert.deepEqual(run.failed, []);
    assert.equal(run.images.length, 2);
    for (const i of run.images) {
      assert.equal(Object.keys(i.scores).length, 8);
      // The 8-bit DICOM and the PNG are the same display grey: the same score.
      assert.equal(i.scores.dicom8, i.scores.original);
    }
    // The test model's intended use needs a View Position: without one the DICOM versions
    // are refused by the normal intended-use check, and the image is listed, not dropped.
    const refused = await runRobustness(pkg, items.slice(0, 1));
    assert.equal(refused.images.length, 0);
    assert.match(refused.failed[0]!.problem, /dicom8: .*not analysed/);
    const dicomSource = await runRobustness(pkg, [
      { path: join(work, 'v', '0-dicom8.dcm'), image: 'x.dcm', patient: null },
    ]);
    assert.match(dicomSource.failed[0]!.problem, /not a PNG or JPEG/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
