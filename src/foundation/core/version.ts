import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Radiolens's version: the one source is package.json's "version", found by walking up from
 * this file (src/foundation/core or dist/src/foundation/core alike). The CLI's --version and
 * the DICOM Implementation Version Name are derived from it.
 */
export const RADIOLENS_VERSION: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'radiolens' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find Radiolens package.json for its version');
    dir = parent;
  }
})();
