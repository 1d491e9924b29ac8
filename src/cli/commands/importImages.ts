import type { Command } from 'commander';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { importImages } from '../../lifecycle/imports/index.js';
import type { CommandModule } from './index.js';

export const importImagesCommand: CommandModule = (program: Command) => {
  program
    .command('import-images')
    .description(
      'Turn PNG/JPEG radiographs into DICOM CR images (one study per image unless --group-by), ' +
        'so they flow through the same pipeline as any study. Writes import-map.csv beside them.',
    )
    .argument(
      '<input>',
      'a folder of .png/.jpg files, or a CSV with an "image" column (paths relative to the CSV)',
    )
    .requiredOption('-o, --out <dir>', 'output folder for the DICOM files')
    .option('--body-part <CS>', 'Body Part Examined', 'CHEST')
    .option(
      '--view <CS>',
      'View Position for every image (e.g. PA, AP); default: left empty (unknown)',
    )
    .option('--view-column <name>', 'CSV column with the view position of each image')
    .option('--patient-column <name>', 'CSV column with the Patient ID')
    .option('--group-by <name>', 'CSV column whose equal values form one study')
    .action(
      async (
        input: string,
        opts: {
          out: string;
          bodyPart: string;
          view?: string;
          viewColumn?: string;
          patientColumn?: string;
          groupBy?: string;
        },
      ) => {
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: 'import |{bar}| {value}/{total}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : null;
        let started = false;
        const report = await importImages(resolve(input), {
          outDir: resolve(opts.out),
          bodyPart: opts.bodyPart,
          ...(opts.view ? { viewPosition: opts.view } : {}),
          ...(opts.viewColumn ? { viewColumn: opts.viewColumn } : {}),
          ...(opts.patientColumn ? { patientIdColumn: opts.patientColumn } : {}),
          ...(opts.groupBy ? { groupByColumn: opts.groupBy } : {}),
          onProgress: (done, total) => {
            if (!started) bar?.start(total, 0);
            started = true;
            bar?.update(done);
          },
        });
        bar?.stop();
        for (const problem of report.problems)
          process.stdout.write(`skipped ${problem.image}: ${problem.error}\n`);
        process.stdout.write(
          `${report.imported.length} image(s) imported to ${resolve(opts.out)}; map: ${report.mapFile}\n`,
        );
        process.exitCode = report.problems.length === 0 ? 0 : 1;
      },
    );
};
