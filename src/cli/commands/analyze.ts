import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { collectFiles, formatRunReport } from '../../inference/analysis/index.js';
import {
  analyzeForCli,
  runSucceeded,
  runSummaryJson,
  withModelChoiceOptions,
} from '../analysisRun.js';
import type { CommandModule } from './index.js';

/** Above this many files a progress bar is worth showing. */
const PROGRESS_BAR_THRESHOLD = 5;

export const analyzeCommand: CommandModule = (program: Command) => {
  withModelChoiceOptions(
    program
      .command('analyze')
      .description(
        'Analyse DICOM files or folders: run the model, explain each finding, and write a DICOM SR ' +
          '(TID 1500), Secondary Capture overlays and a FHIR R4 bundle per study into --out.',
      )
      .argument('<paths...>', 'DICOM files and/or folders (searched recursively)')
      .requiredOption('-o, --out <dir>', 'output folder (one sub-folder per study)'),
  )
    .option('--batch-size <n>', 'images per inference batch', (v) => Number.parseInt(v, 10), 4)
    .option('--json', 'print the run summary as JSON instead of text')
    .option(
      '--lungs <id[@version]>',
      'also say where each heatmap lies relative to the lungs found by this segmentation model (e.g. cxr-lungs); a lung-field model always uses the one it names',
    )
    .option(
      '--patient-id-system <uri>',
      "FHIR Patient.identifier system for this site's patient ids, used when the image names " +
        'no issuer as an OID, UUID or URI in Issuer of Patient ID Qualifiers (e.g. urn:oid:1.2.3.4)',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when every file was analysed, 1 when some file was skipped or not analysed ' +
        '(each is listed with the reason), 2 on a usage or configuration error.',
    )
    .action(
      async (
        paths: string[],
        opts: {
          out: string;
          model?: string;
          registry?: string;
          batchSize: number;
          json?: boolean;
          lungs?: string;
          patientIdSystem?: string;
        },
      ) => {
        const files = await collectFiles(paths);
        const bar =
          files.length > PROGRESS_BAR_THRESHOLD && process.stderr.isTTY
            ? new cliProgress.SingleBar(
                { format: 'analyse |{bar}| {value}/{total} {stage}', stream: process.stderr },
                cliProgress.Presets.shades_classic,
              )
            : null;
        bar?.start(files.length * 2, 0, { stage: 'reading' });
        const run = await analyzeForCli(files, {
          outDir: opts.out,
          model: opts.model,
          registry: opts.registry,
          batchSize: opts.batchSize,
          lungs: opts.lungs,
          patientIdSystem: opts.patientIdSystem,
          onProgress: (event) =>
            bar?.increment(1, { stage: event.kind === 'read' ? 'reading' : 'analysing' }),
        });
        bar?.update(files.length * 2);
        bar?.stop();
        process.stdout.write(
          opts.json ? `${JSON.stringify(runSummaryJson(run), null, 2)}\n` : formatRunReport(run),
        );
        process.exitCode = runSucceeded(run) ? 0 : 1;
      },
    );
};
