/**
 * `radiolens dataset create <in> <dir> --name …`: de-identify a selection into a
 * content-addressed, versioned dataset; `radiolens dataset verify <dir> <version>` checks it.
 */
import type { Command } from 'commander';
import { createDataset, loadLabels, verifyDataset } from '../../lifecycle/datasets/index.js';
import { listInputFiles } from '../../lifecycle/deid/index.js';
import {
  formatDeidReport,
  prepareFromFlags,
  progressReporter,
  withDeidentificationOptions,
  type DeidSettingFlags,
} from './deid.js';
import type { CommandModule } from './index.js';

interface CreateFlags extends DeidSettingFlags {
  readonly name: string;
  readonly labels?: string;
  readonly progress: boolean;
}

export const datasetCommand: CommandModule = (program: Command) => {
  const dataset = program
    .command('dataset')
    .description('Versioned, de-identified datasets that models name as their lineage');
  const create = dataset
    .command('create')
    .description('De-identify a selection and store it as a new dataset version')
    .argument('<in>', 'a DICOM file or folder (searched recursively)')
    .argument('<dir>', 'dataset folder (objects/ and manifests/ are created in it)')
    .requiredOption('--name <name>', 'dataset name recorded in the manifest')
    .option(
      '--labels <file>',
      'labels: JSON {key: {label: value}} or CSV "key,label…"; key = file path under <in> or SOP Instance UID',
    );
  withDeidentificationOptions(create, 'Clean Pixel Data region rules (JSON)')
    .option('--no-progress', 'no progress bar')
    .action(async (input: string, dir: string, flags: CreateFlags) => {
      const started = performance.now();
      const { config, map } = await prepareFromFlags(flags, dir);
      const labels = flags.labels === undefined ? undefined : await loadLabels(flags.labels);
      const progress = progressReporter(flags.progress);
      const created = await createDataset({
        name: flags.name,
        files: await listInputFiles(input),
        root: input,
        datasetDir: dir,
        config,
        map,
        ...(labels === undefined ? {} : { labels }),
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.stop();
      process.stdout.write(formatDeidReport(created.report, (performance.now() - started) / 1000));
      process.stdout.write(
        `dataset ${flags.name} version ${created.version}\n` +
          `  ${created.manifest.instances.length} instances, manifest ${created.manifestPath}\n`,
      );
      if (created.report.errors.length > 0) process.exitCode = 1;
    });
  dataset
    .command('verify')
    .description('Check that a dataset version is intact (manifest and every object hash)')
    .argument('<dir>', 'dataset folder')
    .argument('<version>', 'dataset version (manifest hash)')
    .action(async (dir: string, version: string) => {
      const manifest = await verifyDataset(dir, version);
      process.stdout.write(
        `ok: ${manifest.name} ${version}, ${manifest.instances.length} instances intact\n`,
      );
    });
};
