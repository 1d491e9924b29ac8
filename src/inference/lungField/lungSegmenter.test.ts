import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, sharedDir } from '../../../test/support/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import { readGreyImage, resizeArea, type GreyImage } from '../imaging/index.js';
import { InferencePool, loadModelPackage } from '../models/index.js';
import { cropGrey, type SourceBox } from './procedure.js';
import { edgeGuardBox } from './edgeGuard.js';
import { LungSegmenter } from './lungSegmenter.js';

/** A chest-like picture: two dark ovals in a brighter body on a dark background. */
function chestLike(width: number, height: number): GreyImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x + 0.5) / width;
      const v = (y + 0.5) / height;
      const body = ((u - 0.5) / 0.42) ** 2 + ((v - 0.55) / 0.48) ** 2 <= 1 ? 0.75 : 0.05;
      const lung = (cx: number): boolean => ((u - cx) / 0.14) ** 2 + ((v - 0.5) / 0.3) ** 2 <= 1;
      data[y * width + x] = lung(0.3) || lung(0.7) ? 0.2 + 0.1 * v : body + 0.05 * u;
    }
  }
  return { width, height, data };
}

test('segmentResized on the grid one pass made gives what segment gives, bit for bit', async () => {
  const pool = new InferencePool({ threads: 1 });
  const pkg = await loadModelPackage(join(repoRoot, 'models', 'cxr-lungs', '1.0.0'));
  const segmenter = await LungSegmenter.open(pkg, { pool });
  try {
    const images = [chestLike(1024, 896), chestLike(300, 400)];
    const grids = images.map((image) => {
      const size = segmenter.gridSize(image.width, image.height);
      assert.deepEqual(size, { width: 256, height: 256 }, 'LUNG_FIELD.md step 1 stretches');
      return { width: image.width, height: image.height, grid: resizeArea(image, 256, 256) };
    });
    assert.deepEqual(await segmenter.segmentResized(grids), await segmenter.segment(images));
    await assert.rejects(
      segmenter.segmentResized([
        { width: 1024, height: 896, grid: resizeArea(images[0]!, 128, 128) },
      ]),
      (e: unknown) => e instanceof RadiolensError && e.code === 'E_BAD_INPUT',
    );
  } finally {
    await segmenter.dispose();
    await pool.close();
  }
});

test('with an edge guard, segmentResized (given the grey) still gives what segment gives', async () => {
  const pool = new InferencePool({ threads: 1 });
  const pkg = await loadModelPackage(join(repoRoot, 'models', 'cxr-lungs', '1.0.0'));
  const segmenter = await LungSegmenter.open(pkg, { pool });
  try {
    const image = chestLike(1024, 896);
    const grid = resizeArea(image, 256, 256);
    const guard = { edgeGuardInset: 0.04 };
    const guarded = await segmenter.segment([image], guard);
    assert.deepEqual(
      await segmenter.segmentResized([{ width: 1024, height: 896, grid, grey: image }], guard),
      guarded,
    );
    assert.notDeepEqual(guarded, await segmenter.segment([image]), 'the guard changes the maps');
    // The inset view's grid made beforehand (analyze makes it in the one pass) gives the same.
    const box = edgeGuardBox(1024, 896, 0.04);
    assert.deepEqual(
      await segmenter.segmentResized(
        [{ width: 1024, height: 896, grid, insetGrid: resizeArea(image, 256, 256, box) }],
        guard,
      ),
      guarded,
    );
    await assert.rejects(
      segmenter.segmentResized([{ width: 1024, height: 896, grid }], guard),
      (e: unknown) =>
        e instanceof RadiolensError &&
        e.code === 'E_BAD_INPUT' &&
        /needs the image/.test(e.message),
    );
  } finally {
    await segmenter.dispose();
    await pool.close();
  }
});

const SITE = join(sharedDir, 'data', 'cxr-site-nih', 'images');

test(
  'the edge guard holds the lung field still when 2% is cropped off an image whose field ran into the air beside the body',
  { skip: existsSync(SITE) ? false : `no shared data under ${SITE}` },
  async () => {
    // ADR 0162/0165: on 00001054_002 cxr-lungs 1.0.0's left lung runs on into the dark air at
    // the bottom right; with 2% cut off each side it does not, and the classifier's crop moved.
    const pool = new InferencePool({ threads: 1 });
    const pkg = await loadModelPackage(join(repoRoot, 'models', 'cxr-lungs', '1.0.0'));
    const segmenter = await LungSegmenter.open(pkg, { pool });
    try {
      const { grey: image } = await readGreyImage(join(SITE, '00001054_002.png'));
      const dx = Math.floor(0.02 * image.width);
      const dy = Math.floor(0.02 * image.height);
      const cropped = cropGrey(image, {
        left: dx,
        top: dy,
        right: image.width - dx,
        bottom: image.height - dy,
      });
      /** The largest move of a crop-box side, over the whole image's box size. */
      const moved = async (inset: number | undefined): Promise<number> => {
        const [whole, cut] = await segmenter.segment([image, cropped], { edgeGuardInset: inset });
        const a = whole!.field.box!;
        const b = cut!.field.box!;
        const shift = (k: keyof SourceBox, size: number, by: number): number =>
          Math.abs(b[k] + by - a[k]) / size;
        const w = a.right - a.left;
        const h = a.bottom - a.top;
        assert.ok(whole!.field.plausible && cut!.field.plausible);
        return Math.max(
          shift('left', w, dx),
          shift('right', w, dx),
          shift('top', h, dy),
          shift('bottom', h, dy),
        );
      };
      const unguarded = await moved(undefined);
      const guarded = await moved(0.04);
      assert.ok(unguarded > 0.2, `without the guard the box moves by ${unguarded}`);
      assert.ok(guarded < 0.05, `with it by ${guarded}`);
    } finally {
      await segmenter.dispose();
      await pool.close();
    }
  },
);
