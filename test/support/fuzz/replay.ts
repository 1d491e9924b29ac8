/**
 * The test each fuzz target gets beside its code: replay every corpus file (earlier findings
 * and hand-made seeds), then fuzz for a bounded time (RADIOLENS_FUZZ_SECONDS, default 8) and
 * print executions per second. Test support only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { corpusFiles, execute, formatReports, fuzz, type FuzzTarget } from './harness.js';

export const CORPUS_DIR = join(repoRoot, 'test', 'fuzz-corpus');

export function fuzzSecondsInTests(): number {
  const value = Number(process.env['RADIOLENS_FUZZ_SECONDS'] ?? '8');
  return Number.isFinite(value) && value > 0 ? value : 8;
}

export function fuzzTests(makeTarget: () => FuzzTarget): void {
  const target = makeTarget();
  void test(`${target.name}: every corpus file is refused with a code or read, within the bounds`, async () => {
    const files = corpusFiles(CORPUS_DIR, target);
    assert.ok(files.length > 0, `test/fuzz-corpus/${target.name}/ holds the seeds and findings`);
    for (const file of files) {
      await execute(target, file.bytes).catch((error: unknown) => {
        throw new Error(`test/fuzz-corpus/${target.name}/${file.name}: ${String(error)}`);
      });
    }
  });

  void test(`${target.name}: a bounded fuzzing run finds nothing`, async () => {
    const report = await fuzz(target, { seconds: fuzzSecondsInTests() });
    process.stdout.write(`${formatReports([report])}\n`);
    assert.equal(report.finding, undefined, report.finding);
    assert.ok(report.executions > 0);
  });
}
