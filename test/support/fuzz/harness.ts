/**
 * A small fuzzing harness on fast-check (ADR 0125): each target turns generated or mutated
 * bytes into a call of the product's parser and says what counts as a failure. Across all
 * targets, a crash or an error that is not a RadiolensError, one execution over a time bound
 * and memory growth over a bound are findings. A finding is shrunk by fast-check and, when a
 * corpus folder is given, written there as a file; the corpus replay test then runs every
 * file as an ordinary test. Test support only.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isRadiolensError } from '../../../src/foundation/core/index.js';

export interface FuzzTarget {
  /** Folder name under test/fuzz-corpus/ and the name in reports. */
  readonly name: string;
  /** Inputs, as the bytes a corpus file holds. */
  readonly inputs: fc.Arbitrary<Uint8Array>;
  /**
   * Runs the product on one input. Throwing a RadiolensError is an accepted, coded refusal;
   * anything else thrown (or rejected) is a finding.
   */
  readonly run: (input: Uint8Array) => void | Promise<void>;
}

export interface FuzzBounds {
  /** One execution longer than this is a hang. */
  readonly maxExecutionMs: number;
  /** Resident memory growing more than this over one execution is a finding. */
  readonly maxMemoryGrowthBytes: number;
}

export const DEFAULT_BOUNDS: FuzzBounds = {
  maxExecutionMs: 2_000,
  maxMemoryGrowthBytes: 256 * 1024 * 1024,
};

export class FuzzFinding extends Error {
  constructor(
    readonly kind: 'uncoded-error' | 'hang' | 'memory',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${kind}: ${message}`, options);
  }
}

/** One execution with the bounds applied; throws FuzzFinding for a failure. */
export async function execute(
  target: FuzzTarget,
  input: Uint8Array,
  bounds: FuzzBounds = DEFAULT_BOUNDS,
): Promise<void> {
  const memoryBefore = process.memoryUsage.rss();
  const started = performance.now();
  try {
    await target.run(input);
  } catch (error) {
    if (!isRadiolensError(error)) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new FuzzFinding('uncoded-error', `${target.name}: ${message}`, { cause: error });
    }
  }
  const elapsed = performance.now() - started;
  if (elapsed > bounds.maxExecutionMs) {
    throw new FuzzFinding('hang', `${target.name}: one input took ${Math.round(elapsed)} ms`);
  }
  const grown = process.memoryUsage.rss() - memoryBefore;
  if (grown > bounds.maxMemoryGrowthBytes) {
    throw new FuzzFinding('memory', `${target.name}: one input grew the process by ${grown} bytes`);
  }
}

export interface FuzzReport {
  readonly target: string;
  readonly executions: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly finding: string | undefined;
  /** Where the shrunk input was written, when a corpus folder was given. */
  readonly savedAs: string | undefined;
}

/**
 * Runs `target` for `seconds` (fast-check's time limit) from `seed`. Stops at the first
 * finding, shrinks it and, with `corpusDir`, saves it as <corpusDir>/<target>/<sha256>.bin.
 */
export async function fuzz(
  target: FuzzTarget,
  options: { seconds: number; seed?: number; corpusDir?: string; bounds?: FuzzBounds },
): Promise<FuzzReport> {
  let executions = 0;
  const started = performance.now();
  const result = await fc.check(
    fc.asyncProperty(target.inputs, async (input) => {
      executions++;
      await execute(target, input, options.bounds);
    }),
    {
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: options.seconds * 1000,
      markInterruptAsFailure: false,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    },
  );
  const seconds = (performance.now() - started) / 1000;
  let finding: string | undefined;
  let savedAs: string | undefined;
  if (result.failed && result.counterexample !== null) {
    const [input] = result.counterexample;
    const error = result.errorInstance;
    finding = error instanceof Error ? error.message : String(error);
    if (options.corpusDir !== undefined) savedAs = saveToCorpus(options.corpusDir, target, input);
  }
  return {
    target: target.name,
    executions,
    seconds,
    perSecond: Math.round(executions / Math.max(seconds, 0.001)),
    finding,
    savedAs,
  };
}

export function saveToCorpus(corpusDir: string, target: FuzzTarget, input: Uint8Array): string {
  const folder = join(corpusDir, target.name);
  mkdirSync(folder, { recursive: true });
  const name = `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
  writeFileSync(join(folder, name), input);
  return join(folder, name);
}

/** The corpus files of a target: every finding so far, plus the seeds put there by hand. */
export function corpusFiles(
  corpusDir: string,
  target: FuzzTarget,
): { name: string; bytes: Buffer }[] {
  const folder = join(corpusDir, target.name);
  let names: string[];
  try {
    names = readdirSync(folder)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
  return names.map((name) => ({ name, bytes: readFileSync(join(folder, name)) }));
}

/** One line per target: what the CI log and `npm run fuzz` print. */
export function formatReports(reports: readonly FuzzReport[]): string {
  const rows = reports.map(
    (r) =>
      `${r.target.padEnd(14)} ${String(r.executions).padStart(9)} execs ${r.seconds.toFixed(1).padStart(6)} s ${String(r.perSecond).padStart(7)}/s  ${r.finding === undefined ? 'no finding' : `FINDING ${r.finding}${r.savedAs ? ` → ${r.savedAs}` : ''}`}`,
  );
  return ['target              executions    time   execs/s  result', ...rows].join('\n');
}
