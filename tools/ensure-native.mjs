#!/usr/bin/env node
// better-sqlite3 is a native addon. .npmrc turns install scripts off (onnxruntime-node's
// would download CUDA), so its binary is built here, once, from the Node headers already on
// the machine (no download): `npm rebuild` with node-gyp against /usr's headers when present.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
function loads() {
  try {
    const Database = require('better-sqlite3');
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}
if (!loads()) {
  process.stderr.write('building better-sqlite3 (native, one time, about 2-3 minutes) …\n');
  const args = ['rebuild', 'better-sqlite3', '--ignore-scripts=false'];
  if (existsSync('/usr/include/node/node_version.h')) args.push('--nodedir=/usr');
  execFileSync('npm', args, { stdio: 'inherit' });
  if (!loads()) {
    process.stderr.write(
      'better-sqlite3 still does not load: install build-essential and python3, then run npm test again\n',
    );
    process.exit(1);
  }
}
