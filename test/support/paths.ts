import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from src/ (tsx) or dist/. */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json)');
    dir = parent;
  }
  return dir;
})();

/**
 * ../shared beside the checkout: test data only, never needed by the product. A checkout that
 * lives elsewhere (a git worktree) names it with RADIOLENS_SHARED_DIR.
 */
export const sharedDir: string =
  process.env['RADIOLENS_SHARED_DIR'] ?? join(repoRoot, '..', 'shared');
export const conformanceDir: string = join(sharedDir, 'data', 'dicom-conformance');
