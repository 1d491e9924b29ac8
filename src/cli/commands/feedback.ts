/**
 * `radiolens feedback export`: the radiologists' answers recorded by the node (ADR 0171) as
 * the labels CSV `radiolens validate` reads or the long-format CSV `radiolens stats mrmc`
 * reads. Reads the node database, or with `--database` the answers every ingest node of a
 * cluster recorded in PostgreSQL (ADR 0188); safe while the nodes run. Image paths (validate)
 * come from the instance index of `--data`, which stays per ingest node (ADR 0183). Every
 * export is a record in the audit chain of the store the answers came from.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';
import { feedbackMrmcCsv, feedbackValidateCsv, type CsvExport } from '../../node/feedback/index.js';
import { commandLineActor } from '../../foundation/audit/index.js';
import {
  DEFAULTS,
  embeddedReadingRoom,
  sharedReadingRoom,
  type ReadingRoomState,
} from '../../node/service/index.js';
import { DATABASE_FILE_NAME, openNodeDatabase, type NodeDatabase } from '../../node/store/index.js';
import { DATABASE_OPTION, databaseUrlOf, withSharedDatabase } from '../readingRoomStore.js';
import type { CommandModule } from './index.js';

export interface FeedbackExportOptions {
  readonly data?: string;
  /** The shared PostgreSQL database of serve --database (or $RADIOLENS_DATABASE_URL). */
  readonly database?: string;
  readonly format?: string;
  readonly out: string;
  /** id or id@version: only answers about this model. */
  readonly model?: string;
  /** The label (mrmc: required when the answers cover several). */
  readonly label?: string;
  /** mrmc: CSV with columns case (source image SOP Instance UID) and truth (1/0). */
  readonly truth?: string;
}

function bad(message: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', message);
}

function readTruth(path: string): Map<string, 0 | 1> {
  const table = readCsvFile(path);
  requireColumns(table, ['case', 'truth']);
  const truth = new Map<string, 0 | 1>();
  table.rows.forEach((row, i) => {
    const value = (row['truth'] ?? '').trim();
    if (value !== '0' && value !== '1') {
      throw bad(`${path} data row ${i + 1}: truth "${value}" is not 1 or 0`);
    }
    truth.set((row['case'] ?? '').trim(), value === '1' ? 1 : 0);
  });
  return truth;
}

/** Writes the export and returns what was written (for the summary line and tests). */
export async function runFeedbackExport(options: FeedbackExportOptions): Promise<CsvExport> {
  const format = options.format ?? 'validate';
  if (format !== 'validate' && format !== 'mrmc') {
    throw bad(`--format must be validate or mrmc, got "${format}"`);
  }
  const dataDir = resolve(options.data ?? DEFAULTS.dataDir);
  const url = databaseUrlOf(options);
  const hasIndex = existsSync(join(dataDir, DATABASE_FILE_NAME));
  if (!hasIndex && (url === undefined || format === 'validate')) {
    throw bad(
      `${dataDir} has no node database (${DATABASE_FILE_NAME}) — give the --data directory of radiolens serve${url === undefined ? '' : ' (--format validate names the images from its index)'}`,
    );
  }
  const db = hasIndex ? openNodeDatabase(dataDir) : null;
  try {
    if (url === undefined) return await exportFrom(embeddedReadingRoom(db!, dataDir), db, dataDir);
    return await withSharedDatabase(url, async (pool) =>
      exportFrom(await sharedReadingRoom(pool, url), db, dataDir),
    );
  } finally {
    db?.close();
  }

  async function exportFrom(
    room: ReadingRoomState,
    index: NodeDatabase | null,
    dataDir: string,
  ): Promise<CsvExport> {
    const [modelId, modelVersion] = (options.model ?? '').split('@');
    let answers = await room.feedback.list({
      ...(modelId ? { modelId } : {}),
      ...(modelVersion ? { modelVersion } : {}),
    });
    if (format === 'validate' && options.label !== undefined) {
      answers = answers.filter((a) => a.finding.labelId === options.label);
    }
    if (answers.length === 0)
      throw bad(
        `no answers recorded in ${url === undefined ? dataDir : 'the shared database'}${options.model ? ` for ${options.model}` : ''}`,
      );
    const out = resolve(options.out);
    let result: CsvExport;
    if (format === 'validate') {
      const pathOf = index!.prepare(
        'SELECT path FROM instances WHERE sop_instance_uid = ? ORDER BY version DESC LIMIT 1',
      );
      result = feedbackValidateCsv(answers, (sop) => {
        const row = pathOf.get(sop) as { path: string } | undefined;
        // `validate` resolves image paths against the CSV's folder.
        return row === undefined
          ? undefined
          : relative(dirname(out), join(dataDir, row.path)).split(sep).join('/');
      });
    } else {
      const labels = [...new Set(answers.map((a) => a.finding.labelId))];
      const label = options.label ?? (labels.length === 1 ? labels[0]! : undefined);
      if (label === undefined)
        throw bad(`the answers cover labels ${labels.join(', ')} — choose one with --label`);
      if (options.truth === undefined) {
        throw bad(
          '--format mrmc needs --truth <csv> (columns case, truth): a reference standard for each case, independent of the readers',
        );
      }
      const truth = readTruth(resolve(options.truth));
      result = feedbackMrmcCsv(answers, label, (c) => truth.get(c));
    }
    // No export without its audit record (ADR 0176): recorded before the file is written.
    await room.audit.record({
      actor: commandLineActor(),
      action: 'feedback.export',
      subject: `feedback:${format}`,
      details: {
        rows: result.rows,
        ...(options.model === undefined ? {} : { model: options.model }),
        ...(options.label === undefined ? {} : { label: options.label }),
      },
    });
    await writeFileAtomic(out, result.csv);
    return result;
  }
}

export const feedbackCommand: CommandModule = (program: Command) => {
  const feedback = program
    .command('feedback')
    .description("The radiologists' answers to the AI's findings, recorded by radiolens serve");
  feedback
    .command('export')
    .description(
      'Write the answers as the labels CSV of radiolens validate (image, one 0/1 column per label) or the long-format CSV of radiolens stats mrmc (reader, case, modality, truth, score, time_ms)',
    )
    .option('--data <dir>', `the node's data directory (default ./${DEFAULTS.dataDir})`)
    .option(...DATABASE_OPTION)
    .option('--format <validate|mrmc>', 'which CSV to write', 'validate')
    .requiredOption('--out <file>', 'the CSV file to write')
    .option('--model <id[@version]>', 'only answers about this model (version)')
    .option('--label <id>', 'only this label (mrmc: required when the answers cover several)')
    .option(
      '--truth <csv>',
      'mrmc: reference standard, columns case (image SOP Instance UID) and truth (1/0)',
    )
    .action(async (opts: FeedbackExportOptions) => {
      const result = await runFeedbackExport(opts);
      const left = result.skipped.map((s) => `${s.count} ${s.reason}`).join('; ');
      process.stdout.write(
        `wrote ${result.rows} row(s) to ${resolve(opts.out)}${left === '' ? '' : ` (left out: ${left})`}\n`,
      );
    });
};
