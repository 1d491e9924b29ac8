import { stat } from 'node:fs/promises';
import { RadiolensError, filesUnder } from '../../foundation/core/index.js';

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
    if (info.isDirectory()) files.push(...(await filesUnder(path)));
    else files.push(path);
  }
  return [...new Set(files)].sort();
}
