import type { Command } from 'commander';
import { join, relative, resolve } from 'node:path';
import { analyzeFiles, formatRunReport } from '../../inference/analysis/index.js';
import { importImages } from '../../lifecycle/imports/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { installRoot } from '../installRoot.js';
import { modelRegistryLocation } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

export const demoCommand: CommandModule = (program: Command) => {
  program
    .command('demo')
    .description(
      'Run the main job on the embedded default, no services needed: import the shipped sample ' +
        'chest radiographs as DICOM, analyse them with the shipped model, write SR/SC/FHIR.',
    )
    .option('-o, --out <dir>', 'working folder for the demo', 'radiolens-demo')
    .option('--registry <dir>', 'model registry folder (default: the shipped models/)')
    .action(async (opts: { out: string; registry?: string }) => {
      const out = resolve(opts.out);
      const samples = join(installRoot, 'samples', 'cxr', 'samples.csv');
      const dicomDir = join(out, 'dicom');
      const resultsDir = join(out, 'results');
      process.stdout.write(
        `1/2 importing sample radiographs from ${relative(process.cwd(), samples)} as DICOM …\n`,
      );
      const imported = await importImages(samples, {
        outDir: dicomDir,
        bodyPart: 'CHEST',
        patientIdColumn: 'patient_id',
      });
      for (const problem of imported.problems)
        process.stdout.write(`  skipped ${problem.image}: ${problem.error}\n`);
      process.stdout.write(`    ${imported.imported.length} DICOM CR image(s) in ${dicomDir}\n`);
      process.stdout.write('2/2 analysing them with the installed model …\n');
      const run = await analyzeFiles(
        imported.imported.map((entry) => entry.dicom),
        { registry: new ModelRegistry(modelRegistryLocation(opts.registry)), outDir: resultsDir },
      );
      process.stdout.write(formatRunReport(run));
      process.stdout.write(
        `\nWhere to look: ${resultsDir}/<StudyInstanceUID>/ holds SR_*.dcm (DICOM SR, TID 1500: ` +
          'dsrdump shows it; OHIF draws its findings), SC_*.dcm (the image with the heatmap ' +
          'burned in), PM_*.dcm (the heatmap as a DICOM Parametric Map), fhir-bundle.json ' +
          '(FHIR R4 DiagnosticReport) and analysis.json.\n',
      );
      process.exitCode =
        run.problems.length === 0 && run.imagesAnalysed === imported.imported.length ? 0 : 1;
    });
};
