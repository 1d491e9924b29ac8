#!/usr/bin/env node
// Runs the compiled tests: every dist/**/*.test.js, or with --unit only those that need
// nothing but npm (not *.int.test.js, which call external tools, Orthanc or Debian's PyTorch).
// Files are listed explicitly because `node --test <dir>` would also run every .js file under
// a folder named test/ (test/support's child scripts among them).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const unit = process.argv.includes('--unit');
const passThrough = process.argv.slice(2).filter((a) => a !== '--unit');
const files = readdirSync('dist', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js') && !(unit && f.endsWith('.int.test.js')))
  .map((f) => join('dist', f))
  .sort();
if (files.length === 0) {
  process.stderr.write('no compiled tests under dist/: run `npm run build` first\n');
  process.exit(1);
}
const run = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', ...passThrough, ...files],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
