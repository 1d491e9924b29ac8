import type { Command } from 'commander';
import { resolve } from 'node:path';
import {
  defaultRunsFolder,
  formatRunDetails,
  formatRunTable,
  importPythonTrainingRun,
  RunStore,
} from '../../lifecycle/runs/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

interface Where {
  runs?: string;
  registry?: string;
}

function store(opts: Where): RunStore {
  return new RunStore(
    opts.runs ? resolve(opts.runs) : defaultRunsFolder(modelRegistryLocation(opts.registry)),
  );
}

export const runsCommand: CommandModule = (program: Command) => {
  const runs = program
    .command('runs')
    .description(
      'Experiment tracking: the recorded training and fine-tuning runs (parameters, metrics per step, artefact hashes, dataset version).',
    );
  const where = (command: Command): Command =>
    command
      .option('--runs <dir>', 'runs folder (default: runs/ beside the model registry)')
      .option('--registry <dir>', 'model registry folder (locates the default runs folder)');

  where(runs.command('list').description('one line per run, oldest first'))
    .option('--json', 'print the records as JSON')
    .action(async (opts: Where & { json?: boolean }) => {
      const listing = await store(opts).list();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(listing.runs, null, 2)}\n`);
      } else {
        process.stdout.write(formatRunTable(listing.runs));
      }
      for (const problem of listing.problems) {
        process.stderr.write(`skipped ${problem.file}: ${problem.problem}\n`);
      }
    });

  where(
    runs
      .command('show')
      .description('everything recorded about one run')
      .argument('<id>', 'run id or a unique part of it'),
  )
    .option('--json', 'print the record as JSON')
    .action(async (id: string, opts: Where & { json?: boolean }) => {
      const record = await store(opts).get(id);
      process.stdout.write(
        opts.json ? `${JSON.stringify(record, null, 2)}\n` : formatRunDetails(record),
      );
    });

  where(
    runs
      .command('import')
      .description('record a training run written by training/train.py (training-run.json)')
      .argument('<file>', 'training-run.json'),
  )
    .option(
      '-m, --model <id@version>',
      'model the run produced (default: the package beside the file)',
    )
    .action(async (file: string, opts: Where & { model?: string }) => {
      const ref = opts.model ? parseModelRef(opts.model) : undefined;
      const model = ref?.version ? { id: ref.id, version: ref.version } : undefined;
      const { record, created } = await importPythonTrainingRun(
        store(opts),
        resolve(file),
        model ? { model } : {},
      );
      process.stdout.write(`${created ? 'imported' : 'already recorded as'} ${record.id}\n`);
    });
};
