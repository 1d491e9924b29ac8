import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../../../test/support/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import { resizeArea, type GreyImage } from '../imaging/index.js';
import { InferencePool, loadModelPackage } from '../models/index.js';
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
