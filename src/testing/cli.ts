import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './paths.js';

// Run the CLI as a user does: compiled (dist/) under npm test, from source under tsx.
const fromSource = import.meta.url.endsWith('.ts');
const main = fileURLToPath(new URL(`../cli/main.${fromSource ? 'ts' : 'js'}`, import.meta.url));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Test support: run `radiolens <args>` in a child process from the repository root. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const run = spawnSync(
    process.execPath,
    [...(fromSource ? ['--import', 'tsx'] : []), main, ...args],
    {
      encoding: 'utf8',
      cwd: repoRoot,
      env: { ...process.env, ...env },
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
