import { spawnSync } from 'node:child_process';
import { cliMain, scriptExecArgv } from './entryPoints.js';
import { repoRoot } from './paths.js';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Test support: run `radiolens <args>` in a child process from the repository root. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const run = spawnSync(process.execPath, [...scriptExecArgv, cliMain, ...args], {
    encoding: 'utf8',
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
