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

/** PixelMed's jar from Debian's pixelmed-apps (tools/test-tools.sh installs it). */
export const PIXELMED_JAR = '/usr/share/java/pixelmed.jar';

/**
 * PixelMed's DicomSRValidator (David Clunie's IOD and SR template checker) on one SR: its
 * "Error:" and "Warning:" lines. Recent JDKs cap XPath expression size for secure processing,
 * which PixelMed's compiled template stylesheet exceeds; the limits are lifted for this run
 * (the wrapper /usr/bin/DicomSRValidator does not, and fails on Debian 12's OpenJDK 17).
 */
export function pixelmedSrValidator(bytes: Uint8Array): {
  errors: string[];
  warnings: string[];
  text: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-pixelmed-'));
  try {
    const path = join(dir, 'sr.dcm');
    writeFileSync(path, bytes);
    const run = spawnSync(
      'java',
      [
        '-Djdk.xml.xpathExprOpLimit=0',
        '-Djdk.xml.xpathExprGrpLimit=0',
        '-Djdk.xml.xpathTotalOpLimit=0',
        '-cp',
        PIXELMED_JAR,
        'com.pixelmed.validate.DicomSRValidator',
        path,
      ],
      { encoding: 'utf8' },
    );
    if (run.error !== undefined) {
      throw new Error(`cannot run java: ${run.error.message} — install pixelmed-apps`);
    }
    const text = `${run.stdout}${run.stderr}`;
    if (!/IOD validation complete/.test(text)) {
      throw new Error(`PixelMed's DicomSRValidator did not finish:\n${text}`);
    }
    const lines = text.split('\n');
    return {
      errors: lines.filter((l) => l.startsWith('Error')),
      warnings: lines.filter((l) => l.startsWith('Warning')),
      text,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
