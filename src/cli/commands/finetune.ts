import type { Command } from 'commander';
import { resolve } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { finetuneHead, formatFinetuneSummary } from '../../lifecycle/finetune/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { defaultRunsFolder, RunStore } from '../../lifecycle/runs/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

const number =
  (name: string) =>
  (value: string): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed))
      throw new RadiolensError('E_BAD_INPUT', `${name} must be a number, got "${value}"`);
    return parsed;
  };

export const finetuneCommand: CommandModule = (program: Command) => {
  program
    .command('finetune')
    .description(
      "Adapt a model to this site: re-fit only its linear head on the site's labelled images " +
        '(patient-level train/tuning/test split, L2 logistic regression, threshold for a target ' +
        'sensitivity on tuning) and register the result as a new model version with lineage.',
    )
    .requiredOption('-m, --model <id[@version]>', 'parent model')
    .requiredOption(
      '--labels <csv>',
      'site labels CSV: "image" (relative to the CSV), a 0/1 column named after the label, and a patient column',
    )
    .option('--out-version <semver>', "new model's version (default: the parent's next minor)")
    .option('--label <id>', "label to adapt (default: the model's only label)")
    .option(
      '--target-sensitivity <p>',
      'sensitivity the threshold must reach on the tuning split',
      number('--target-sensitivity'),
      0.9,
    )
    .option('--seed <n>', 'seed of the patient split', (v) => Number.parseInt(v, 10), 1)
    .option('--patient-column <name>', 'column holding the patient id', 'patient_id')
    .option('--l2 <values>', 'comma-separated L2 strengths to try (default 1e-4,1e-3,1e-2,1e-1,1)')
    .option(
      '-o, --out <dir>',
      'folder for test-labels.csv, tuning-labels.csv, finetune-report.json (default: <runs>/<run-id>/)',
    )
    .option('--registry <dir>', 'model registry folder')
    .option('--runs <dir>', 'runs folder (default: runs/ beside the registry)')
    .action(
      async (opts: {
        model: string;
        labels: string;
        outVersion?: string;
        label?: string;
        targetSensitivity: number;
        seed: number;
        patientColumn: string;
        l2?: string;
        out?: string;
        registry?: string;
        runs?: string;
      }) => {
        const registryRoot = modelRegistryLocation(opts.registry);
        const l2Grid = opts.l2?.split(',').map((v) => number('--l2')(v.trim()));
        let lastStage = '';
        const result = await finetuneHead({
          registry: new ModelRegistry(registryRoot),
          model: parseModelRef(opts.model),
          labelsCsv: resolve(opts.labels),
          ...(opts.label ? { label: opts.label } : {}),
          ...(opts.outVersion ? { outVersion: opts.outVersion } : {}),
          ...(l2Grid ? { l2Grid } : {}),
          targetSensitivity: opts.targetSensitivity,
          seed: opts.seed,
          patientColumn: opts.patientColumn,
          ...(opts.out ? { outDir: resolve(opts.out) } : {}),
          runs: new RunStore(opts.runs ? resolve(opts.runs) : defaultRunsFolder(registryRoot)),
          onProgress: (stage, done, total) => {
            if (!process.stderr.isTTY) {
              if (stage !== lastStage) process.stderr.write(`${stage}: ${total} images\n`);
              lastStage = stage;
              return;
            }
            process.stderr.write(`\r${stage} ${done}/${total}${done === total ? '\n' : ''}`);
          },
        });
        process.stdout.write(formatFinetuneSummary(result));
      },
    );
};
