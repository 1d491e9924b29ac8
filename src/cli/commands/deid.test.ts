import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { conformanceDir } from '../../../test/support/index.js';
import { datasetCommand } from './dataset.js';
import { deidCommand } from './deid.js';

async function runCli(args: string[]): Promise<string> {
  const program = new Command('radiolens').exitOverride();
  deidCommand(program);
  datasetCommand(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'radiolens', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test('radiolens deid and dataset create/verify work end to end', async () => {
  const root = await mkdtemp(join(tmpdir(), 'deid-cli-'));
  const exitCode = process.exitCode;
  try {
    const input = join(root, 'in');
    await mkdir(input);
    for (const f of ['MR2_UNCR.dcm', 'US1_UNCR.dcm']) {
      await copyFile(join(conformanceDir, 'pydicom-data', f), join(input, f));
    }
    const common = [
      '--secret',
      join(root, 'secret.key'),
      '--map',
      join(root, 'reid'),
      '--no-progress',
    ];
    const report = await runCli([
      'deid',
      input,
      join(root, 'out'),
      '--option',
      'retain-uids',
      '--report',
      join(root, 'report.json'),
      ...common,
    ]);
    assert.match(report, /de-identified 1, quarantined 1, failed 0/);
    assert.match(report, /US1_UNCR\.dcm: SOP Class Ultrasound/);
    assert.match(report, /K keep list/);
    const json = JSON.parse(await readFile(join(root, 'report.json'), 'utf8')) as {
      instances: unknown[];
    };
    assert.equal(json.instances.length, 1);
    assert.ok(!JSON.stringify(json).includes('originalSopInstanceUid'));
    assert.equal(
      (await readdir(join(root, 'out'), { recursive: true })).filter((p) => p.endsWith('.dcm'))
        .length,
      1,
    );

    const created = await runCli([
      'dataset',
      'create',
      input,
      join(root, 'ds'),
      '--name',
      'mr',
      ...common,
    ]);
    const version = /version ([0-9a-f]{64})/.exec(created)?.[1];
    assert.ok(version, created);
    assert.match(
      await runCli(['dataset', 'verify', join(root, 'ds'), version]),
      /1 instances intact/,
    );
    await assert.rejects(
      runCli(['deid', input, join(root, 'out2'), '--option', 'bogus', ...common]),
      /unknown de-identification option "bogus"/,
    );
    await assert.rejects(
      runCli([
        'deid',
        input,
        join(root, 'out3'),
        '--secret',
        join(root, 'secret.key'),
        '--map',
        join(root, 'out3', 'reid'),
      ]),
      /inside the output/,
    );
  } finally {
    process.exitCode = exitCode;
    await rm(root, { recursive: true, force: true });
  }
});
