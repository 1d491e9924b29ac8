import type { Command } from 'commander';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { RadiolensError } from '../../foundation/core/index.js';
import { scoreImages } from '../../inference/analysis/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import {
  buildValidationReport,
  readValidationLabels,
  writeValidationReport,
} from '../../lifecycle/validation/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

export const validateCommand: CommandModule = (program: Command) => {
  program
    .command('validate')
    .description(
      'Run a model on labelled images and write report.html and report.json: AUC with DeLong CI, ' +
        'ROC with CI band, operating point with Wilson CIs, calibration, subgroups, model card summary.',
    )
    .requiredOption('-m, --model <id[@version]>', 'model to validate')
    .requiredOption(
      '--labels <csv>',
      'CSV with an "image" column (DICOM, PNG or JPEG; relative to the CSV), one 0/1 column per model label id, and subgroup columns',
    )
    .requiredOption('-o, --out <dir>', 'folder for report.html and report.json')
    .option(
      '--subgroup <column...>',
      'subgroup columns (default: every column with 2-20 values that does not restate a label)',
    )
    .option('--registry <dir>', 'model registry folder')
    .option('--seed <n>', 'seed for the bootstrap', (v) => Number.parseInt(v, 10), 1)
    .action(
      async (opts: {
        model: string;
        labels: string;
        out: string;
        subgroup?: string[];
        registry?: string;
        seed: number;
      }) => {
        const { id, version } = parseModelRef(opts.model);
        const pkg = await new ModelRegistry(modelRegistryLocation(opts.registry)).resolve(
          id,
          version,
        );
        const labels = pkg.manifest.labels;
        const images = readValidationLabels(resolve(opts.labels), {
          labels: labels.map((label) => label.id),
          ...(opts.subgroup ? { subgroups: opts.subgroup } : {}),
        });
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: 'score |{bar}| {value}/{total}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : null;
        bar?.start(images.length, 0);
        const scored = await scoreImages(
          images.map((image) => image.imagePath),
          pkg,
          { onProgress: (done) => bar?.update(done) },
        );
        bar?.stop();
        const failed = scored.filter((item) => item.scores === null);
        if (failed.length > 0) {
          // Dropping images silently would bias every number in the report.
          const listed = failed
            .slice(0, 10)
            .map((item) => `  ${item.path}: ${item.problem}`)
            .join('\n');
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${failed.length} of ${images.length} image(s) could not be scored; fix or remove them from the labels file:\n${listed}`,
          );
        }
        const report = buildValidationReport({
          model: {
            id: pkg.manifest.id,
            version: pkg.manifest.version,
            name: pkg.manifest.name,
            intendedUse: pkg.manifest.intendedUse.summary,
            labels: labels.map((label) => ({
              id: label.id,
              meaning: label.code.meaning,
              threshold: label.threshold,
            })),
          },
          rows: images.map((image, index) => ({
            image: image.image,
            truth: image.truth,
            score: Object.fromEntries(
              labels.map((label, l) => [label.id, scored[index]!.scores![l]!]),
            ),
            subgroups: image.subgroups,
          })),
          options: { seed: opts.seed, dataset: opts.labels },
        });
        const paths = await writeValidationReport(resolve(opts.out), report);
        for (const label of report.json.labels) {
          const auc = label.auc;
          process.stdout.write(
            `${label.id}: AUC ${auc.estimate.toFixed(3)} (95% CI ${auc.ci[0].toFixed(3)}-${auc.ci[1].toFixed(3)}) on ${images.length} images\n`,
          );
        }
        process.stdout.write(`report: ${paths.html}\n        ${paths.json}\n`);
      },
    );
};
