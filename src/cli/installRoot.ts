import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder Radiolens is installed in (the one holding its package.json), found from this
 * file whether it runs compiled (dist/src/cli/) or from source (src/cli/). Shipped assets —
 * models/, samples/ — live there.
 */
export const installRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return dirname(fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();
