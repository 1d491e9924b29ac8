import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../test/support/index.js';

test('viewer fetch --from refuses a tarball that is not the pinned @ohif/app, installing nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-viewer-cli-'));
  try {
    const tarball = join(dir, 'ohif-app-3.13.2.tgz');
    await writeFile(tarball, 'a different file');
    const run = runCli(['viewer', 'fetch', '--data', join(dir, 'data'), '--from', tarball]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /E_PACKAGE_TAMPERED: .* is not @ohif\/app@3\.13\.2/);
    assert.equal(existsSync(join(dir, 'data', 'viewer', 'ohif-3.13.2', 'dist')), false);
    const help = runCli(['viewer', 'fetch', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--from <tarball>/);
    assert.match(
      help.stdout,
      /sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq\+jd5xXZB9E8EA==/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
