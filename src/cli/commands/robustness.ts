import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry, type ModelPackage } from '../../inference/models/index.js';
import {
  describeWindowing,
  PERTURBATION_SETTINGS,
  ROBUSTNESS_REPORT_SCHEMA,
  ROBUSTNESS_TARGETS,
  renderRobustnessHtml,
  runRobustness,
  summariseRobustness,
  type RobustnessReport,
} from '../../lifecycle/robustness/index.js';
import { DEFAULT_BOOTSTRAP_SEED } from '../../lifecycle/validation/index.js';
import { packageLabel, readImageRows } from '../labelledImages.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

/** The image list of one split in a finetune package's splits.json. */
async function splitImages(file: string, split: string): Promise<Set<string>> {
  const text = await readFile(resolve(file), 'utf8').catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `cannot read ${file}`, { subject: file, cause });
  });
  const json = JSON.parse(text) as { images?: Record<string, unknown> };
  const list = json.images?.[split];
  if (!Array.isArray(list) || !list.every((i) => typeof i === 'string')) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${file} has no image list "${split}" (images.${split}) — give a splits.json that radiolens finetune wrote, and a split it names`,
      { subject: file },
    );
  }
  return new Set(list);
}

/**
 * The package as if its manifest declared `rule` as the window for images without one: the
 * same verified graph, an in-memory manifest; nothing is written to the registry.
 */
function withDefaultWindow(pkg: ModelPackage, rule: string | undefined): ModelPackage {
  if (rule === undefined) return pkg;
  if (rule !== 'percentile' && rule !== 'minMax' && rule !== 'storedRange') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--default-window ${rule}: use percentile, minMax or storedRange`,
    );
  }
  const current = pkg.manifest.input.windowing ?? { kind: 'voiLut' };
  if (current.kind !== 'voiLut') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${pkg.manifest.id}@${pkg.manifest.version} ignores the images' own windows (windowing ${current.kind}); --default-window applies to packages that use them`,
    );
  }
  return {
    ...pkg,
    manifest: {
      ...pkg.manifest,
      input: { ...pkg.manifest.input, windowing: { kind: 'voiLut', fallback: rule } },
    },
  };
}

export const robustnessCommand: CommandModule = (program: Command) => {
  program
    .command('robustness')
    .description(
      "Measure how a model's score and decision move under changes that mean nothing clinically: ±5% brightness, 2% crop per side, JPEG quality 85, 12-bit DICOM storage with and without a VOI window — each a real file read back through the normal pipeline; mean |Δp| and flipped decisions at the threshold, with CIs",
    )
    .requiredOption('-m, --model <id[@version]>', 'model')
    .requiredOption(
      '--labels <csv>',
      'CSV with an "image" column (PNG or JPEG, relative to the CSV); a patient column makes the intervals resample patients',
    )
    .option('--splits <file>', "a finetune package's splits.json: keep only the images of --split")
    .option('--split <name>', 'with --splits: which split', 'test')
    .option('--label <id>', 'label (default: the first); its threshold decides')
    .option(
      '--view <position>',
      'View Position written into the DICOM versions (e.g. PA); default empty, which the intended-use check must allow',
    )
    .option(
      '--patient-column <column>',
      'patient of each image (default: patient_id, PatientID or patient when present)',
    )
    .option('--no-patient-column', 'treat every image as independent')
    .requiredOption('-o, --out <dir>', 'folder for robustness.json and robustness.html')
    .option(
      '--default-window <rule>',
      'what if the package declared this window for DICOM images without one: percentile, minMax or storedRange (ADR 0027); the report says so',
    )
    .option('--keep-files', 'keep every perturbed file under <out>/versions for inspection')
    .option('--json', 'print the report JSON on stdout')
    .option('--seed <n>', 'bootstrap seed', (v) => Number.parseInt(v, 10), DEFAULT_BOOTSTRAP_SEED)
    .option('--resamples <n>', 'bootstrap resamples', (v) => Number.parseInt(v, 10), 2000)
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        labels: string;
        splits?: string;
        split: string;
        label?: string;
        view?: string;
        patientColumn?: string | false;
        out: string;
        defaultWindow?: string;
        keepFiles?: boolean;
        json?: boolean;
        seed: number;
        resamples: number;
        registry?: string;
      }) => {
        const { id, version } = parseModelRef(opts.model);
        const installed = await new ModelRegistry(modelRegistryLocation(opts.registry)).resolve(
          id,
          version,
        );
        const pkg = withDefaultWindow(installed, opts.defaultWindow);
        const { labelId, labelIndex } = packageLabel(pkg, opts.label);
        const threshold = pkg.manifest.labels[labelIndex]!.threshold;
        const { table, patientColumn, imageRow } = readImageRows(opts.labels, opts.patientColumn);
        const keep = opts.splits ? await splitImages(opts.splits, opts.split) : null;
        const rows = table.rows.filter(
          (row) => keep === null || keep.has((row['image'] ?? '').trim()),
        );
        if (rows.length === 0) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            keep === null
              ? `${opts.labels} lists no image`
              : `no image of ${opts.labels} is in split "${opts.split}" of ${opts.splits} — do the image names match?`,
          );
        }
        const out = resolve(opts.out);
        const run = await runRobustness(pkg, rows.map(imageRow), {
          labelIndex,
          ...(opts.view === undefined ? {} : { viewPosition: opts.view.toUpperCase() }),
          ...(opts.keepFiles ? { keepIn: join(out, 'versions') } : {}),
          onProgress: (done, total) => {
            if (process.stderr.isTTY) process.stderr.write(`\rrobustness ${done}/${total}`);
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        if (run.failed.length > 0) {
          // Dropping images silently would bias every number in the report.
          const listed = run.failed
            .slice(0, 10)
            .map((f) => `  ${f.image}: ${f.problem}`)
            .join('\n');
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${run.failed.length} image(s) could not be perturbed or scored; fix or remove them from ${opts.labels}:\n${listed}`,
          );
        }
        const bootstrap = { resamples: opts.resamples, seed: opts.seed, level: 0.95 };
        const clusteredBy = run.images.every((i) => i.patient !== null && i.patient !== '')
          ? patientColumn
          : null;
        const report: RobustnessReport = {
          schema: ROBUSTNESS_REPORT_SCHEMA,
          generatedAt: new Date().toISOString(),
          model: { id: pkg.manifest.id, version: pkg.manifest.version },
          label: labelId,
          threshold,
          dataset: opts.splits
            ? `${opts.labels} (split "${opts.split}" of ${opts.splits})`
            : opts.labels,
          defaultWindow:
            describeWindowing(pkg.manifest.input.windowing) +
            (opts.defaultWindow === undefined
              ? ' (as the package declares)'
              : ' — NOT what the package declares: a what-if run with --default-window'),
          settings: { ...PERTURBATION_SETTINGS, ...bootstrap, clusteredBy },
          targets: ROBUSTNESS_TARGETS,
          perturbations: summariseRobustness(run.images, threshold, bootstrap),
          images: run.images,
        };
        await writeFileAtomic(join(out, 'robustness.json'), `${JSON.stringify(report, null, 2)}\n`);
        await writeFileAtomic(join(out, 'robustness.html'), renderRobustnessHtml(report));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const lines = [
          `${run.images.length} images, ${labelId} at threshold ${threshold.toFixed(3)}; targets: flips <= ${100 * ROBUSTNESS_TARGETS.maxFlipShare}%, mean |dp| <= ${ROBUSTNESS_TARGETS.maxMeanAbsoluteChange}`,
          `${'perturbation'.padEnd(52)} ${'mean |dp| (CI)'.padEnd(24)} flipped (CI)`,
        ];
        for (const p of report.perturbations) {
          const m = p.meanAbsoluteChange;
          lines.push(
            `${p.name.padEnd(52)} ${`${m.estimate.toFixed(3)} (${m.ci[0].toFixed(3)}-${m.ci[1].toFixed(3)})`.padEnd(24)} ${p.flips.count}/${p.images} = ${(100 * p.flips.share).toFixed(1)}% (${(100 * p.flips.ci[0]).toFixed(1)}-${(100 * p.flips.ci[1]).toFixed(1)}%)${p.targets.flips.met && p.targets.meanAbsoluteChange.met ? '' : '  FAILS the target'}`,
          );
        }
        lines.push(
          `report: ${join(out, 'robustness.html')}`,
          `        ${join(out, 'robustness.json')}`,
        );
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
};
