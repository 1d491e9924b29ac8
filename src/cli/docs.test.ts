/**
 * The docs stay true to the tree: every ADR is in the index, every folder of a layer is named
 * in that layer's README, and the README's quick start uses scripts that exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCli } from '../../test/support/index.js';

test('every ADR is listed in docs/adr/README.md, and every listed one exists', () => {
  const dir = join(repoRoot, 'docs', 'adr');
  const records = readdirSync(dir).filter((f) => /^\d{4}-.*\.md$/.test(f));
  const index = readFileSync(join(dir, 'README.md'), 'utf8');
  for (const record of records)
    assert.ok(index.includes(`(${record})`), `${record} not in the index`);
  for (const [, linked] of index.matchAll(/\]\((\d{4}-[^)]+\.md)\)/g)) {
    assert.ok(records.includes(linked!), `the index links ${linked}, which does not exist`);
  }
});

test("each layer's README names every folder in it", () => {
  for (const layer of ['foundation', 'inference', 'node', 'lifecycle']) {
    const dir = join(repoRoot, 'src', layer);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const folders = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    for (const folder of folders) {
      assert.ok(
        readme.includes(`\`${folder.name}/\``),
        `src/${layer}/README.md omits ${folder.name}/`,
      );
    }
  }
});

test("the README's npm commands are scripts of package.json", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const scripts = (
    JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  for (const [, name] of readme.matchAll(/npm run ([\w:-]+)/g)) {
    assert.ok(name! in scripts, `README runs npm run ${name}, which package.json lacks`);
  }
});

test('one version: --version and the DICOM Implementation Version Name come from package.json', async () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const { RADIOLENS_VERSION } = await import('../foundation/core/index.js');
  const { IMPLEMENTATION_VERSION_NAME } = await import('../foundation/dicom/index.js');
  assert.equal(RADIOLENS_VERSION, version);
  assert.equal(IMPLEMENTATION_VERSION_NAME, `RADIOLENS_${version.replace(/[^0-9]/g, '')}`);
  assert.equal(runCli(['--version']).stdout.trim(), version);
});
