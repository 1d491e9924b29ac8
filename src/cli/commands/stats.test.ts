import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { repoRoot, sharedDir } from '../../../test/support/index.js';
import { registerStatsCommand } from './stats.js';
import { cliMain, scriptExecArgv } from '../../../test/support/index.js';

const reference = join(sharedDir, 'data', 'reference-stats');
const aSAH = join(reference, 'aSAH.csv');
const vanDyke = join(reference, 'VanDyke.csv');

/** Runs `radiolens <args>` in-process through commander and returns what it printed. */
async function radiolens(args: string[]): Promise<string> {
  let out = '';
  const program = new Command('radiolens').exitOverride();
  registerStatsCommand(program, (text) => (out += text));
  await program.parseAsync(args, { from: 'user' });
  return out;
}

function significant(actual: unknown, expected: number, digits = 9): void {
  assert.equal(typeof actual, 'number');
  const tolerance = 0.5 * 10 ** (1 - digits) * Math.abs(expected);
  assert.ok(
    Math.abs((actual as number) - expected) <= tolerance,
    `${String(actual)} vs ${expected}`,
  );
}

function printed(actual: unknown, expected: string): void {
  assert.equal(typeof actual, 'number');
  const decimals = expected.split('.')[1]?.length ?? 0;
  assert.ok(
    Math.abs((actual as number) - Number(expected)) <= 0.5 * 10 ** -decimals * (1 + 1e-9),
    `${String(actual)} vs ${expected}`,
  );
}

const rocArgs = ['stats', 'roc', '--csv', aSAH, '--truth', 'outcome', '--positive', 'Poor'];
const mrmcArgs = [
  'stats',
  'mrmc',
  '--csv',
  vanDyke,
  '--reader',
  'reader',
  '--case',
  'case',
  '--modality',
  'treatment',
  '--truth',
  'truth',
  '--score',
  'rating',
];

describe('radiolens stats roc', () => {
  it('--json matches pROC on aSAH, with the documented shape and key order', async () => {
    const text = await radiolens([...rocArgs, '--score', 'wfns', '--score', 's100b', '--json']);
    const json = JSON.parse(text);
    assert.deepEqual(Object.keys(json), ['scores', 'delong']);
    assert.deepEqual(Object.keys(json.scores), ['wfns', 's100b']);
    assert.deepEqual(Object.keys(json.scores.s100b), ['auc', 'auc_ci', 'variance']);
    assert.deepEqual(Object.keys(json.delong), ['z', 'p', 'difference', 'difference_ci']);
    significant(json.scores.s100b.auc, 0.731368563685637);
    significant(json.scores.s100b.auc_ci[0], 0.630118211761623);
    significant(json.scores.s100b.auc_ci[1], 0.832618915609651);
    significant(json.scores.s100b.variance, 0.00266868245717244);
    significant(json.scores.wfns.auc, 0.823678861788618);
    significant(json.delong.z, 2.20898359144091);
    significant(json.delong.p, 0.0271757822291882);
    significant(json.delong.difference_ci[0], 0.0104061769564846);
    significant(json.delong.difference_ci[1], 0.174214419249478);
    assert.equal(text.trim().split('\n').length, 1);
  });

  it('one score: no delong key; optional bootstrap CI', async () => {
    const json = JSON.parse(
      await radiolens([...rocArgs, '--score', 's100b', '--bootstrap', '500', '--json']),
    );
    assert.deepEqual(Object.keys(json), ['scores']);
    assert.equal(json.scores.s100b.auc_ci_bootstrap.length, 2);
  });

  it('prints a table for a person without --json', async () => {
    const text = await radiolens([...rocArgs, '--score', 'wfns', '--score', 's100b']);
    assert.match(text, /113 cases \(41 positive: outcome = Poor, 72 negative\)/);
    assert.match(text, /s100b\s+0\.7314\s+\[0\.6301, 0\.8326\]/);
    assert.match(
      text,
      /wfns − s100b:\n\s+difference 0\.0923, 95% CI \[0\.0104, 0\.1742\], Z = 2\.2090, p = 0\.02718/,
    );
  });
});

describe('radiolens stats mrmc', () => {
  it('--json matches OR-DBM MRMC 2.51 on VanDyke, with the documented shape', async () => {
    const json = JSON.parse(await radiolens([...mrmcArgs, '--json']));
    assert.deepEqual(Object.keys(json), ['reader_auc', 'difference', 'rrrc', 'frrc', 'rrfc']);
    assert.deepEqual(Object.keys(json.rrrc), ['statistic', 'df', 'p', 'ci']);
    printed(json.reader_auc['1']['1'], '0.91964573');
    printed(json.reader_auc['2']['4'], '0.99935588');
    printed(json.difference, '-0.04380032');
    printed(json.rrrc.statistic, '4.456319');
    assert.equal(json.rrrc.df[0], 1);
    printed(json.rrrc.df[1], '15.25967');
    printed(json.rrrc.p, '0.05166569');
    printed(json.rrrc.ci[0], '-0.0879595');
    printed(json.rrrc.ci[1], '0.0003589');
    assert.deepEqual(json.frrc.df, [1, null]); // χ² test: F with an infinite denominator df
    assert.deepEqual(json.rrfc.df, [1, 4]);
  });

  it('--cov delong and a readable table', async () => {
    const json = JSON.parse(await radiolens([...mrmcArgs, '--cov', 'delong', '--json']));
    assert.ok(Math.abs(json.rrrc.p - 0.0517) < 0.005);
    const text = await radiolens(mrmcArgs);
    assert.match(
      text,
      /random readers, random cases\s+4\.4563\s+\(1, 15\.26\)\s+0\.05167\s+\[-0\.0880, 0\.0004\]/,
    );
  });
});

describe('radiolens stats mrmc --time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-time-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('adds a time-to-diagnosis summary', async () => {
    // VanDyke with a made-up time: modality 1 takes 30 s longer for every reader.
    const source = readFileSync(vanDyke, 'utf8').trim().split('\n');
    const lines = [`${source[0]},"seconds"`];
    for (const line of source.slice(1)) lines.push(`${line},${/^"\d","1"/.test(line) ? 90 : 60}`);
    const path = join(dir, 'timed.csv');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const args = [
      'stats',
      'mrmc',
      '--csv',
      path,
      '--reader',
      'reader',
      '--case',
      'case',
      '--modality',
      'treatment',
      '--truth',
      'truth',
      '--score',
      'rating',
      '--time',
      'seconds',
    ];
    const json = JSON.parse(await radiolens([...args, '--json']));
    assert.deepEqual(Object.keys(json), [
      'reader_auc',
      'difference',
      'rrrc',
      'frrc',
      'rrfc',
      'time_to_diagnosis',
    ]);
    assert.equal(json.time_to_diagnosis.by_modality['1'].mean, 90);
    assert.equal(json.time_to_diagnosis.by_modality['2'].median, 60);
    assert.equal(json.time_to_diagnosis.mean_difference, 30);
    printed(json.rrrc.statistic, '4.456319');
    assert.match(await radiolens(args), /Time to diagnosis:\n\s+1\s+mean 90\.00/);
  });
});

describe('stats bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-stats-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('names a missing column and the columns there are', async () => {
    await assert.rejects(
      radiolens([...rocArgs, '--score', 'nope', '--json']),
      /no column "nope" — the columns are "gos6", "outcome"/,
    );
  });
  it('names the row of an empty or NaN score', async () => {
    const file = csv('nan.csv', 'y,p\n1,0.9\n0,\n1,0.7\n0,0.1\n');
    await assert.rejects(
      radiolens(['stats', 'roc', '--csv', file, '--truth', 'y', '--positive', '1', '--score', 'p']),
      /nan\.csv data row 2: column "p" is empty, not a number/,
    );
    const na = csv('na.csv', 'y,p\n1,NA\n0,0.2\n');
    await assert.rejects(
      radiolens(['stats', 'roc', '--csv', na, '--truth', 'y', '--positive', '1', '--score', 'p']),
      /column "p" is "NA", not a number/,
    );
  });
  it('explains a single class and too few cases for a CI', async () => {
    await assert.rejects(
      radiolens([...rocArgs.slice(0, 6), '--positive', 'poor', '--score', 'wfns']),
      /every case is negative with --positive "poor" — column "outcome" holds "Good", "Poor"/,
    );
    const tiny = csv('tiny.csv', 'y,p\n1,0.9\n0,0.1\n0,0.2\n');
    await assert.rejects(
      radiolens(['stats', 'roc', '--csv', tiny, '--truth', 'y', '--positive', '1', '--score', 'p']),
      /too few cases for a CI \(1 positive, 2 negative/,
    );
  });
  it('rejects a bad --cov, three scores, and non-0/1 truth in mrmc', async () => {
    await assert.rejects(
      radiolens([...mrmcArgs, '--cov', 'bootstrap']),
      /--cov must be "jackknife" or "delong"/,
    );
    await assert.rejects(
      radiolens([...rocArgs, '--score', 'wfns', '--score', 's100b', '--score', 'ndka']),
      /one or two --score columns, got 3/,
    );
    const blank = csv('blank.csv', 'r,c,m,t,s\n1,,A,1,1\n1,2,A,0,1\n');
    await assert.rejects(
      radiolens([
        'stats',
        'mrmc',
        '--csv',
        blank,
        '--reader',
        'r',
        '--case',
        'c',
        '--modality',
        'm',
        '--truth',
        't',
        '--score',
        's',
      ]),
      /data row 1: column "c" is empty — every reading needs a reader, case and modality/,
    );
    const yes = csv('yes.csv', 'r,c,m,t,s\n1,1,A,yes,1\n');
    await assert.rejects(
      radiolens([
        'stats',
        'mrmc',
        '--csv',
        yes,
        '--reader',
        'r',
        '--case',
        'c',
        '--modality',
        'm',
        '--truth',
        't',
        '--score',
        's',
      ]),
      /truth "yes" in column "t" is not 1 or 0 — use 1\/0 or name the positive value with --positive/,
    );
  });
});

describe('the radiolens executable', () => {
  it('runs `stats roc --json` end to end and exits 2 with the message on bad input', async () => {
    const entry = [...scriptExecArgv, cliMain];
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      [...entry, ...rocArgs, '--score', 's100b', '--json'],
      { cwd: repoRoot },
    );
    significant(JSON.parse(stdout).scores.s100b.auc, 0.731368563685637);
    await assert.rejects(
      run(process.execPath, [...entry, ...rocArgs, '--score', 'zz', '--json'], { cwd: repoRoot }),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr ?? '', /E_BAD_INPUT: .*aSAH\.csv: no column "zz"/);
        return true;
      },
    );
  });
});
