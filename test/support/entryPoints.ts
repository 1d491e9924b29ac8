/**
 * Where the scripts that tests start as child processes live: the `radiolens` CLI and the
 * small scripts under test/support/children. From source under tsx (`.ts`, with tsx loaded)
 * and compiled under npm test (`.js` in dist/), found from this file's own location.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const fromSource = import.meta.url.endsWith('.ts');
const extension = fromSource ? 'ts' : 'js';

/** Node.js arguments that must precede a script path: tsx when running from source. */
export const scriptExecArgv: readonly string[] = fromSource ? ['--import', 'tsx'] : [];

/** src/cli/main, the entry point of the radiolens command. */
export const cliMain: string = fileURLToPath(
  new URL(`../../src/cli/main.${extension}`, import.meta.url),
);

/** A script in test/support/children, e.g. childScript('storeLoop'). */
export function childScript(name: string): { path: string; execArgv: string[] } {
  const path = fileURLToPath(new URL(`./children/${name}.child.${extension}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`missing child script ${path}`);
  return { path, execArgv: [...scriptExecArgv] };
}
