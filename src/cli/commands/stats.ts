/**
 * `radiolens stats roc` and `radiolens stats mrmc`: the validation statistics on a CSV, with
 * the exact option names and JSON shapes of issue #5 so independent checks can call them.
 * `--json` prints one machine-stable object (fixed key order); without it, a table for a person.
 */
import type { Command } from 'commander';
import { RadiolensError } from '../../foundation/core/index.js';
import {
  aucWithDelong,
  bootstrapAucCi,
  delongTest,
  type MrmcCovarianceMethod,
  type MrmcReading,
  type MrmcResult,
  type MrmcTest,
  mrmcAnalysis,
} from '../../lifecycle/validation/index.js';
import { type CsvTable, readCsvFile, requireColumns } from '../../foundation/csv/index.js';
import type { CommandModule } from './index.js';
import { collect } from '../optionParsers.js';

export interface StatsRocOptions {
  readonly csv: string;
  readonly truth: string;
  readonly positive: string;
  readonly score: readonly string[];
  /** Stratified bootstrap resamples for an extra AUC CI; none when absent. */
  readonly bootstrap?: number;
  readonly seed?: number;
}

export interface StatsMrmcOptions {
  readonly csv: string;
  readonly reader: string;
  readonly case: string;
  readonly modality: string;
  readonly truth: string;
  readonly score: string;
  readonly positive?: string;
  readonly cov?: string;
  readonly time?: string;
}

/** What a stats sub-command prints: the JSON object and the text table. */
export interface StatsOutput {
  readonly json: Record<string, unknown>;
  readonly text: string;
}

function bad(message: string, subject?: string): RadiolensError {
  return new RadiolensError(
    'E_BAD_INPUT',
    message,
    subject === undefined ? undefined : { subject },
  );
}

/** Reads a numeric column strictly: an empty cell, "NA" or text is an error naming the row. */
function numericColumn(table: CsvTable, column: string): number[] {
  return table.rows.map((row, i) => {
    const raw = (row[column] ?? '').trim();
    const value = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value)) {
      throw bad(
        `${table.source} data row ${i + 1}: column "${column}" is ${raw === '' ? 'empty' : `"${raw}"`}, not a number — fill it in or remove the row`,
        table.source,
      );
    }
    return value;
  });
}

function truthColumn(table: CsvTable, column: string, positive: string | undefined): (0 | 1)[] {
  const truth = table.rows.map((row, i): 0 | 1 => {
    const raw = (row[column] ?? '').trim();
    if (raw === '') {
      throw bad(
        `${table.source} data row ${i + 1}: column "${column}" (truth) is empty — every case needs a truth`,
        table.source,
      );
    }
    if (positive !== undefined) return raw === positive ? 1 : 0;
    if (raw === '1') return 1;
    if (raw === '0') return 0;
    throw bad(
      `${table.source} data row ${i + 1}: truth "${raw}" in column "${column}" is not 1 or 0 — use 1/0 or name the positive value with --positive`,
      table.source,
    );
  });
  // Say what the column holds when --positive matches nothing or everything: usually a typo.
  const positives = truth.filter((t) => t === 1).length;
  if (truth.length > 0 && (positives === 0 || positives === truth.length)) {
    const seen = [...new Set(table.rows.map((row) => (row[column] ?? '').trim()))].slice(0, 10);
    throw bad(
      `${table.source}: every case is ${positives === 0 ? 'negative' : 'positive'}${positive === undefined ? '' : ` with --positive "${positive}"`} — column "${column}" holds ${seen.map((v) => `"${v}"`).join(', ')}; an ROC analysis needs both classes (values are case-sensitive)`,
      table.source,
    );
  }
  return truth;
}

const f4 = (v: number): string => v.toFixed(4);
const ci4 = (ci: readonly [number, number]): string => `[${f4(ci[0])}, ${f4(ci[1])}]`;

/** `stats roc`: AUC with DeLong CI per score column, and DeLong's test when there are two. */
export function runStatsRoc(options: StatsRocOptions): StatsOutput {
  if (options.score.length === 0 || options.score.length > 2) {
    throw bad(`stats roc takes one or two --score columns, got ${options.score.length}`);
  }
  if (new Set(options.score).size !== options.score.length) {
    throw bad(
      `stats roc: --score ${options.score[0]} is given twice — compare two different columns`,
    );
  }
  const table = readCsvFile(options.csv);
  requireColumns(table, [options.truth, ...options.score]);
  const truth = truthColumn(table, options.truth, options.positive);
  const scoreColumns = options.score.map((column) => numericColumn(table, column));
  const scores: Record<string, Record<string, unknown>> = {};
  const lines: string[] = [];
  const positives = truth.filter((t) => t === 1).length;
  lines.push(
    `ROC analysis of ${options.csv}: ${truth.length} cases (${positives} positive: ${options.truth} = ${options.positive}, ${truth.length - positives} negative)`,
    '',
    `${'score'.padEnd(16)} ${'AUC'.padEnd(8)} ${'95% CI (DeLong)'.padEnd(20)} variance${options.bootstrap ? '    95% CI (bootstrap)' : ''}`,
  );
  options.score.forEach((column, k) => {
    const what = `${options.csv} column "${column}"`;
    const estimate = aucWithDelong({ truth, scores: scoreColumns[k]! }, { what });
    const entry: Record<string, unknown> = {
      auc: estimate.auc,
      auc_ci: [estimate.ci[0], estimate.ci[1]],
      variance: estimate.variance,
    };
    let bootText = '';
    if (options.bootstrap !== undefined) {
      const boot = bootstrapAucCi(
        { truth, scores: scoreColumns[k]! },
        { resamples: options.bootstrap, seed: options.seed, what },
      );
      entry.auc_ci_bootstrap = [boot.ci[0], boot.ci[1]];
      bootText = `    ${ci4(boot.ci)}`;
    }
    scores[column] = entry;
    lines.push(
      `${column.padEnd(16)} ${f4(estimate.auc).padEnd(8)} ${ci4(estimate.ci).padEnd(20)} ${estimate.variance.toPrecision(4)}${bootText}`,
    );
  });
  const json: Record<string, unknown> = { scores };
  if (options.score.length === 2) {
    const [a, b] = options.score as [string, string];
    const test = delongTest(truth, scoreColumns[0]!, scoreColumns[1]!, {
      what: [`${options.csv} column "${a}"`, `${options.csv} column "${b}"`],
    });
    json.delong = {
      z: test.z,
      p: test.p,
      difference: test.difference,
      difference_ci: [test.ci[0], test.ci[1]],
    };
    lines.push(
      '',
      `DeLong test for two correlated ROC curves, ${a} − ${b}:`,
      `  difference ${f4(test.difference)}, 95% CI ${ci4(test.ci)}, Z = ${test.z.toFixed(4)}, p = ${test.p.toPrecision(4)}`,
    );
  }
  return { json, text: `${lines.join('\n')}\n` };
}

function readingsFrom(table: CsvTable, options: StatsMrmcOptions): MrmcReading[] {
  const columns = [options.reader, options.case, options.modality, options.truth, options.score];
  if (options.time !== undefined) columns.push(options.time);
  requireColumns(table, columns);
  const truth = truthColumn(table, options.truth, options.positive);
  const scores = numericColumn(table, options.score);
  const times = options.time === undefined ? undefined : numericColumn(table, options.time);
  const id = (row: Readonly<Record<string, string>>, i: number, column: string): string => {
    const value = (row[column] ?? '').trim();
    if (value === '') {
      throw bad(
        `${table.source} data row ${i + 1}: column "${column}" is empty — every reading needs a reader, case and modality`,
        table.source,
      );
    }
    return value;
  };
  return table.rows.map((row, i) => ({
    reader: id(row, i, options.reader),
    caseId: id(row, i, options.case),
    modality: id(row, i, options.modality),
    truth: truth[i]!,
    score: scores[i]!,
    ...(times === undefined ? {} : { time: times[i]! }),
  }));
}

/** A test as JSON: the F form, with an infinite denominator df written as null. */
function testJson(test: MrmcTest): Record<string, unknown> {
  return {
    statistic: test.statistic,
    df: [test.df[0], Number.isFinite(test.df[1]) ? test.df[1] : null],
    p: test.p,
    ci: [test.ci[0], test.ci[1]],
  };
}

const dfText = (df: number): string =>
  !Number.isFinite(df) ? '∞' : Number.isInteger(df) ? String(df) : df.toFixed(2);

function mrmcText(result: MrmcResult, source: string): string {
  const [first, second] = result.modalities as [string, string];
  const lines = [
    `MRMC analysis of ${source} (Obuchowski–Rockette, Hillis df; ${result.covarianceMethod} covariance)`,
    `${result.readers.length} readers × ${result.cases.total} cases (${result.cases.positives} positive, ${result.cases.negatives} negative) × ${result.modalities.length} modalities`,
    '',
    `Reader AUCs:`,
    `  ${'reader'.padEnd(12)} ${result.modalities.map((m) => m.padEnd(10)).join(' ')}`,
    ...result.readers.map(
      (reader) =>
        `  ${reader.padEnd(12)} ${result.modalities.map((m) => f4(result.readerAuc[m]![reader]!).padEnd(10)).join(' ')}`,
    ),
    `  ${'mean'.padEnd(12)} ${result.modalities.map((m) => f4(result.meanAuc[m]!).padEnd(10)).join(' ')}`,
    '',
    `Difference ${first} − ${second}: ${result.difference.toFixed(6)}`,
    '',
    `${'analysis'.padEnd(32)} ${'F'.padEnd(9)} ${'df'.padEnd(16)} ${'p'.padEnd(9)} 95% CI of difference`,
  ];
  const row = (name: string, test: MrmcTest): string =>
    `${name.padEnd(32)} ${test.statistic.toFixed(4).padEnd(9)} ${`(${test.df[0]}, ${dfText(test.df[1])})`.padEnd(16)} ${test.p.toPrecision(4).padEnd(9)} ${ci4(test.ci)}`;
  lines.push(
    row('random readers, random cases', result.rrrc),
    row('fixed readers, random cases', result.frrc),
    row('random readers, fixed cases', result.rrfc),
  );
  const v = result.varianceComponents;
  lines.push(
    '',
    `Var(error) ${v.varError.toPrecision(6)}  Cov1 ${v.cov1.toPrecision(6)}  Cov2 ${v.cov2.toPrecision(6)}  Cov3 ${v.cov3.toPrecision(6)}  MS(T) ${v.msT.toPrecision(6)}  MS(T×R) ${v.msTR.toPrecision(6)}`,
  );
  if (result.timeToDiagnosis !== undefined) {
    const t = result.timeToDiagnosis;
    lines.push('', 'Time to diagnosis:');
    for (const m of t.byModality) {
      lines.push(
        `  ${m.modality.padEnd(12)} mean ${m.mean.toFixed(2)}  median ${m.median.toFixed(2)}  sd ${m.sd.toFixed(2)}  (${m.readings} readings)`,
      );
    }
    lines.push(
      `  reader-mean difference ${first} − ${second}: ${t.meanDifference.toFixed(2)}, 95% CI ${`[${t.differenceCi[0].toFixed(2)}, ${t.differenceCi[1].toFixed(2)}]`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `stats mrmc`: Obuchowski–Rockette reader-study analysis of a long-format CSV. */
export function runStatsMrmc(options: StatsMrmcOptions): StatsOutput {
  const method = options.cov ?? 'jackknife';
  if (method !== 'jackknife' && method !== 'delong') {
    throw bad(`--cov must be "jackknife" or "delong", got "${method}"`);
  }
  const table = readCsvFile(options.csv);
  const result = mrmcAnalysis(readingsFrom(table, options), {
    covariance: method as MrmcCovarianceMethod,
  });
  const readerAuc: Record<string, Record<string, number>> = {};
  for (const modality of result.modalities) {
    readerAuc[modality] = {};
    for (const reader of result.readers)
      readerAuc[modality]![reader] = result.readerAuc[modality]![reader]!;
  }
  const json: Record<string, unknown> = {
    reader_auc: readerAuc,
    difference: result.difference,
    rrrc: testJson(result.rrrc),
    frrc: testJson(result.frrc),
    rrfc: testJson(result.rrfc),
  };
  if (result.timeToDiagnosis !== undefined) {
    const t = result.timeToDiagnosis;
    json.time_to_diagnosis = {
      by_modality: Object.fromEntries(
        t.byModality.map((m) => [
          m.modality,
          { mean: m.mean, median: m.median, sd: m.sd, readings: m.readings },
        ]),
      ),
      mean_difference: t.meanDifference,
      difference_ci: [t.differenceCi[0], t.differenceCi[1]],
    };
  }
  return { json, text: mrmcText(result, options.csv) };
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw bad(`expected a positive whole number, got "${value}"`);
  return n;
}

/** Where command output goes; stdout in the CLI, a buffer in tests. */
export type OutputSink = (text: string) => void;

/** Registers `stats roc` and `stats mrmc` on a program, printing through `write`. */
export function registerStatsCommand(program: Command, write: OutputSink): void {
  const print = (output: StatsOutput, json: boolean | undefined): void =>
    write(json ? `${JSON.stringify(output.json)}\n` : output.text);
  const stats = program
    .command('stats')
    .description(
      'Clinical validation statistics on a CSV: ROC/AUC with CIs and MRMC reader studies.',
    );
  stats
    .command('roc')
    .description(
      'Empirical AUC with DeLong variance and 95% CI for one or two score columns; with two, ' +
        "DeLong's test for correlated AUCs (difference = first − second). Higher score = more likely positive.",
    )
    .requiredOption('--csv <file>', 'CSV file, one row per case, with a header row')
    .requiredOption('--truth <column>', 'column with the true class of each case')
    .requiredOption('--positive <value>', 'value of the truth column that marks a positive case')
    .requiredOption(
      '--score <column>',
      'score column (give twice to compare two)',
      collect,
      [] as string[],
    )
    .option(
      '--bootstrap <resamples>',
      'also give a stratified bootstrap CI with this many resamples',
      positiveInteger,
    )
    .option('--seed <n>', 'bootstrap seed', positiveInteger)
    .option('--json', 'print one JSON object instead of a table')
    .action((opts: StatsRocOptions & { json?: boolean }) => print(runStatsRoc(opts), opts.json));
  stats
    .command('mrmc')
    .description(
      'Obuchowski–Rockette MRMC analysis (Hillis df) of reader AUCs across modalities: random ' +
        'readers/random cases, fixed readers, fixed cases. Long format: one row per reader × case × modality.',
    )
    .requiredOption('--csv <file>', 'CSV file, one row per reading')
    .requiredOption('--reader <column>', 'reader id column')
    .requiredOption('--case <column>', 'case id column')
    .requiredOption(
      '--modality <column>',
      'modality (treatment) column; difference = first − second in natural order',
    )
    .requiredOption('--truth <column>', 'truth column: 1/0, or see --positive')
    .requiredOption('--score <column>', 'reader rating / score column')
    .option(
      '--positive <value>',
      'value of the truth column that marks a positive case (default 1, with 0 negative)',
    )
    .option(
      '--cov <method>',
      'covariance estimate: jackknife (OR-DBM MRMC default) or delong',
      'jackknife',
    )
    .option('--time <column>', 'time-to-diagnosis column, summarised per modality')
    .option('--json', 'print one JSON object instead of a table')
    .action((opts: StatsMrmcOptions & { json?: boolean }) => print(runStatsMrmc(opts), opts.json));
}

export const statsCommand: CommandModule = (program: Command) =>
  registerStatsCommand(program, (text) => process.stdout.write(text));
