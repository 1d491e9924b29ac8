/**
 * `npm run fuzz -- --seconds N [--seed S] [--target part10|pdu|multipart]`: the fuzz targets
 * for longer than `npm test` runs them (ADR 0125). Prints executions per second per target;
 * a finding is shrunk and written to test/fuzz-corpus/<target>/, where the corpus replay
 * test picks it up. Exit status 1 when anything was found.
 */
import { formatReports, fuzz, type FuzzReport } from '../test/support/fuzz/harness.js';
import { CORPUS_DIR } from '../test/support/fuzz/replay.js';
import { allTargets } from '../test/support/fuzz/targets.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

const seconds = Number(option('seconds') ?? '60');
const seedText = option('seed');
const only = option('target');
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write('--seconds takes a positive number of seconds per target\n');
  process.exit(2);
}
const targets = allTargets().filter((t) => only === undefined || t.name === only);
if (targets.length === 0) {
  process.stderr.write(`no target named ${only ?? ''}: part10, pdu, multipart\n`);
  process.exit(2);
}
const reports: FuzzReport[] = [];
for (const target of targets) {
  process.stderr.write(`fuzzing ${target.name} for ${seconds} s…\n`);
  reports.push(
    await fuzz(target, {
      seconds,
      corpusDir: CORPUS_DIR,
      ...(seedText !== undefined ? { seed: Number(seedText) } : {}),
    }),
  );
}
process.stdout.write(`${formatReports(reports)}\n`);
process.exit(reports.some((r) => r.finding !== undefined) ? 1 : 0);
