/**
 * dcmtk's echoscu / storescu as the independent peer for SCP tests. Test support only. A
 * missing dcmtk is a test failure with the fix in the message, never a skip.
 */
import { execFile } from 'node:child_process';

export interface ToolResult {
  readonly code: number;
  readonly output: string;
}

export async function runDcmtk(tool: 'echoscu' | 'storescu', args: string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new Error(`${tool} not found: install Debian package dcmtk (apt-get install dcmtk)`),
        );
        return;
      }
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output });
    });
  });
}
