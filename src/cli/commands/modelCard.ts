import type { Command } from 'commander';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry, type ModelPackage } from '../../inference/models/index.js';
import {
  faithfulnessReportSchema,
  localisationReportSchema,
  namedPath,
  oodReportSchema,
  readEvidence,
  readTrainingRun,
  renderModelCard,
  robustnessReportSchema,
  validationReportSchema,
  writeTrainingSplitCsvs,
} from '../../lifecycle/modelcard/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

async function resolveModel(ref: string, registry?: string): Promise<ModelPackage> {
  const { id, version } = parseModelRef(ref);
  return new ModelRegistry(modelRegistryLocation(registry)).resolve(id, version);
}

async function packageTrainingRun(pkg: ModelPackage, explicit?: string): Promise<string | null> {
  if (explicit) return resolve(explicit);
  const inPackage = join(pkg.dir, 'training-run.json');
  return access(inPackage).then(
    () => inPackage,
    () => null,
  );
}

export const modelCardCommand: CommandModule = (program: Command) => {
  program
    .command('model-card')
    .description(
      'Generate the model card (Markdown, with a JSON block for the manifest validation array) from training-run.json and the reports of validate / ood evaluate / faithfulness / localisation / robustness — no number typed by hand',
    )
    .requiredOption('-m, --model <id[@version]>', 'model')
    .option(
      '--training-run <file>',
      'training run record (default: training-run.json in the package)',
    )
    .option(
      '--no-training-run',
      "no training run section: for a package whose record is not training/train.py's (cxr-pneumonia 2.x, whose record is rendered into MODEL_CARD-<version>-training.md by tools/package-cxr-pneumonia-2.ts)",
    )
    .option(
      '--validation <[name=]report.json...>',
      'report.json files of `radiolens validate`; the first is the reference the others are compared with (e.g. the internal test)',
    )
    .option(
      '--ood <report.json...>',
      'reports of `radiolens ood evaluate` (fitted variants, the package statistics and what their flag means)',
    )
    .option('--faithfulness <[name=]report.json...>', 'reports of `radiolens faithfulness --out`')
    .option(
      '--localisation <[name=]localisation.json...>',
      'reports of `radiolens localisation` (where the heatmap lies)',
    )
    .option('--robustness <[name=]robustness.json...>', 'reports of `radiolens robustness`')
    .requiredOption('-o, --out <file>', 'Markdown file to write (e.g. MODEL_CARD.md)')
    .option('--json-out <file>', 'also write the manifest validation entries as JSON')
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        /** false with --no-training-run */
        trainingRun?: string | false;
        validation?: string[];
        ood?: string[];
        faithfulness?: string[];
        localisation?: string[];
        robustness?: string[];
        out: string;
        jsonOut?: string;
        registry?: string;
      }) => {
        const pkg = await resolveModel(opts.model, opts.registry);
        const runPath =
          opts.trainingRun === false ? null : await packageTrainingRun(pkg, opts.trainingRun);
        const validations = [];
        for (const spec of opts.validation ?? []) {
          const { name, path } = namedPath(spec);
          validations.push({
            name,
            path,
            report: await readEvidence(resolve(path), validationReportSchema, 'radiolens validate'),
          });
        }
        const faithfulness = [];
        for (const spec of opts.faithfulness ?? []) {
          const { name, path } = namedPath(spec);
          faithfulness.push({
            name,
            path,
            report: await readEvidence(
              resolve(path),
              faithfulnessReportSchema,
              'radiolens faithfulness --out',
            ),
          });
        }
        const ood = [];
        for (const path of opts.ood ?? []) {
          ood.push({
            path,
            report: await readEvidence(resolve(path), oodReportSchema, 'radiolens ood evaluate'),
          });
        }
        const localisation = [];
        for (const spec of opts.localisation ?? []) {
          const { name, path } = namedPath(spec);
          localisation.push({
            name,
            path,
            report: await readEvidence(
              resolve(path),
              localisationReportSchema,
              'radiolens localisation',
            ),
          });
        }
        const robustness = [];
        for (const spec of opts.robustness ?? []) {
          const { name, path } = namedPath(spec);
          robustness.push({
            name,
            path,
            report: await readEvidence(
              resolve(path),
              robustnessReportSchema,
              'radiolens robustness',
            ),
          });
        }
        const card = renderModelCard({
          manifest: pkg.manifest,
          trainingRun: runPath ? await readTrainingRun(runPath) : null,
          validations,
          ood,
          faithfulness,
          localisation,
          robustness,
        });
        await writeFileAtomic(resolve(opts.out), card.markdown);
        if (opts.jsonOut)
          await writeFileAtomic(
            resolve(opts.jsonOut),
            `${JSON.stringify(card.validation, null, 2)}\n`,
          );
        process.stdout.write(`wrote ${opts.out} (${card.validation.length} results)\n`);
      },
    );
};

export const trainingSplitCommand: CommandModule = (program: Command) => {
  program
    .command('training-split')
    .description(
      "Write the training source's internal test split (training-test.csv) and the rest (training-seen.csv) from the model's training-run.json, for validate and ood evaluate",
    )
    .requiredOption('-m, --model <id[@version]>', 'model')
    .requiredOption('--labels <csv>', "the training source's labels.csv")
    .requiredOption('-o, --out <dir>', 'folder for the two CSVs')
    .option(
      '--training-run <file>',
      'training run record (default: training-run.json in the package)',
    )
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        labels: string;
        out: string;
        trainingRun?: string;
        registry?: string;
      }) => {
        const pkg = await resolveModel(opts.model, opts.registry);
        const runPath = await packageTrainingRun(pkg, opts.trainingRun);
        if (runPath === null) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${pkg.dir} has no training-run.json — pass --training-run <file>`,
          );
        }
        const written = await writeTrainingSplitCsvs(
          await readTrainingRun(runPath),
          opts.labels,
          resolve(opts.out),
        );
        process.stdout.write(
          `${written.test} (${written.testCount} images)\n${written.seen} (${written.seenCount} images)\n`,
        );
      },
    );
};
