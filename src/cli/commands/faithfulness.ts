import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { loadCamHead } from '../../inference/explain/index.js';
import {
  FAITHFULNESS_REPORT_SCHEMA,
  imageFaithfulness,
  summariseFaithfulness,
  type FaithfulnessReport,
  type ImageFaithfulness,
} from '../../lifecycle/faithfulness/index.js';
import { toModelInput } from '../../inference/imaging/index.js';
import { createModelRunner, ModelRegistry } from '../../inference/models/index.js';
import { readGreyImage } from '../../inference/imaging/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';
import { packageLabel } from '../labelledImages.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

export const faithfulnessCommand: CommandModule = (program: Command) => {
  program
    .command('faithfulness')
    .description(
      'Measure how faithful exact Grad-CAM is: deletion AUC (lower is better) and insertion AUC (higher is better) against random pixel orders, on label-positive images',
    )
    .requiredOption('-m, --model <id[@version]>', 'model (must be explained by exact Grad-CAM)')
    .requiredOption(
      '--labels <csv>',
      'CSV with an "image" column (relative to the CSV) and a 0/1 column per label',
    )
    .option('--label <id>', 'label to explain (default: the first)')
    .option(
      '--limit <n>',
      'positive images to measure, chosen by a seeded hash of the image name',
      (v) => Number.parseInt(v, 10),
      100,
    )
    .option('--step <fraction>', 'fraction of pixels per step', Number.parseFloat, 0.02)
    .option(
      '--random-orders <n>',
      'random orders averaged per image',
      (v) => Number.parseInt(v, 10),
      3,
    )
    .option(
      '--seed <n>',
      'seed for selection, tie-breaking and random orders',
      (v) => Number.parseInt(v, 10),
      1,
    )
    .option('--baseline <kind>', '"blur" (Gaussian, sigma = width/16) or "mean"', 'blur')
    .option('-o, --out <file>', 'write the report JSON here')
    .option('--json', 'print the report JSON on stdout')
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        labels: string;
        label?: string;
        limit: number;
        step: number;
        randomOrders: number;
        seed: number;
        baseline: string;
        out?: string;
        json?: boolean;
        registry?: string;
      }) => {
        const { id, version } = parseModelRef(opts.model);
        const pkg = await new ModelRegistry(modelRegistryLocation(opts.registry)).resolve(
          id,
          version,
        );
        const { labelId, labelIndex } = packageLabel(pkg, opts.label);
        if (opts.baseline !== 'blur' && opts.baseline !== 'mean') {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `--baseline ${opts.baseline}: use "blur" or "mean"`,
          );
        }
        const table = readCsvFile(resolve(opts.labels));
        requireColumns(table, ['image', labelId]);
        const key = (image: string): string =>
          createHash('sha256').update(`${opts.seed}:${image}`).digest('hex');
        const chosen = table.rows
          .filter((row) => row[labelId] === '1')
          .map((row) => row['image']!)
          .sort((a, b) => key(a).localeCompare(key(b)))
          .slice(0, opts.limit);
        if (chosen.length === 0) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${opts.labels} has no image with ${labelId} = 1 — faithfulness is measured on positives`,
          );
        }
        const { input: spec } = pkg.manifest;
        const baseline =
          opts.baseline === 'mean'
            ? ({ kind: 'mean' } as const)
            : ({ kind: 'blur', sigma: spec.width / 16 } as const);
        const runner = await createModelRunner(pkg);
        const head = await loadCamHead(pkg);
        const images: ImageFaithfulness[] = [];
        try {
          for (const [index, image] of chosen.entries()) {
            const grey = (
              await readGreyImage(resolve(dirname(resolve(opts.labels)), image), {
                windowing: spec.windowing,
              })
            ).grey;
            const data = toModelInput(grey, spec);
            images.push(
              await imageFaithfulness(
                runner,
                head,
                image,
                { data, channels: spec.channels, width: spec.width, height: spec.height },
                {
                  labelIndex,
                  step: opts.step,
                  randomOrders: opts.randomOrders,
                  seed: opts.seed + index,
                  baseline,
                },
              ),
            );
            if (process.stderr.isTTY)
              process.stderr.write(`\rfaithfulness ${index + 1}/${chosen.length}`);
          }
        } finally {
          await runner.dispose();
        }
        if (process.stderr.isTTY) process.stderr.write('\n');
        const report: FaithfulnessReport = {
          schema: FAITHFULNESS_REPORT_SCHEMA,
          generatedAt: new Date().toISOString(),
          model: { id: pkg.manifest.id, version: pkg.manifest.version },
          label: labelId,
          dataset: opts.labels,
          settings: {
            step: opts.step,
            randomOrders: opts.randomOrders,
            seed: opts.seed,
            baseline,
            selection: `first ${opts.limit} ${labelId}-positive images by sha256("${opts.seed}:" + image)`,
          },
          summary: summariseFaithfulness(images),
          images,
        };
        if (opts.out)
          await writeFileAtomic(resolve(opts.out), `${JSON.stringify(report, null, 2)}\n`);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          const s = report.summary;
          const f = (m: { mean: number; ci: [number, number] }): string =>
            `${m.mean.toFixed(3)} (${m.ci[0].toFixed(3)}-${m.ci[1].toFixed(3)})`;
          process.stdout.write(
            `${s.images} images, ${labelId}\n` +
              `            deletion AUC (lower better)   insertion AUC (higher better)\n` +
              `Grad-CAM    ${f(s.gradCam.deletion)}          ${f(s.gradCam.insertion)}\n` +
              `random      ${f(s.random.deletion)}          ${f(s.random.insertion)}\n`,
          );
        }
      },
    );
};
