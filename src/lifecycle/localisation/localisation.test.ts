import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { loadCamHead } from '../../inference/explain/index.js';
import { createModelRunner } from '../../inference/models/index.js';
import { writeQuadrantCamPackage, writeTestModelPackage } from '../../../test/support/index.js';
import {
  borderBandShare,
  boxesFromCsv,
  boxesToMask,
  buildLocalisationReport,
  centreWeightedMap,
  energyShare,
  explainImage,
  localiseImage,
  lungFieldFromMasks,
  lungFieldFromProbabilities,
  masksFrom,
  peakOf,
  renderLocalisationHtml,
  runLocalisation,
  summariseLocalisation,
  type ImageLocalisation,
} from './index.js';

function greyPng(width: number, height: number, value: (x: number, y: number) => number): Buffer {
  const png = new pngjs.PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  png.data = data;
  return pngjs.PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}

test('boxes become masks by pixel centres; boxes outside the image are refused', () => {
  const mask = boxesToMask([{ x: 1.5, y: 0, width: 2, height: 1.4 }], 5, 3, 't');
  // Centres 2.5 and 3.5 are in [1.5, 3.5)? 3.5 is not: columns 2 only... and 1.5? no (centre 1.5 ≥ 1.5 → column 1).
  assert.deepEqual(Array.from(mask.data), [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const union = boxesToMask(
    [
      { x: 0, y: 0, width: 1, height: 1 },
      { x: 4, y: 2, width: 5, height: 5 },
    ],
    5,
    3,
    't',
  );
  assert.deepEqual(Array.from(union.data), [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.throws(
    () => boxesToMask([{ x: 600, y: 10, width: 20, height: 20 }], 512, 512, 'boxes.csv'),
    /covers no pixel of the 512×512 image/,
  );
  assert.throws(
    () => boxesToMask([{ x: 1, y: 1, width: 0, height: 3 }], 5, 5, 'b'),
    /positive width and height/,
  );
});

test('peak, energy, border band and the centre-weighted map', () => {
  // A plateau of equal maxima resolves to the pixel nearest its centre, not the first scanned.
  const plateau = new Float32Array(25);
  for (const i of [5, 6, 7, 8, 9]) plateau[i] = 1;
  assert.deepEqual(peakOf(plateau, 5), { x: 2, y: 1 });
  assert.equal(peakOf(new Float32Array(9), 3), null);
  const region = { width: 2, height: 2, data: Uint8Array.of(1, 0, 0, 0) };
  assert.equal(energyShare(Float32Array.of(3, 1, 0, 0), region), 0.75);
  assert.equal(energyShare(new Float32Array(4), region), null);
  // 10% on each side of a 100×100 image: 1 − 0.8² of the pixels.
  assert.ok(Math.abs(borderBandShare(100, 100) - 0.36) < 1e-12);
  const centre = centreWeightedMap(64, 32);
  assert.deepEqual(centre.peak, { x: 31, y: 15 });
  assert.ok(centre.data[15 * 64 + 31]! > centre.data[0]! * 10);
});

test('one image against a region and a lung field, with both baselines', () => {
  const width = 20;
  const height = 10;
  const data = new Float32Array(width * height);
  data[1 * width + 1] = 4; // the peak: top-left corner, inside the border band
  data[5 * width + 10] = 1;
  const region = boxesToMask([{ x: 0, y: 0, width: 5, height: 5 }], width, height, 'r');
  const lungs = boxesToMask([{ x: 8, y: 2, width: 10, height: 6 }], width, height, 'l');
  const m = localiseImage({
    image: 'a.png',
    patient: 'p1',
    score: 0.7,
    heatmap: { width, height, data, max: 4 },
    region,
    lungs,
  });
  assert.deepEqual(m.peak, { x: 1, y: 1 });
  assert.equal(m.region!.hit, true);
  assert.equal(m.region!.energyShare, 0.8);
  assert.equal(m.region!.areaShare, 25 / 200);
  assert.equal(m.lungs!.peakInside, false);
  assert.equal(m.lungs!.energyShare, 0.2);
  assert.equal(m.peakInBorder, true);
  assert.equal(m.baselines.random.hit, 25 / 200);
  assert.equal(m.baselines.random.peakInLungs, 60 / 200);
  assert.equal(m.baselines.centre.hit, false);
  assert.equal(m.baselines.centre.peakInLungs, true);
  assert.equal(m.baselines.centre.peakInBorder, false);
  assert.throws(
    () =>
      localiseImage({
        image: 'b.png',
        patient: null,
        score: 0,
        heatmap: { width, height, data, max: 4 },
        region: boxesToMask([{ x: 0, y: 0, width: 2, height: 2 }], 10, 10, 'r'),
        lungs: null,
      }),
    /region is 10×10, the heatmap 20×10/,
  );
});

test('summary: Wilson rates, expected random hit rate, clustered when every image names a patient', () => {
  const make = (hit: boolean, area: number, patient: string | null): ImageLocalisation => ({
    image: `${patient}-${area}`,
    patient,
    width: 10,
    height: 10,
    score: 0.5,
    heatmapMax: 1,
    peak: { x: 5, y: 5 },
    region: { areaShare: area, hit, energyShare: hit ? 0.6 : 0.1 },
    lungs: null,
    peakInBorder: false,
    baselines: {
      random: {
        hit: area,
        energyInRegion: area,
        energyInLungs: null,
        peakInLungs: null,
        peakInBorder: 0.36,
      },
      centre: {
        hit: false,
        energyInRegion: 0.05,
        energyInLungs: null,
        peakInLungs: null,
        peakInBorder: false,
      },
    },
  });
  const images = [
    make(true, 0.1, 'p1'),
    make(true, 0.1, 'p1'),
    make(false, 0.2, 'p2'),
    make(true, 0.1, 'p3'),
    make(false, 0.1, 'p4'),
  ];
  const s = summariseLocalisation(images, { resamples: 500, seed: 3 });
  assert.equal(s.patients, 4);
  assert.equal(s.pointing!.model.successes, 3);
  assert.equal(s.pointing!.model.total, 5);
  assert.ok(Math.abs(s.pointing!.random.estimate - 0.12) < 1e-12);
  assert.ok(Math.abs(s.pointing!.modelOverRandom.estimate - 0.6 / 0.12) < 1e-9);
  assert.equal(s.pointing!.modelOverRandom.units, 4);
  assert.ok(s.pointing!.model.ci[0] < 0.6 && s.pointing!.model.ci[1] > 0.6);
  assert.equal(s.energyInLungs, null);
  assert.equal(s.peakInLungs, null);
  assert.equal(s.peakInBorder!.model.successes, 0);
  const unclustered = summariseLocalisation(
    images.map((i) => ({ ...i, patient: null })),
    { resamples: 500, seed: 3 },
  );
  assert.equal(unclustered.patients, null);
  assert.equal(unclustered.energyInRegion!.model.units, 5);
  assert.throws(() => summariseLocalisation([]), /no image had an annotated region/);
});

test('a model whose evidence is known: its heatmap points at it, and the measure can fail', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-loc-'));
  try {
    const pkg = await writeQuadrantCamPackage(join(work, 'models'), 16);
    // Bright texture in the top-left quadrant (the only place the model looks), dim elsewhere;
    // 64×48 so the heatmap is resampled onto a non-square source.
    const images = join(work, 'images');
    await mkdir(images);
    const names = ['a.png', 'b.png', 'c.png'];
    for (const [k, name] of names.entries()) {
      await writeFile(
        join(images, name),
        greyPng(64, 48, (x, y) =>
          x < 32 && y < 24 ? 120 + ((x * 7 + y * 13 + k * 5) % 100) : 10 + ((x + y) % 5),
        ),
      );
    }
    const runner = await createModelRunner(pkg);
    const head = await loadCamHead(pkg);
    const grey = {
      width: 64,
      height: 48,
      data: Float32Array.from({ length: 64 * 48 }, (_, i) =>
        i % 64 < 32 && i < 64 * 24 ? 0.8 : 0.05,
      ),
    };
    const { heatmap, score } = await explainImage(pkg, runner, head, grey, 0);
    await runner.dispose();
    assert.equal(heatmap.width, 64);
    assert.equal(heatmap.height, 48);
    assert.ok(score > 0.5);
    const peak = peakOf(heatmap.data, 64)!;
    assert.ok(peak.x < 32 && peak.y < 24, `peak ${JSON.stringify(peak)} outside the evidence`);

    const csv = (rows: string[]): string => `${rows.join('\n')}\n`;
    await writeFile(
      join(work, 'labels.csv'),
      csv(['image,patient_id', ...names.map((n, i) => `images/${n},p${i}`), 'images/none.png,p9']),
    );
    // Right: the box on the evidence. Wrong: a box on the opposite quadrant.
    await writeFile(
      join(work, 'right.csv'),
      csv(['image,x,y,width,height', ...names.map((n) => `images/${n},0,0,32,24`)]),
    );
    await writeFile(
      join(work, 'wrong.csv'),
      csv(['image,x,y,width,height', ...names.map((n) => `images/${n},32,24,32,24`)]),
    );
    // Lung masks as files for two of the images (by name), the left half of the image.
    await mkdir(join(work, 'lungs'));
    for (const n of names.slice(0, 2))
      await writeFile(
        join(work, 'lungs', n),
        greyPng(64, 48, (x) => (x < 32 ? 255 : 0)),
      );
    const items = [...names, 'none.png'].map((n, i) => ({
      image: `images/${n}`,
      path: join(images, n),
      patient: `p${i}`,
    }));
    const lungs = lungFieldFromMasks(await masksFrom(join(work, 'lungs'), 'lung masks'));
    const right = await runLocalisation(pkg, items, {
      regions: boxesFromCsv(join(work, 'right.csv')),
      lungs,
    });
    assert.equal(right.failed.length, 0, JSON.stringify(right.failed));
    assert.deepEqual(right.unannotated, ['images/none.png']);
    assert.equal(right.measured.length, 3);
    const wrong = await runLocalisation(pkg, items, {
      regions: boxesFromCsv(join(work, 'wrong.csv')),
      lungs: null,
    });
    const r = summariseLocalisation(right.measured, { resamples: 200 });
    const w = summariseLocalisation(wrong.measured, { resamples: 200 });
    assert.equal(r.pointing!.model.successes, 3);
    assert.equal(w.pointing!.model.successes, 0);
    assert.ok(r.energyInRegion!.model.estimate > 0.9);
    assert.ok(w.energyInRegion!.model.estimate < 0.1);
    assert.ok(Math.abs(r.pointing!.random.estimate - 0.25) < 1e-12);
    assert.equal(r.peakInLungs!.peaks, 2);
    assert.equal(r.peakInLungs!.model.successes, 2);

    const report = buildLocalisationReport({
      model: { id: pkg.manifest.id, version: pkg.manifest.version },
      label: 'pneumonia',
      explanation: 'exact Grad-CAM',
      dataset: 'labels.csv',
      regions: 'right.csv',
      lungFields: lungs.description,
      images: right.measured,
      unannotated: 1,
      bootstrap: { resamples: 200, seed: 1, level: 0.95 },
    });
    assert.equal(report.targets.hitRateOverRandom!.met, true);
    assert.equal(report.targets.peaksInLungs!.estimate, 1);
    assert.match(renderLocalisationHtml(report), /pointing game: peak inside the annotated region/);

    // A mask of another size than its image is refused, not resampled.
    await writeFile(
      join(work, 'lungs', 'c.png'),
      greyPng(32, 24, () => 255),
    );
    const mismatch = await runLocalisation(pkg, items.slice(2, 3), {
      regions: null,
      lungs: lungFieldFromMasks(await masksFrom(join(work, 'lungs'), 'lung masks')),
    });
    assert.match(mismatch.failed[0]!.problem, /is 32×24 but its image is 64×48/);

    // Occlusion-explained packages are measured the same way.
    const occlusion = await writeTestModelPackage(join(work, 'occl'), {
      architecture: 'quadrant',
      size: 16,
      resize: 'stretch',
    });
    const viaOcclusion = await runLocalisation(occlusion, items.slice(0, 1), {
      regions: boxesFromCsv(join(work, 'right.csv')),
      lungs: null,
    });
    assert.equal(viaOcclusion.measured[0]!.region!.hit, true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('a segmentation model plugs in as probability maps', async () => {
  const source = lungFieldFromProbabilities('two-channel test', (grey) =>
    Promise.resolve([
      Float32Array.from({ length: grey.width * grey.height }, (_, i) => (i === 0 ? 0.9 : 0.1)),
      Float32Array.from({ length: grey.width * grey.height }, (_, i) => (i === 3 ? 0.5 : 0.4)),
    ]),
  );
  const mask = await source.lungField({
    path: 'x',
    grey: { width: 2, height: 2, data: new Float32Array(4) },
  });
  assert.deepEqual(Array.from(mask!.data), [1, 0, 0, 1]);
  assert.match(source.description, /probability ≥ 0.5/);
});
