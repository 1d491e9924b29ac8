/**
 * Test support for the node's integration tests: a real `radiolens serve` child process
 * (from source under tsx, compiled under npm test, as test/support/cli.ts does), a chest
 * radiograph study made from the shipped sample images, and polling helpers. Test support
 * only; the product never imports it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importImages } from '../../src/lifecycle/imports/index.js';
import { cliMain, scriptExecArgv } from './entryPoints.js';
import { repoRoot } from './index.js';

/** A shipped sample radiograph (samples/cxr, see its SOURCE.md). */
export const SAMPLE_IMAGE = join(repoRoot, 'samples', 'cxr', '00000061_012.png');

export interface ChestStudy {
  readonly file: string;
  readonly studyInstanceUid: string;
  readonly sopInstanceUid: string;
}

/**
 * One frontal chest CR (inside cxr-pneumonia's intended use) made with importImages from a
 * shipped sample, then given a known patient name and ID with dcmtk's dcmodify, so tests can
 * look for them in logs. `seed` changes the study's UIDs (each test gets its own study).
 */
export async function makeChestStudy(
  dir: string,
  patient: { name: string; id: string },
  seed = 'a',
): Promise<ChestStudy> {
  const work = join(dir, `study-${seed}`);
  await mkdir(work, { recursive: true });
  await copyFile(SAMPLE_IMAGE, join(work, 'image.png'));
  await writeFile(join(work, 'images.csv'), `image,patient_id,study\nimage.png,${seed},${seed}\n`);
  const report = await importImages(join(work, 'images.csv'), {
    outDir: join(work, 'dicom'),
    bodyPart: 'CHEST',
    viewPosition: 'PA',
    patientIdColumn: 'patient_id',
    groupByColumn: 'study',
  });
  const imported = report.imported[0];
  if (imported === undefined) {
    throw new Error(`importImages made no DICOM: ${JSON.stringify(report.problems)}`);
  }
  await run('dcmodify', [
    '-nb',
    '-i',
    `(0010,0010)=${patient.name}`,
    '-m',
    `(0010,0020)=${patient.id}`,
    imported.dicom,
  ]);
  return {
    file: imported.dicom,
    studyInstanceUid: imported.studyInstanceUid,
    sopInstanceUid: imported.sopInstanceUid,
  };
}

/** Runs a dcmtk tool; a missing tool fails the test with the package to install. */
export function run(
  tool: string,
  args: readonly string[],
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${tool} not found: install the Debian package dcmtk`));
        return;
      }
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Polls until `check` returns a value other than undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError === undefined ? '' : `: ${String(lastError)}`),
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface LogLine {
  readonly time: string;
  readonly level: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

/** A running `radiolens serve` child process and what it printed. */
export class ServeProcess {
  stdout = '';
  /** Every stderr line, raw (to check that none carries PHI). */
  readonly stderrLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (this.partial + chunk.toString()).split('\n');
      this.partial = lines.pop() ?? '';
      this.stderrLines.push(...lines);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /**
   * Starts `radiolens serve <args>` (or another long-running command: `worker`, with its
   * `ready` line) and waits until it says where it listens.
   */
  static async start(
    args: readonly string[],
    env: Record<string, string> = {},
    command: { name: string; ready: string; prefix?: readonly string[] } = {
      name: 'serve',
      ready: 'radiolens node listening',
    },
  ): Promise<ServeProcess> {
    // A prefix runs it inside something (`ip netns exec <name>`, a network namespace).
    const argv = [process.execPath, ...scriptExecArgv, cliMain, command.name, ...args];
    const [file, ...rest] = [...(command.prefix ?? []), ...argv];
    const child = spawn(file!, rest, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const serve = new ServeProcess(child);
    let exited = false;
    void serve.exited.then(() => (exited = true));
    await waitFor(
      `radiolens ${command.name} to start`,
      () => {
        if (exited)
          throw new Error(
            `radiolens ${command.name} exited: ${serve.stderrLines.join('\n')}${serve.partial}`,
          );
        return serve.stdout.includes(command.ready);
      },
      60_000,
      100,
    ).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    return serve;
  }

  /** Parsed JSON log lines (lines that are not JSON are kept in stderrLines only). */
  logs(): LogLine[] {
    const parsed: LogLine[] = [];
    for (const line of this.stderrLines) {
      try {
        parsed.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
    return parsed;
  }

  waitForLog(event: string, timeoutMs = 60_000): Promise<LogLine> {
    return waitFor(
      `log event ${event}`,
      () => this.logs().find((l) => l.event === event),
      timeoutMs,
    );
  }

  /** SIGTERM and wait for the exit; SIGKILL if it does not exit within timeoutMs. */
  async stop(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
