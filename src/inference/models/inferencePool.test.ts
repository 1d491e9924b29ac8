import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { InferencePool, createModelRunner } from './index.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-pool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a slow model runs without blocking the event loop', async (t) => {
  // DenseNet-121 at 640²: hundreds of ms per run on two cores. On the main thread, the event
  // loop would stand still for the whole run; in the pool's thread it keeps turning.
  const pkg = await writeTestModelPackage(join(await tempDir(t), 'slow'), {
    architecture: 'densenet121',
    size: 640,
  });
  const pool = new InferencePool({ threads: 1 });
  t.after(() => pool.close());
  const runner = await createModelRunner(pkg, { pool });
  const input = new Float32Array(3 * 640 * 640).fill(0.5);
  await runner.run([input]); // warm-up: the first run also plans the graph
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  await runner.run([input]);
  const runMs = performance.now() - started;
  delay.disable();
  const maxDelayMs = delay.max / 1e6;
  assert.ok(runMs > 150, `the model must be slow for this test to mean anything (${runMs} ms)`);
  assert.ok(
    maxDelayMs < runMs / 2,
    `the event loop stalled ${maxDelayMs.toFixed(0)} ms during a ${runMs.toFixed(0)} ms run`,
  );
  await runner.dispose();
});

test('runs in flight when a thread stops fail with E_MODEL_RUNTIME; the next run reopens the session', async (t) => {
  const pkg = await writeTestModelPackage(join(await tempDir(t), 'small'), { size: 16 });
  const pool = new InferencePool({ threads: 1 });
  t.after(() => pool.close());
  const runner = await createModelRunner(pkg, { pool });
  const image = new Float32Array(16 * 16).fill(0.25);
  const before = await runner.run([image]);
  const inFlight = runner.run([image]);
  await pool.close();
  await assert.rejects(inFlight, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'E_MODEL_RUNTIME');
    assert.match(error.message, /inference thread stopped/);
    return true;
  });
  const after = await runner.run([image]);
  assert.deepEqual(after.scores, before.scores);
  await runner.dispose();
});

test('two runners on one pool share its threads and keep their own sessions', async (t) => {
  const dir = await tempDir(t);
  const a = await writeTestModelPackage(join(dir, 'a'), { size: 16, seed: 1 });
  const b = await writeTestModelPackage(join(dir, 'b'), { size: 16, seed: 2 });
  const pool = new InferencePool({ threads: 2 });
  t.after(() => pool.close());
  const [ra, rb] = await Promise.all([
    createModelRunner(a, { pool }),
    createModelRunner(b, { pool }),
  ]);
  const image = new Float32Array(16 * 16).fill(0.5);
  const alone = (await ra.run([image])).scores[0]![0];
  const together = await Promise.all(
    Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? ra : rb).run([image])),
  );
  for (let i = 0; i < together.length; i += 2) assert.equal(together[i]!.scores[0]![0], alone);
  assert.notEqual(together[1]!.scores[0]![0], alone);
  await rb.dispose();
  // A released session is gone; the other one still runs.
  await assert.rejects(rb.run([image]), /E_MODEL_RUNTIME/);
  assert.equal((await ra.run([image])).scores[0]![0], alone);
  await ra.dispose();
});

test('a pool size that is not a positive integer is refused with what to set', () => {
  assert.throws(() => new InferencePool({ threads: 0 }), /RADIOLENS_INFERENCE_THREADS/);
});
