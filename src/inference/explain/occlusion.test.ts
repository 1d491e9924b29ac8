import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelRunner } from '../models/index.js';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { occlusionSensitivity } from './occlusion.js';

test('occlusion highlights the only region that drives the score', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-occ-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The quadrant model's score depends on the top-left 8x8 of its 16x16 input only.
  const pkg = await writeTestModelPackage(dir, { architecture: 'quadrant' });
  const runner = await createModelRunner(pkg, { intraOpThreads: 1 });
  t.after(() => runner.dispose());
  const spec = pkg.manifest.explanation;
  assert.equal(spec.method, 'occlusion');
  if (spec.method !== 'occlusion') return;
  const input = { data: new Float32Array(256).fill(1), channels: 1, width: 16, height: 16 };
  const heatmap = await occlusionSensitivity((b) => runner.run(b), input, spec);
  assert.equal(heatmap.data.length, 256);
  let inside = 0;
  let outside = 0;
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const v = heatmap.data[y * 16 + x]!;
      if (x < 8 && y < 8) inside += v;
      else outside += v;
      // Patches that reach pixels this far right or down never overlap the quadrant.
      if (x >= 10 || y >= 10) assert.equal(v, 0, `(${x},${y})`);
    }
  }
  // The band x,y in 8..9 gets a share from patches straddling the quadrant's edge.
  assert.ok(inside / (inside + outside) > 0.85, `inside ${inside}, outside ${outside}`);
  assert.ok(heatmap.data[3 * 16 + 3]! === heatmap.max);

  // Batch size changes nothing; a target resamples onto the image.
  const single = await occlusionSensitivity((b) => runner.run(b), input, spec, { batchSize: 1 });
  assert.ok(single.data.every((v, i) => Math.abs(v - heatmap.data[i]!) < 1e-6));
  const onImage = await occlusionSensitivity((b) => runner.run(b), input, spec, {
    target: { width: 64, height: 64 },
  });
  assert.equal(onImage.width, 64);
  assert.ok(onImage.data[10 * 64 + 10]! > 0 && onImage.data[60 * 64 + 60] === 0);
});

test('occlusion refuses a patch larger than the input', async () => {
  const input = { data: new Float32Array(16), channels: 1, width: 4, height: 4 };
  await assert.rejects(
    occlusionSensitivity(async (b) => ({ scores: b.map(() => Float32Array.of(0)) }), input, {
      patch: 5,
      stride: 1,
    }),
    /E_BAD_INPUT: occlusion: patch 5/,
  );
});
