import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test support: run the reference validators of the DICOM community on bytes we wrote.
 * dciodvfy (dicom3tools) checks the IOD; dsrdump and dcmdump (DCMTK) prove another toolkit
 * reads the object. Used by tests only; the product never shells out.
 */
export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runOnDicom(tool: string, args: string[], bytes: Uint8Array): ToolRun {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-results-'));
  try {
    const path = join(dir, 'object.dcm');
    writeFileSync(path, bytes);
    const run = spawnSync(tool, [...args, path], { encoding: 'utf8' });
    if (run.error !== undefined) {
      throw new Error(`cannot run ${tool}: ${run.error.message} — install dicom3tools and dcmtk`);
    }
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** dciodvfy's findings, split into errors and warnings (it prints them on stderr). */
export function dciodvfy(bytes: Uint8Array): {
  errors: string[];
  warnings: string[];
  text: string;
} {
  const run = runOnDicom('dciodvfy', [], bytes);
  const text = `${run.stdout}${run.stderr}`;
  const lines = text.split('\n');
  return {
    errors: lines.filter((l) => l.startsWith('Error')),
    warnings: lines.filter((l) => l.startsWith('Warning')),
    text,
  };
}
