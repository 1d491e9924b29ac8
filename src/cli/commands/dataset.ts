/**
 * `radiolens dataset create <in> <dir> --name …`: de-identify a selection into a
 * content-addressed, versioned dataset; `radiolens dataset verify <dir> <version>` checks it.
 */
import type { Command } from 'commander';
import { createDataset, loadLabels, verifyDataset } from '../../datasets/index.js';
import { listInputFiles, OPTION_FLAGS, prepareDeidentification } from '../../deid/index.js';
import { formatDeidReport, progressReporter } from './deid.js';
import type { CommandModule } from './index.js';

interface CreateFlags {
  readonly name: string;
  readonly labels?: string;
  readonly option: string[];
  readonly secret?: string;
  readonly map?: string;
  readonly pixelRules?: string;
  readonly progress: boolean;
}

export const datasetCommand: CommandModule = (program: Command) => {
  const dataset = program
    .command('dataset')
    .description('Versioned, de-identified datasets that models name as their lineage');
  dataset
    .command('create')
    .description('De-identify a selection and store it as a new dataset version')
    .argument('<in>', 'a DICOM file or folder (searched recursively)')
    .argument('<dir>', 'dataset folder (objects/ and manifests/ are created in it)')
    .requiredOption('--name <name>', 'dataset name recorded in the manifest')
    .option(
      '--labels <file>',
      'labels: JSON {key: {label: value}} or CSV "key,label…"; key = file path under <in> or SOP Instance UID',
    )
    .option(
      '--option <name>',
      `profile option, repeatable: ${Object.keys(OPTION_FLAGS).join(', ')}`,
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--secret <file>', 'installation secret (default $RADIOLENS_HOME/deid/secret.key)')
    .option('--map <dir>', 're-identification map, kept apart (default $RADIOLENS_HOME/reid)')
    .option('--pixel-rules <file>', 'Clean Pixel Data region rules (JSON)')
    .option('--no-progress', 'no progress bar')
    .action(async (input: string, dir: string, flags: CreateFlags) => {
      const started = performance.now();
      const { config, map } = await prepareDeidentification({
        options: flags.option,
        outDir: dir,
        ...(flags.secret === undefined ? {} : { secret: flags.secret }),
        ...(flags.map === undefined ? {} : { mapDir: flags.map }),
        ...(flags.pixelRules === undefined ? {} : { pixelRules: flags.pixelRules }),
      });
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
