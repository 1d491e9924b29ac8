import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRegistry, validateManifest } from '../../inference/models/index.js';
import { scoreImages } from '../../inference/analysis/index.js';
import { encodePng } from '../../foundation/raster/index.js';
import {
  repoRoot,
  seededRandom,
  sharedDir,
  conformanceDir,
  writeTestModelPackage,
} from '../../../test/support/index.js';
import { evaluateOodSet, extractPooledFeatures, wilson } from './index.js';
import {
  fitOodStatistics,
  loadPackageOodStatistics,
  oodFlag,
  oodFlagFor,
  parseOodStatistics,
  percentileOf,
  serialiseOodStatistics,
} from '../../inference/ood/index.js';

const MODEL = { id: 'm', version: '1.0.0', onnxSha256: 'a'.repeat(64) };

function gaussianSamples(n: number, p: number, seed: number): number[][] {
  const random = seededRandom(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: n }, () => {
    const z = Array.from({ length: p }, normal);
    // Correlate the dimensions so the covariance is not already the identity.
    return z.map((v, j) => v + (j > 0 ? 0.8 * z[j - 1]! : 0));
  });
}

test('percentileOf interpolates between order statistics like numpy', () => {
  assert.equal(percentileOf([5, 1, 3, 2, 4], 50), 3);
  assert.ok(Math.abs(percentileOf([1, 2, 3, 4, 5], 90) - 4.6) < 1e-12);
  assert.equal(percentileOf([7], 99), 7);
});

test('threshold: ~1% of new in-distribution samples flagged, far points flagged, out-of-fold ≥ in-sample', () => {
  const fit = gaussianSamples(600, 8, 1);
  const stats = fitOodStatistics(fit, { model: MODEL, percentile: 99 });
  const inSample = fitOodStatistics(fit, { model: MODEL, percentile: 99, folds: 0 });
  assert.equal(stats.thresholdSource, 'out-of-fold');
  assert.equal(inSample.thresholdSource, 'in-sample');
  assert.ok(stats.threshold >= inSample.threshold, `${stats.threshold} < ${inSample.threshold}`);
  const fresh = gaussianSamples(2000, 8, 2);
  const rate = fresh.filter((x) => oodFlag(stats, x).flagged).length / fresh.length;
  assert.ok(rate > 0.002 && rate < 0.03, `false-flag rate ${rate}`);
  const far = oodFlag(stats, new Array<number>(8).fill(6));
  assert.equal(far.flagged, true);
  assert.equal(far.threshold, stats.threshold);
  // Exactly at the threshold is not flagged: "above" the percentile means outside.
  const flag = oodFlag({ ...stats, threshold: oodFlag(stats, fresh[0]!).distance }, fresh[0]!);
  assert.equal(flag.flagged, false);
});

test('groups keep a patient in one fold; statistics survive a round trip through JSON', () => {
  const fit = gaussianSamples(60, 3, 3);
  const groups = fit.map((_, i) => `p${Math.floor(i / 3)}`);
  const stats = fitOodStatistics(fit, { model: MODEL, groups, fitSources: ['a.csv'] });
  const back = parseOodStatistics(serialiseOodStatistics(stats), 'x.json');
  assert.deepEqual(back.fitSources, ['a.csv']);
  const x = [1, -2, 0.5];
  assert.ok(Math.abs(oodFlag(back, x).distance - oodFlag(stats, x).distance) < 1e-5);
  assert.throws(
    () => parseOodStatistics('{"schema":"nope"}', 'bad.json'),
    /bad\.json is not OOD statistics/,
  );
  assert.throws(
    () => parseOodStatistics(JSON.stringify({ ...stats, mean: [1] }), 'cut.json'),
    /cut\.json: mean has 1/,
  );
  assert.throws(() => fitOodStatistics(fit, { model: MODEL, groups: ['x'] }), /1 group ids for 60/);
});

test('wilson interval brackets the rate and stays in [0, 1]', () => {
  const [lo, hi] = wilson(0, 20);
  assert.equal(lo, 0);
  assert.ok(hi > 0.1 && hi < 0.2);
  const [a, b] = wilson(50, 100);
  assert.ok(a < 0.5 && b > 0.5 && Math.abs(0.5 - a - (b - 0.5)) < 1e-12);
});

test('real images through a real model: features, package statistics, flags, set evaluation', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-ood-'));
  try {
    const plain = await writeTestModelPackage(join(work, 'plain'), { size: 32 });
    const nih = join(sharedDir, 'data', 'cxr-site-nih', 'images');
    const chest = ['00000061_012.png', '00000061_015.png'].map((f) => join(nih, f));
    const ct = join(conformanceDir, 'cornerstone3D', 'CTImage.dcm');
    const features = await extractPooledFeatures([...chest, ct, join(work, 'missing.dcm')], plain);
    assert.equal(features[0]!.pooled!.length, 8);
    assert.equal(features[0]!.kind, 'raster');
    assert.match(features[2]!.kind, /^CT\//);
    assert.ok(features[2]!.pooled, features[2]!.problem ?? '');
    assert.equal(features[3]!.pooled, null);
    assert.match(features[3]!.problem!, /cannot read/);

    // Statistics over the two chest images plus jitter, shipped inside a package.
    const base = Array.from(features[0]!.pooled!);
    const random = seededRandom(5);
    const fit = Array.from({ length: 40 }, () =>
      base.map((v) => v * (1 + 0.05 * (random() - 0.5))),
    );
    const onnxSha256 = plain.manifest.files['model.onnx']!;
    const stats = fitOodStatistics(fit, { model: { id: 'x', version: '1', onnxSha256 } });
    const pkg = await writeTestModelPackage(join(work, 'with-ood'), {
      size: 32,
      extraFiles: { 'ood.json': serialiseOodStatistics(stats) },
      edit: (m) => ({
        ...m,
        ood: {
          file: 'ood.json',
          method: 'mahalanobis-ledoit-wolf',
          threshold: stats.threshold,
          percentile: 99,
        },
      }),
    });
    const loaded = await loadPackageOodStatistics(pkg);
    assert.ok(loaded);
    // The manifest field must name a file the package lists (and so hashes).
    const unlisted = validateManifest({
      ...pkg.manifest,
      ood: { ...pkg.manifest.ood!, file: 'other.json' },
    });
    assert.ok(!unlisted.ok && unlisted.issues.some((i) => i.path === '$.ood.file'));
    const viaPackage = await oodFlagFor(pkg, features[2]!.pooled!);
    assert.equal(viaPackage?.flagged, true, 'a CT slice is far from chest radiograph features');
    assert.equal(await oodFlagFor(plain, features[2]!.pooled!), null);

    const set = evaluateOodSet(loaded, 'conformance', 'out-of-distribution', features.slice(2));
    assert.equal(set.images, 2);
    assert.equal(set.decoded, 1);
    assert.equal(set.flagged, 1);
    assert.equal(set.undecodable.length, 1);
    assert.equal(set.duplicates, 0);

    // Statistics fitted for another graph are refused.
    const wrong = { ...stats, model: { ...stats.model, onnxSha256: 'b'.repeat(64) } };
    await assert.rejects(
      writeTestModelPackage(join(work, 'wrong'), {
        size: 32,
        extraFiles: { 'ood.json': serialiseOodStatistics(wrong) },
        edit: (m) => ({
          ...m,
          ood: {
            file: 'ood.json',
            method: 'mahalanobis-ledoit-wolf',
            threshold: wrong.threshold,
            percentile: 99,
          },
        }),
      }).then(loadPackageOodStatistics),
      /was fitted on model\.onnx bbbbbbbbbbbb/,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('a lung-field classifier: features of the lung-field crop analyze scores, and refused images have none', async () => {
  const work = await mkdtemp(join(tmpdir(), 'radiolens-ood-lung-'));
  try {
    const pkg = await new ModelRegistry(join(repoRoot, 'models')).resolve('cxr-pneumonia', '2.0.2');
    assert.ok(pkg.manifest.input.region, '2.0.2 is a lung-field classifier');
    const chest = join(sharedDir, 'data', 'cxr-site-nih', 'images', '00001054_002.png');
    // A flat grey field: no lungs for the pixel check to find.
    const flat = join(work, 'flat.png');
    await writeFile(
      flat,
      encodePng({ width: 256, height: 256, bitDepth: 8, samples: new Uint8Array(256 * 256) }),
    );
    const [lungs, blank] = await extractPooledFeatures([chest, flat], pkg);
    assert.equal(lungs!.refused, null);
    assert.equal(lungs!.pooled!.length, 192);
    assert.equal(blank!.pooled, null);
    assert.equal(blank!.kind, 'raster', 'a refused image keeps what it is');
    assert.match(blank!.refused!, /lung/i);
    assert.match(blank!.problem!, /^not analysed: /);
    // The same features, and score, as the path validate and analyze take.
    const [scored] = await scoreImages([chest], pkg);
    assert.deepEqual(Array.from(lungs!.pooled!), Array.from(scored!.pooledFeatures!));
    assert.deepEqual(Array.from(lungs!.scores!), Array.from(scored!.scores!));

    const set = evaluateOodSet(
      fitOodStatistics(
        Array.from({ length: 400 }, (_, i) =>
          Array.from(lungs!.pooled!, (v, k) => v + 0.01 * Math.sin(i * 7 + k)),
        ),
        { model: MODEL },
      ),
      'two',
      'out-of-distribution',
      [lungs!, blank!],
    );
    assert.deepEqual([set.images, set.decoded, set.undecodable.length], [2, 1, 0]);
    assert.deepEqual(set.refused, [{ path: flat, kind: 'raster', reason: blank!.refused! }]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
