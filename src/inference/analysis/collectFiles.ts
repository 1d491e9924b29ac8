import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';

/**
 * Expand the command line's files and folders into a sorted list of files. Folders are walked
 * recursively; hidden entries (".*", which includes our own atomic-write temporaries) are
 * skipped. Sorting makes runs reproducible whatever order the file system lists.
 */
export async function collectFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new RadiolensError(
        'E_IO',
        `cannot read ${path}: it does not exist or is not accessible`,
        {
          subject: path,
          cause: error,
        },
      );
    }
    if (info.isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return [...new Set(files)].sort();
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
